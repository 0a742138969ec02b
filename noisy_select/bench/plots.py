"""The working notebook's figures of one run: BAC per epoch, keep rates, losses. One colour per
model, one line style per label; model 1 wide and pale under model 2, so both show where equal.
"""

from __future__ import annotations

import numpy as np
import torch

MODEL_COLORS = {1: "tab:blue", 2: "tab:orange"}
LABEL_STYLES = {0: "-", 1: "--"}
MODEL_LINES = {1: {"lw": 4.0, "alpha": 0.55, "marker": "o", "ms": 7, "zorder": 2},
               2: {"lw": 1.5, "alpha": 1.0, "marker": "x", "ms": 6, "zorder": 3}}


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(5, 3.5))
    return ax


def _epoch_axis(ax, epochs: list[int]) -> None:
    """Whole-number epoch ticks with a margin, readable for a single epoch too."""
    if epochs:
        ax.set_xticks(epochs)
        ax.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)


def plot_history(history: list[dict], ax=None):
    """Validation BAC of both models after each epoch (``TrainedPair.history``)."""
    ax = _axes(ax)
    epochs = [h["epoch"] for h in history]
    for m in (1, 2):
        ax.plot(epochs, [h[f"val_bac_{m}"] for h in history], label=f"model {m}",
                color=MODEL_COLORS[m], **MODEL_LINES[m])
    ax.axhline(0.8, color="grey", ls=":", label="full points (0.8)")
    ax.set(xlabel="epoch", ylabel="validation BAC", title="Validation BAC per epoch", ylim=(0.4, 1))
    _epoch_axis(ax, epochs)
    ax.legend()
    return ax


def plot_keep_rates(epochs: list[dict], ax=None):
    """Share of each given label that the selection kept, per epoch and model."""
    ax = _axes(ax)
    x = [e["epoch"] for e in epochs]
    for m in (1, 2):
        for c in (0, 1):
            ax.plot(x, [e["keep_rate"][m - 1][c] for e in epochs], color=MODEL_COLORS[m],
                    ls=LABEL_STYLES[c], label=f"model {m}, label {c}", **MODEL_LINES[m])
    ax.set(xlabel="epoch", ylabel="share kept", title="Per-label keep rate", ylim=(0, 1.05))
    _epoch_axis(ax, x)
    ax.legend(fontsize=8)
    return ax


def plot_loss_distributions(losses: torch.Tensor, correct: torch.Tensor, labels: torch.Tensor,
                            ax=None, model: int = 1):
    """Histograms of one model's last-epoch losses per given label, correct labels filled,
    wrong ones outlined."""
    ax = _axes(ax)
    loss = losses[model - 1].numpy()
    bins = np.linspace(0, min(float(np.nanmax(loss)), 8.0), 40)
    for c in (0, 1):
        for ok in (True, False):
            sel = (labels.numpy() == c) & (correct.numpy() == ok)
            if sel.any():
                ax.hist(loss[sel], bins=bins, histtype="stepfilled" if ok else "step",
                        alpha=0.25 if ok else 1.0, lw=1.5, ls=LABEL_STYLES[c],
                        color=MODEL_COLORS[model], edgecolor=MODEL_COLORS[model],
                        label=f"label {c}, {'correct' if ok else 'wrong'} ({sel.sum()})")
    ax.set(xlabel="loss of the given label (last epoch)", ylabel="samples",
           title=f"Model {model}: losses of correctly and wrongly labelled samples")
    ax.legend(fontsize=8)
    return ax
