"""Research: a robust trainer beyond the fixed loop (phase schedule, mean teacher, mixup).

Formerly ``noisy_select.train.robust`` and ``noisy-select run --trainer robust``; it left the
package without rows on ``fashion-tops`` to keep it (issue 29). Its only rows, ``robust:<rule>``,
are in ``docs/history/bench-schema1.jsonl``. Run it on a data folder with any rule::

    python research/robust.py -d data -s fixed-rates --epochs 6 [--schedule s.json] [--keep-best]

or import ``train_robust`` (``runpy.run_path("research/robust.py")``) into a loop of your own.

The classification analogue of the second seed's noise-robust training (iSeparate's label-noise
recipe for music source separation):

- a **phase schedule** maps epoch ranges to loss weights, validated before training;
- **supervised**: cross-entropy on the samples the selection strategy picks (as the fixed loop);
- **mixup**: inputs mixed pairwise with the correspondingly mixed one-hot targets, restricted
  to the samples the strategy trusts (the analogue of the mixture-invariant term);
- **teacher**: each student matches the predictions of its mean teacher, an exponential moving
  average of its own weights (the seed's "Mean Teacher Loss").

Each epoch records validation BAC of students and teachers and the share of validation samples
on which teacher and student disagree, the seed's instability watch. ``keep_best`` restores the
weights of the best epoch by validation BAC (off by default, so that comparisons with the fixed
loop stay fair; the record says when it was on).
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim import AdamW
from tqdm import tqdm

from noisy_select.competition import (
    LEARNING_RATE,
    NUM_CLASSES,
    NUM_EPOCHS,
    WEIGHT_DECAY,
    SelectIndices,
    SmallMobileNet,
    predict_and_evaluate,
    seed_everything,
)
from noisy_select.errors import DataError, UsageError
from noisy_select.train.evaluation import evaluate

TERMS = ("supervised", "mixup", "teacher")

# The seed's table, by epoch: the plain term first, then the robust terms while it fades.
DEFAULT_SCHEDULE = {
    "1-2": {"supervised": 1.0, "mixup": 0.0, "teacher": 0.0},
    "3-4": {"supervised": 0.5, "mixup": 1.0, "teacher": 0.5},
    "5-": {"supervised": 0.0, "mixup": 1.0, "teacher": 1.0},
}


@dataclass(frozen=True)
class Phase:
    first: int  # first epoch (from 1)
    last: int | None  # last epoch, inclusive; None: to the end
    weights: dict[str, float]


def parse_schedule(table: dict | str, num_epochs: int) -> list[Phase]:
    """Check a schedule and return its phases in order.

    Parameters
    ----------
    table : dict or str
        ``{"1-2": {"supervised": 1, ...}, "3-": {...}}`` (epoch ranges, inclusive, from 1; an open
        end runs to the last epoch), or the path of a JSON file holding such a dict.
    num_epochs : int
        Every epoch from 1 to ``num_epochs`` must be covered by exactly one range.

    Raises
    ------
    ValueError
        On a malformed range, an unknown term, a negative weight, an epoch covered twice or
        not at all, or a phase whose weights are all zero.
    """
    if isinstance(table, str):
        try:
            with open(table) as f:
                table = json.load(f)
        except (OSError, json.JSONDecodeError) as err:
            raise UsageError(f"Could not read the schedule file {table}: {err}") from err
    if not isinstance(table, dict) or not table:
        raise UsageError(f"Expected the schedule to be a non-empty dict, but got {table!r}.")
    phases = []
    for key, weights in table.items():
        match = re.fullmatch(r"\s*(\d+)\s*(?:-\s*(\d*)\s*)?", str(key))
        if not match:
            raise UsageError(f"Expected an epoch range like '1-2', '3' or '5-', but got {key!r}.")
        first = int(match.group(1))
        last = first if match.group(2) is None else (int(match.group(2)) if match.group(2) else None)
        if first < 1 or (last is not None and last < first):
            raise UsageError(f"Expected a range of epochs from 1, but got {key!r}.")
        if not isinstance(weights, dict):
            raise UsageError(f"Expected weights for {key!r} as a dict, but got {weights!r}.")
        unknown = set(weights) - set(TERMS)
        if unknown:
            raise UsageError(f"Unknown loss terms {sorted(unknown)} in {key!r}; expected {TERMS}.")
        full = {t: float(weights.get(t, 0.0)) for t in TERMS}
        negative = [t for t, w in full.items() if not w >= 0]
        if negative:
            raise UsageError(f"Expected non-negative weights, but {key!r} has {negative[0]}="
                             f"{full[negative[0]]}.")
        if sum(full.values()) == 0:
            raise UsageError(f"Phase {key!r} has only zero weights: nothing would be trained.")
        phases.append(Phase(first, last, full))
    phases.sort(key=lambda p: p.first)
    covered: dict[int, str] = {}
    for p in phases:
        for epoch in range(p.first, (p.last or num_epochs) + 1):
            if epoch in covered:
                raise UsageError(f"Epoch {epoch} is covered twice in the schedule.")
            covered[epoch] = "x"
    missing = [e for e in range(1, num_epochs + 1) if e not in covered]
    if missing:
        raise UsageError(f"The schedule does not cover epoch(s) {missing} of {num_epochs}.")
    return phases


def weights_for(phases: list[Phase], epoch: int) -> dict[str, float]:
    for p in phases:
        if p.first <= epoch and (p.last is None or epoch <= p.last):
            return p.weights
    raise UsageError(f"No phase covers epoch {epoch}.")


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """``teacher = decay * teacher + (1 - decay) * student`` for parameters; buffers are copied."""
    for p_t, p_s in zip(teacher.parameters(), student.parameters()):
        p_t.mul_(decay).add_(p_s.detach(), alpha=1 - decay)
    for b_t, b_s in zip(teacher.buffers(), student.buffers()):
        b_t.copy_(b_s)


def mixup(inputs: torch.Tensor, labels: torch.Tensor, lam: float, perm: torch.Tensor,
          num_classes: int = NUM_CLASSES) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixed inputs ``lam * x + (1 - lam) * x[perm]`` and targets mixed the same way.

    Returns inputs of the shape of ``inputs`` and soft targets ``(N, num_classes)``.
    """
    onehot = F.one_hot(labels, num_classes).float()
    return (lam * inputs + (1 - lam) * inputs[perm],
            lam * onehot + (1 - lam) * onehot[perm])


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return -(targets * F.log_softmax(logits, dim=1)).sum(1).mean()


def disagreement(a: nn.Module, b: nn.Module, loader: Iterable, device: torch.device) -> float:
    """Share of the loader's samples on which ``a`` and ``b`` predict different classes."""
    a.eval()
    b.eval()
    differ = total = 0
    with torch.no_grad():
        for inputs, _ in loader:
            inputs = inputs.to(device)
            differ += int((a(inputs).argmax(1) != b(inputs).argmax(1)).sum())
            total += len(inputs)
    return differ / max(total, 1)


@dataclass
class RobustConfig:
    epochs: int = NUM_EPOCHS  # the competition's 6
    lr: float = LEARNING_RATE  # the competition's 1e-2
    weight_decay: float = WEIGHT_DECAY
    ema_decay: float = 0.95  # mean teacher: weight of the old teacher per step (ramped up)
    mixup_alpha: float = 0.5  # Beta(alpha, alpha) mixing weights
    keep_best: bool = False  # restore the best epoch by validation BAC (off: fair comparison)
    final: str = "teacher"  # which models are scored at the end: "teacher" or "student"


def train_robust(train_loader: Iterable, val_loader: Iterable, strategy: SelectIndices, *,
                 device: torch.device, seed: int, config: RobustConfig | None = None,
                 schedule: dict | str | None = None, progress: bool = True,
                 on_epoch_end=None) -> dict:
    """Train two students (and their mean teachers) with the phase schedule.

    Returns ``{"models": (m1, m2), "history": [...], "best_epoch": int | None}``: the models
    chosen by ``config.final``; each history row has the validation BAC of students and
    teachers and the teacher-student disagreement, and is passed to ``on_epoch_end(row)``.
    """
    config = config or RobustConfig()
    if config.final not in ("teacher", "student"):
        raise UsageError(f"Expected `final` to be 'teacher' or 'student', but got {config.final!r}.")
    phases = parse_schedule(DEFAULT_SCHEDULE if schedule is None else schedule, config.epochs)
    seed_everything(seed)
    students = [SmallMobileNet().to(device) for _ in range(2)]
    teachers = [copy.deepcopy(s) for s in students]
    optims = [AdamW(s.parameters(), lr=config.lr, weight_decay=config.weight_decay)
              for s in students]
    gen = torch.Generator().manual_seed(seed)
    beta = torch.distributions.Beta(config.mixup_alpha, config.mixup_alpha)
    history: list[dict] = []
    best: tuple[float, int, list] | None = None
    step = 0

    for epoch in range(1, config.epochs + 1):
        w = weights_for(phases, epoch)
        for s in students:
            s.train()
        for inputs, targets in tqdm(train_loader, desc=f"Epoch {epoch} (robust)",
                                    disable=not progress):
            inputs, targets = inputs.to(device), targets.reshape(-1).long().to(device)
            outputs = [s(inputs) for s in students]
            losses = [F.cross_entropy(o, targets, reduction="none") for o in outputs]
            selected = strategy(targets, losses)
            lam = float(beta.sample()) if w["mixup"] > 0 else 1.0
            for i, (s, t, opt) in enumerate(zip(students, teachers, optims)):
                sel = selected[i]
                loss = outputs[i].sum() * 0.0
                if w["supervised"] > 0 and len(sel):
                    loss = loss + w["supervised"] * losses[i][sel].mean()
                if w["mixup"] > 0 and len(sel):
                    trusted = torch.unique(sel)
                    perm = torch.randperm(len(trusted), generator=gen).to(device)
                    x_mix, y_mix = mixup(inputs[trusted], targets[trusted], lam, perm)
                    loss = loss + w["mixup"] * soft_cross_entropy(s(x_mix), y_mix)
                if w["teacher"] > 0:
                    t.eval()
                    with torch.no_grad():
                        target_probs = F.softmax(t(inputs), dim=1)
                    loss = loss + w["teacher"] * soft_cross_entropy(outputs[i], target_probs)
                opt.zero_grad()
                loss.backward()
                opt.step()
                # Tarvainen & Valpola's ramp: early on the teacher follows the student closely.
                ema_update(t, s, min(1 - 1 / (step + 1), config.ema_decay))
            step += 1
        # val_bac / val_auc are those of the models that are scored (config.final), as in the
        # fixed loop's history; student_ and teacher_val_bac keep both sets.
        chosen = teachers if config.final == "teacher" else students
        row: dict = {"epoch": epoch, "weights": w}
        for m, model in enumerate(chosen, start=1):
            row[f"val_bac_{m}"], row[f"val_auc_{m}"] = evaluate(model, val_loader, device)
        for name, models in (("student_val_bac", students), ("teacher_val_bac", teachers)):
            for m, model in enumerate(models, start=1):
                row[f"{name}_{m}"] = (row[f"val_bac_{m}"] if models is chosen else
                                      predict_and_evaluate(model, val_loader, device))
        row["disagreement"] = [disagreement(s, t, val_loader, device)
                               for s, t in zip(students, teachers)]
        history.append(row)
        if on_epoch_end is not None:
            on_epoch_end(row)
        score = (row["val_bac_1"] + row["val_bac_2"]) / 2
        if config.keep_best and (best is None or score > best[0]):
            best = (score, epoch, [copy.deepcopy(m.state_dict()) for m in chosen])
    if config.keep_best and best is not None:
        for model, state in zip(chosen, best[2]):
            model.load_state_dict(state)
    return {"models": tuple(chosen), "history": history,
            "best_epoch": best[1] if config.keep_best and best is not None else None}


def main(argv: list[str] | None = None) -> int:
    """Train a pair with ``train_robust`` on a data folder and print (and write) its scores."""
    from dataclasses import asdict

    from noisy_select.bench.records import scores
    from noisy_select.data.folders import check_splits
    from noisy_select.environment import resolve_device
    from noisy_select.strategies.registry import make_strategy
    from noisy_select.train.training import tensor_batches

    parser = argparse.ArgumentParser(prog="python research/robust.py", description=__doc__.split(
        "\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("-d", "--data", default="data", help="folder of the official layout")
    parser.add_argument("-s", "--strategy", default="fixed-rates", help="the selection rule")
    parser.add_argument("--epochs", type=int, default=NUM_EPOCHS, help="epochs")
    parser.add_argument("--seed", type=int, default=123, help="seeds the models")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--schedule", default=None, help="JSON file of the phase schedule")
    parser.add_argument("--keep-best", action="store_true",
                        help="keep the best epoch by validation BAC")
    parser.add_argument("-o", "--out", default=None, help="JSON file for the scores and history")
    args = parser.parse_args(argv)
    try:
        config = RobustConfig(epochs=args.epochs, keep_best=args.keep_best)
        parse_schedule(args.schedule or DEFAULT_SCHEDULE, args.epochs)  # before any work
        device = resolve_device(args.device)
        splits = check_splits(args.data)
        loaders = {name: tensor_batches(split, device) for name, split in splits.items()}
        out = train_robust(loaders["train"], loaders["val"], make_strategy(args.strategy),
                           device=device, seed=args.seed, config=config, schedule=args.schedule,
                           progress=False)
    except (UsageError, DataError) as err:
        print(f"robust: error: {err}", file=sys.stderr)
        return 2
    result = {"strategy": args.strategy, "seed": args.seed, "robust_config": asdict(config),
              "schedule": args.schedule or DEFAULT_SCHEDULE,
              "best_epoch": out["best_epoch"], "history": out["history"],
              "scores": {name: scores(out["models"], loader, device)
                         for name, loader in loaders.items() if name != "train"}}
    for name, r in result["scores"].items():
        print(f"{name}: BAC model 1 {r['bac_1']:.4f}, model 2 {r['bac_2']:.4f}, "
              f"mean {r['bac_mean']:.4f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
