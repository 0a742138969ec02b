import pytest
import torch

from noisy_select.data.proxy import build_proxy


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
