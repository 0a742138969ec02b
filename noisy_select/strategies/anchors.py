"""The rules to compare against: the seed's baseline and solution, the published solution and
Co-teaching. Torch and the standard library only (with ``base``): a submission inlines them."""

from __future__ import annotations

import math

import torch

from noisy_select.strategies.base import PUBLISHED_KEEP, Strategy, check_labels, kept_by_peer, prepare

SEED_KEEP = 0.85  # the seed solution's share of each label


class AllSamples(Strategy):
    """The seed's baseline: every sample for both models."""

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        idx = torch.arange(labels.numel(), device=labels.device)
        return [idx, idx.clone()]


def seed_solution(targets: torch.Tensor, losses) -> list[torch.Tensor]:
    """The seed notebook's "Solved Solution" cell as published, the one contestant solution of
    this task found in public (``../shared/seeds/000_65b619e6566df108.txt``).

    For model ``m``: ``int(0.85 n_0)`` label-0 samples by ascending loss of the *other* model,
    then ``int(0.85 n_1)`` label-1 samples the same way (``torch.sort``, as the cell sorts).
    ``seed-coteaching`` keeps the same sets in batch order; the order changes a run
    (``../shared/FACTS.md`` section 9), hence this exact copy. NaN and inf rank as the worst
    loss; a batch of one keeps nothing, as in the cell.
    """
    labels, loss = prepare(targets, losses)
    check_labels(labels)
    indices = torch.arange(labels.numel(), device=labels.device)

    def for_peer(peer: torch.Tensor) -> torch.Tensor:
        parts = []
        for c in (0, 1):
            in_class = labels == c
            keep = int(int(in_class.sum()) * SEED_KEEP)
            _, order = torch.sort(peer[in_class])
            parts.append(indices[in_class][order[:keep]])
        return torch.cat(parts)

    return [for_peer(loss[1]), for_peer(loss[0])]


class ClassWiseCoTeaching(Strategy):
    """The published solution (``fixed-rates``): each model trains on the lowest-loss share
    ``keep[c]`` of each label ``c`` by its peer, in batch order (``base.kept_by_peer``).

    ``keep=(0.85, 0.85)`` is the seed notebook's solution in batch order (``seed-coteaching``;
    ``seed_solution`` is the cell itself); the shipped rule selects so from its third epoch on.
    """

    def __init__(self, keep: tuple[float, float] = PUBLISHED_KEEP) -> None:
        if len(keep) != 2 or not all(0 <= k <= 1 for k in keep):
            raise ValueError(f"Expected two keep shares in [0, 1], but got {keep}.")
        self.keep = (float(keep[0]), float(keep[1]))
        super().__init__()

    def kept(self, labels: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        return kept_by_peer(labels, loss, self.keep)


class CoTeaching(Strategy):
    """Co-teaching (Han et al., 2018) without class logic.

    Each model trains on the ``(1 - R(T)) * B`` samples with its peer's smallest losses, with
    ``R(T) = tau * min(T / T_k, 1)`` and ``T`` the epoch counted from 0, as in the authors' code.
    """

    counts_epochs = True

    def __init__(self, tau: float = 0.35, t_k: int = 10) -> None:
        if not 0 <= tau < 1:
            raise ValueError(f"Expected `tau` in [0, 1), but got {tau}.")
        if t_k < 1:
            raise ValueError(f"Expected `t_k` >= 1, but got {t_k}.")
        self.tau, self.t_k = tau, t_k
        super().__init__()

    def select(self, labels: torch.Tensor, loss: torch.Tensor) -> list[torch.Tensor]:
        forget = self.tau * min(self.epoch / self.t_k, 1.0)
        n_keep = max(1, math.ceil((1 - forget) * labels.numel()))
        return [torch.argsort(loss[1])[:n_keep], torch.argsort(loss[0])[:n_keep]]
