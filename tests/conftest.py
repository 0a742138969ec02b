import os

import pytest
import torch
from helpers import write_idx

from noisy_select.data import sources
from noisy_select.data.proxy import build_proxy


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs_fashion: reads the real Fashion-MNIST files (skipped without them, "
                   "except in CI, where their absence fails the test)")


def _fashion_missing() -> str | None:
    """Why the real Fashion-MNIST cannot be read here, in one line; None when it can."""
    try:
        sources.find_fashion(download=False)
    except Exception as err:  # noqa: BLE001 (any reason is a reason to skip)
        return str(err).splitlines()[0]
    return None


def pytest_runtest_setup(item):
    if item.get_closest_marker("needs_fashion") is None:
        return
    missing = _fashion_missing()
    if missing is None:
        return
    if os.environ.get("CI"):
        # CI installs the data (.ci/run): a missing file must not let the real-data tests drop out.
        pytest.fail(f"CI is set and the real Fashion-MNIST is missing. {missing}", pytrace=False)
    pytest.skip("needs the real Fashion-MNIST; noisy_select looks in --source DIR, "
                f"{sources.cache_dir()}/FashionMNIST/raw, {sources.DEBIAN_FASHION} (apt-get install "
                "dataset-fashion-mnist), then torchvision's download")


@pytest.fixture(autouse=True)
def _one_thread():
    # Tests are timed on 2 cores; one intra-op thread avoids oversubscription.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_proxy(tmp_path_factory):
    """A small olympiad proxy on disk (300 training images)."""
    out = tmp_path_factory.mktemp("tiny") / "data"
    manifest = build_proxy(str(out), "olympiad", seed=0, scale=0.1)
    return out, manifest


@pytest.fixture(scope="session")
def fake_fashion(tmp_path_factory):
    """A made-up Fashion-MNIST (1,200 training and 400 test images in the four standard IDX
    files, pixels encoding the class): the fashion code path on a machine without the real one."""
    return str(write_idx(tmp_path_factory.mktemp("fashion"), per_split=(1200, 400)))


@pytest.fixture
def no_data_touched(monkeypatch):
    """Every way a command reaches data, source files or the network fails the test."""
    from noisy_select.bench import records, sweeps
    from noisy_select.data import ensure, folders, proxy, scenarios, sources

    def touched(*args, **kwargs):
        raise AssertionError("data was looked for before the usage error")

    for module, name in [(sources, "find_fashion"), (sources, "reachable"), (scenarios, "build"),
                         (scenarios, "load_source"), (folders, "folder_state"),
                         (folders, "check_splits"), (ensure, "ensure_data"),
                         (proxy, "build_proxy"), (records, "read_results"),
                         (records, "check_results_file"), (sweeps, "check_results_file")]:
        monkeypatch.setattr(module, name, touched)
