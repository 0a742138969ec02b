"""The ``cleanlab`` anchor: confident learning as a practitioner would reach for it first.

Bench only (it needs the optional ``cleanlab`` package: never inlined). Epoch 1 trains on every
sample, labels balanced, and records each sample's out-of-sample probabilities: the fixed loop
computes a batch's losses before it trains on it, so ``p(given label) = exp(-loss)`` of epoch 1
is a held-out view. From epoch 2 on, ``cleanlab.filter.find_label_issues`` flags suspects once,
and each model trains on what its *peer's* probabilities leave, labels balanced by repetition.
"""

from __future__ import annotations

import torch

from noisy_select.strategies.base import Strategy, class_balanced_weights, resample


def pred_probs_from_losses(loss: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """``(N, 2)`` class probabilities of a binary model from the losses ``(N,)`` of the given labels."""
    p_given = torch.exp(-loss)
    p1 = torch.where(labels == 1, p_given, 1 - p_given)
    return torch.stack([1 - p1, p1], dim=1)


class CleanlabSelection(Strategy):
    """Epoch 1: everything, balanced; then drop what ``find_label_issues`` flags on the peer's
    out-of-sample probabilities of epoch 1, balanced."""

    counts_epochs = True

    def __init__(self, filter_by: str = "prune_by_noise_rate") -> None:
        try:
            import cleanlab  # noqa: F401
        except ImportError as err:
            raise ImportError("The `cleanlab` strategy needs the cleanlab package: "
                              "pip install -e '.[bench]'") from err
        self.filter_by = filter_by
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.first_epoch: list[tuple[torch.Tensor, torch.Tensor]] = []  # per call: labels, (2, B) loss
        self.keep: list[torch.Tensor] | None = None  # per call: (2, B) bool, what each model keeps

    def _flag(self) -> list[torch.Tensor]:
        """Per call of epoch 1, ``(2, B)``: the samples each model does *not* flag."""
        from cleanlab.filter import find_label_issues

        labels = torch.cat([lab for lab, _ in self.first_epoch]).cpu()
        losses = torch.cat([loss for _, loss in self.first_epoch], dim=1).cpu()
        sizes = [lab.numel() for lab, _ in self.first_epoch]
        if labels.unique().numel() < 2:  # cleanlab needs both classes: nothing to flag
            return list(torch.ones(2, labels.numel(), dtype=torch.bool).split(sizes, dim=1))
        kept = []
        for m in (0, 1):
            probs = pred_probs_from_losses(losses[m].double(), labels).numpy()
            # n_jobs=1: cleanlab's own process pool relies on fork and fails inside the bench's
            # spawned workers; one process gives the same flags.
            issues = find_label_issues(labels.numpy(), probs, filter_by=self.filter_by, n_jobs=1)
            kept.append(torch.from_numpy(~issues))
        return list(torch.stack(kept).split(sizes, dim=1))

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        size, position = labels.numel(), self.position
        keep = torch.ones(2, size, device=labels.device)  # epoch 1: everything
        if self.epoch == 0:
            self.first_epoch.append((labels.clone(), loss.clone()))
        else:
            if self.keep is None:
                self.keep = self._flag()
            if position < len(self.keep) and self.keep[position].shape[1] == size:
                # Each model learns from what its peer's probabilities leave.
                keep = self.keep[position].flip(0).to(labels.device).float()
        return [resample(w, size) for w in class_balanced_weights(labels, keep, 1.0)]
