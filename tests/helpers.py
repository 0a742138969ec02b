"""Rows of the result schema for tests that do not train (the real ``records.make_row``)."""

from noisy_select.bench.records import make_row


def fake_row(spec, bac_mean=0.5, seconds=1.0, **extra):
    score = {"bac_1": bac_mean, "bac_2": bac_mean, "bac_mean": bac_mean, "points": 0,
             "auc_1": 0.5, "auc_2": 0.5, "size": 10}
    row = make_row(scenario=spec.scenario, strategy=spec.strategy, seed=spec.seed,
                   epochs=spec.epochs, scale=spec.scale, device=spec.device,
                   described=spec.describe(), split_scores={"test": score},
                   history=[{"epoch": 1, "val_bac_1": 0.5, "val_bac_2": 0.5, "val_auc_1": 0.5,
                             "val_auc_2": 0.5}],
                   selection=[{"epoch": 1, "precision": [[0.5, 0.9], [0.5, 0.9]]}],
                   seconds=seconds, data={}, environment={})
    return {**row, **extra}


def fail_after_saves(monkeypatch, n: int, error: BaseException) -> None:
    """Make PIL's ``Image.save`` raise ``error`` after ``n`` images were written (a full disk,
    a Ctrl-C in the middle of writing a data set)."""
    from PIL import Image

    save, count = Image.Image.save, [0]

    def failing(self, *args, **kwargs):
        count[0] += 1
        if count[0] > n:
            raise error
        return save(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", failing)
