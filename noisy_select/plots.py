"""Figures a person would rather look at than read: BAC per epoch, keep rates, losses."""

from __future__ import annotations

import numpy as np
import torch


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def plot_history(history: list[dict], ax=None):
    """Validation BAC of both models after each epoch (``TrainedPair.history``)."""
    ax = _axes(ax)
    epochs = [h["epoch"] for h in history]
    for m in (1, 2):
        ax.plot(epochs, [h[f"val_bac_{m}"] for h in history], marker="o", label=f"model {m}")
    ax.axhline(0.8, color="grey", ls=":", label="full points (0.8)")
    ax.set(xlabel="epoch", ylabel="validation BAC", title="Validation BAC per epoch", ylim=(0.4, 1))
    ax.legend()
    return ax


def plot_keep_rates(epochs: list[dict], ax=None):
    """Share of each given label that the selection kept, per epoch and model."""
    ax = _axes(ax)
    x = [e["epoch"] for e in epochs]
    for m in (0, 1):
        for c in (0, 1):
            ax.plot(x, [e["keep_rate"][m][c] for e in epochs], marker="o",
                    ls="-" if m == 0 else "--", label=f"model {m + 1}, label {c}")
    ax.set(xlabel="epoch", ylabel="share kept", title="Per-class keep rate", ylim=(0, 1.05))
    ax.legend(fontsize=8)
    return ax


def plot_loss_distributions(losses: torch.Tensor, correct: torch.Tensor, labels: torch.Tensor,
                            ax=None):
    """Histograms of model 1's last-epoch losses, correct vs wrong labels, per given label."""
    ax = _axes(ax)
    loss = losses[0].numpy()
    bins = np.linspace(0, min(float(np.nanmax(loss)), 8.0), 40)
    for c in (0, 1):
        for ok, style in ((True, "-"), (False, ":")):
            sel = (labels.numpy() == c) & (correct.numpy() == ok)
            if sel.any():
                ax.hist(loss[sel], bins=bins, histtype="step", ls=style, lw=1.5,
                        label=f"label {c}, {'correct' if ok else 'wrong'} ({sel.sum()})")
    ax.set(xlabel="loss of the given label (last epoch)", ylabel="samples",
           title="Losses of correctly and wrongly labelled samples")
    ax.legend(fontsize=8)
    return ax
