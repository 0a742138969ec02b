"""Scoring a trained model: balanced accuracy (the competition's metric) and AUC."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn as nn


def evaluate(model: nn.Module, loader: Iterable, device: torch.device | str) -> tuple[float, float]:
    """Balanced accuracy and ROC AUC of ``model`` on ``loader``, from one pass.

    The BAC is the competition's (``predict_and_evaluate``: argmax of the logits); the AUC ranks
    by the logit margin of class 1, threshold-free, so it tells a ranking problem from a
    threshold problem. NaN when the loader holds one class only.
    """
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    model.eval()
    logits, targets = [], []
    with torch.no_grad():
        for inputs, y in loader:
            logits.append(model(inputs.to(device)).float().cpu())
            targets.append(y.reshape(-1).cpu())
    out, y_true = torch.cat(logits), torch.cat(targets).numpy()
    bac = float(balanced_accuracy_score(y_true, out.argmax(1).numpy()))
    two_classes = len(set(y_true.tolist())) == 2
    auc = float(roc_auc_score(y_true, (out[:, 1] - out[:, 0]).numpy())) if two_classes else float("nan")
    return bac, auc
