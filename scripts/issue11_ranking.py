"""How well rankings of the label buckets separate correct from wrong labels, per epoch.

Usage: python scripts/issue11_ranking.py TRAJECTORY.pt [--estimates]
(a file from scripts/issue11_trajectory.py). Prints, per epoch, the AUC and the precision at
the true clean share for each model's score, the mean of both, an EMA (0.5) and the mean over
epochs; with --estimates, the clean shares that mixture proportion estimation finds on the
epoch's mean probability of both models (docs/SELECTION.md, issue 11).
"""

import sys

import torch
from sklearn.metrics import roc_auc_score

from noisy_select.adaptive import clean_shares_from_ratios, mpe_ratios


def report(name, score, labels, clean):
    """``score``: probability of class 1 (N,). Label 0 keeps its lowest, label 1 its highest."""
    out = []
    for c in (0, 1):
        m = labels == c
        correct = (clean[m] == c).numpy()
        s = score[m] if c == 1 else -score[m]
        k = int(round(correct.mean() * int(m.sum())))
        top = torch.argsort(s, descending=True)[:k].numpy()
        out.append(f"label {c}: AUC {roc_auc_score(correct, s.numpy()):.3f}, "
                   f"precision {correct[top].mean():.3f}")
    print(f"  {name:18s} " + " | ".join(out))


def main(argv: list[str]) -> None:
    d = torch.load(argv[0])
    calls, nb = d["calls"], d["n_batches"]
    epochs = len(calls) // nb
    labels = torch.cat([c[0] for c in calls[:nb]])
    clean = torch.cat([c[2] for c in calls[:nb]])
    p1 = []
    for e in range(epochs):
        loss = torch.cat([c[1] for c in calls[e * nb:(e + 1) * nb]], 1)
        p_given = torch.exp(-loss)
        p1.append(torch.where(labels == 1, p_given, 1 - p_given))
    p1 = torch.stack(p1)  # (epochs, 2, N)
    print("val AUC per epoch:", [round((h["val_auc_1"] + h["val_auc_2"]) / 2, 3) for h in d["history"]])
    ema, total = None, 0
    for e in range(epochs):
        both = p1[e].mean(0)
        ema = both if ema is None else 0.5 * ema + 0.5 * both
        total = total + both
        print(f"epoch {e + 1}")
        report("model 1", p1[e, 0], labels, clean)
        report("model 2", p1[e, 1], labels, clean)
        report("mean of both", both, labels, clean)
        report("EMA over epochs", ema, labels, clean)
        report("mean over epochs", total / (e + 1), labels, clean)
        if "--estimates" in argv:
            p_given = torch.where(labels == 1, both, 1 - both)
            shares = clean_shares_from_ratios(mpe_ratios(-torch.log(p_given.clamp(min=1e-12)), labels))
            truth = [float((clean[labels == c] == c).float().mean()) for c in (0, 1)]
            print(f"  estimated clean shares {[round(x, 2) for x in shares.tolist()]} "
                  f"(truth {[round(x, 3) for x in truth]})")


if __name__ == "__main__":
    main(sys.argv[1:])
