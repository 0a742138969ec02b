"""train/training.py: the execution cell on either loop, the tensor fast path, the size check."""

import numpy as np
import pytest
import torch

from noisy_select.competition import load_data
from noisy_select.data.folders import check_splits
from noisy_select.errors import UsageError
from noisy_select.train.training import run_execution_cell, size_warning, tensor_batches


def test_the_tensor_batches_are_the_competitions_loader_byte_for_byte(tiny_proxy):
    """The fast path every run takes: the same tensors as the organizers' DataLoader over the
    PNG files, in the same order, and the same draw from torch's generator per pass."""
    root, _ = tiny_proxy
    splits = check_splits(str(root))
    loaders = load_data(str(root / "train"), str(root / "val"))
    for split, loader in zip(("train", "val"), loaders):
        fast = tensor_batches(splits[split], torch.device("cpu"))
        assert len(fast) == len(loader)
        torch.manual_seed(0)
        theirs = list(loader)
        after_theirs = torch.rand(3)
        torch.manual_seed(0)
        ours = list(fast)
        assert torch.equal(torch.rand(3), after_theirs)  # one draw each, as DataLoader.__iter__
        for (x, y), (fx, fy) in zip(theirs, ours):
            assert x.dtype == fx.dtype and y.dtype == fy.dtype and x.shape == fx.shape
            assert y.shape == fy.shape
            assert np.array_equal(x.numpy().view(np.uint32), fx.numpy().view(np.uint32))
            assert torch.equal(y, fy)


@pytest.mark.parametrize("selected, message", [
    ([[-1, 0], [0]], r"indices in \[0, 4\) for a batch of 4, but the strategy returned -1"),
    ([[0, 4], [0]], r"returned 4"),
    ([[True, False, True, True], [0]], "a bool mask"),
    ("not a list", "Expected the strategy to return"),
    ([[0]], "of length 1"),
])
def test_the_cell_refuses_what_the_loop_would_misread(selected, message):
    gen = torch.Generator().manual_seed(0)
    batches = [(torch.rand(4, 1, 28, 28, generator=gen), torch.tensor([[0], [1], [0], [1]]))]

    def strategy(targets, losses):
        return [torch.tensor(s) if isinstance(s, list) else s for s in selected] \
            if isinstance(selected, list) else selected

    with pytest.raises(UsageError, match=message):
        run_execution_cell(batches, batches, strategy, epochs=1, device=torch.device("cpu"),
                           seed=0, progress=False)


def test_the_cell_refuses_an_unknown_loop():
    with pytest.raises(UsageError, match="Expected `loop` in"):
        run_execution_cell([], [], None, epochs=1, device=torch.device("cpu"), seed=0,
                           loop="platform")


def test_the_size_warning_suggests_a_scale_only_where_one_applies():
    own = size_warning(200, 1, scale=None)  # a folder of the user's own data
    full = size_warning(200, 1, scale=1.0)  # a proxy at full size already
    assert "--epochs" in own and "--scale" not in own
    assert "--epochs" in full and "--scale" not in full
    # 0.18 of 3,000 images is 540: 5 batches x 6 epochs = 30 steps, the threshold.
    assert "--scale 0.18 with 6 epochs" in size_warning(300, 2, scale=0.1)
    assert size_warning(3000, 6) is None
