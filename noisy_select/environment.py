"""The device a run uses and what every result records about the machine and the code."""

from __future__ import annotations

import platform
import sys

import numpy as np
import torch

from noisy_select.errors import UsageError


def resolve_device(device: str | None) -> torch.device:
    """``None`` or ``"auto"``: CUDA when available, else CPU; otherwise the named device."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise UsageError(f"Expected `device` to be 'auto', 'cpu' or 'cuda', but got {device!r}.") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("Expected a CUDA device, but torch sees none; use --device cpu.")
    return resolved


def environment(device: torch.device) -> dict:
    """Versions and hardware, recorded with every result."""
    import sklearn

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
