"""Model weights as plain named arrays in .npz files: no pickle on save or load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Arrays = dict[str, npt.NDArray[Any]]


def save_arrays(path: Path, arrays: Arrays) -> None:
    # numpy's stub types **kwds as the keyword-only allow_pickle flag, so it rejects a dict
    np.savez(path, **arrays)  # type: ignore[arg-type]


def load_arrays(path: Path) -> Arrays:
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def prefixed(arrays: Arrays, prefix: str) -> Arrays:
    return {f"{prefix}{key}": value for key, value in arrays.items()}


def unprefixed(arrays: Arrays, prefix: str) -> Arrays:
    return {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
