"""Scoring a trained model: balanced accuracy (the competition's metric) and AUC."""

from __future__ import annotations

from collections.abc import Iterable

import torch
import torch.nn as nn


def logits(model: nn.Module, loader: Iterable, device: torch.device | str
           ) -> tuple[torch.Tensor, torch.Tensor]:
    """``model``'s float32 logits ``(N, 2)`` on ``loader`` and the labels ``(N,)``, on the CPU."""
    model.eval()
    out, targets = [], []
    with torch.no_grad():
        for inputs, y in loader:
            out.append(model(inputs.to(device)).float().cpu())
            targets.append(y.reshape(-1).cpu())
    return torch.cat(out), torch.cat(targets)


def evaluate(model: nn.Module, loader: Iterable, device: torch.device | str) -> tuple[float, float]:
    """Balanced accuracy and ROC AUC of ``model`` on ``loader``, from one pass.

    The BAC is the competition's (``predict_and_evaluate``: argmax of the logits); the AUC ranks
    by the logit margin of class 1, threshold-free, so it tells a ranking problem from a
    threshold problem. NaN when the loader holds one class only.
    """
    return scores(*logits(model, loader, device))


def scores(out: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
    """``evaluate``'s balanced accuracy and AUC from logits ``(N, 2)`` and labels ``(N,)``
    already read (``logits``)."""
    from sklearn.metrics import balanced_accuracy_score, roc_auc_score

    y_true = labels.numpy()
    bac = float(balanced_accuracy_score(y_true, out.argmax(1).numpy()))
    two_classes = len(set(y_true.tolist())) == 2
    auc = float(roc_auc_score(y_true, (out[:, 1] - out[:, 0]).numpy())) if two_classes else float("nan")
    return bac, auc


def best_threshold_bac(margin: torch.Tensor, labels: torch.Tensor) -> float:
    """The balanced accuracy of the best threshold on ``margin`` (class 1 above it): what the
    ranking allows, against the threshold the model's bias puts at 0. NaN for one class."""
    order = torch.argsort(margin, descending=True)
    y = labels[order].double()
    positives, negatives = float(y.sum()), float((1 - y).sum())
    if not positives or not negatives:
        return float("nan")
    # Cut after each position: the samples before it are called class 1 (ties stay together).
    tpr = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(y, 0) / positives])
    fpr = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(1 - y, 0) / negatives])
    sorted_margin = margin[order]
    cut = torch.ones(len(y) + 1, dtype=torch.bool)
    cut[1:-1] = sorted_margin[1:] != sorted_margin[:-1]
    return float(((tpr + 1 - fpr) / 2)[cut].max())


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """``model``'s BatchNorm layers, in the order of ``modules()``."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def with_reestimated_statistics(model: nn.Module, train_loader: Iterable,
                                device: torch.device | str) -> nn.Module:
    """A copy of ``model`` whose BatchNorm running statistics are re-estimated on
    ``train_loader`` (a cumulative average over every batch, the weights untouched); dropout
    stays off, so no random number is drawn."""
    import copy

    copied = copy.deepcopy(model).eval()
    for norm in batch_norms(copied):
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average: every batch weighs the same
        norm.train()
    with torch.no_grad():
        for inputs, _ in train_loader:
            copied(inputs.to(device))
    return copied.eval()


def threshold_and_statistics(model: nn.Module, train_loader: Iterable, loader: Iterable,
                             device: torch.device | str) -> dict:
    """Where ``model``'s BAC on ``loader`` goes besides its ranking: ``bac_bn`` after
    re-estimating BatchNorm's statistics on the training set, ``bac_best`` at the best threshold
    on the scored model's margin (both on the same samples)."""
    from sklearn.metrics import balanced_accuracy_score

    scored, labels = logits(model, loader, device)
    bn, _ = logits(with_reestimated_statistics(model, train_loader, device), loader, device)
    margin, reestimated = (out[:, 1] - out[:, 0] for out in (scored, bn))  # logit_1 - logit_0
    two = len(set(labels.tolist())) == 2
    return {"bac_bn": float(balanced_accuracy_score(labels.numpy(), (reestimated > 0).long().numpy()))
            if two else float("nan"),
            "bac_best": best_threshold_bac(margin, labels)}
