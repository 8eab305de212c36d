"""The sentence encoder run by ONNX Runtime: the same model, several times faster per call.

The sentence-transformers folder is exported once to ONNX with torch (from the local weights;
nothing is downloaded) and kept in a cache folder under a name derived from the weights, so a
changed model is exported again. `int8` also quantises the weights (dynamic, per channel): about
twice as fast again, with vectors whose cosine to the full-precision ones is above 0.97. Its
activations are quantised with one scale per call, so a text's vector would depend on the texts
beside it in a batch: at int8 each text is run alone (as fast, with no padding), so a message
always gets the same vector.
Each run is one thread (ONNX Runtime's own thread pool is not used): with `threads` above one,
the texts (at int8) or batches (at full precision) of a call run that many at once, each on
its own core. An int8 text is a small product to share out between threads: 16 short texts
took 5.4 ms a text on two of ONNX Runtime's threads, 8.0 on one, 4.0 as two runs at once (with
a quarter less CPU than the shared runs), and shared runs spun against the other processes of
a busy machine.
Tokenising uses the model's own `tokenizer.json` (Hugging Face tokenizers), pooling its mean
over the tokens, as the model's sentence-transformers configuration says."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from nlu.encoder import Vectors

Precision = Literal["fp32", "int8"]
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
BATCH = 32  # texts per full-precision ONNX call: texts are sorted by length and cut into batches
EXPORT_FORMAT = 1  # bump when the export below changes, so cached files are made again


class EncoderCacheError(RuntimeError):
    """The exported model cannot be written where it is to be kept."""


class OnnxEncoder:
    """Turns texts into L2-normalised vectors with ONNX Runtime on the CPU."""

    def __init__(
        self,
        name: str,
        path: Path,
        precision: Precision = "fp32",
        threads: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        import onnxruntime  # noqa: PLC0415 (heavy import)
        from tokenizers import Tokenizer  # noqa: PLC0415

        _check_mean_pooling(path)
        self.name = name
        self._tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=_max_length(path))
        self._tokenizer.enable_padding(pad_id=self._tokenizer.token_to_id("[PAD]") or 0)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # a run is one thread; `threads` runs go at once
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are not ours to fix
        model = exported(path, precision, cache_dir or default_cache_dir())
        self._session = onnxruntime.InferenceSession(
            str(model), options, providers=["CPUExecutionProvider"]
        )
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._batch = BATCH if precision == "fp32" else 1
        runs = threads or os.cpu_count() or 1
        self._runs = ThreadPoolExecutor(runs, "onnx-encoder") if runs > 1 else None

    def encode(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        batches = [
            order[start : start + self._batch] for start in range(0, len(texts), self._batch)
        ]
        feeds = [self._feed([texts[i] for i in rows]) for rows in batches]  # tokenised here
        run = self._runs.map if self._runs is not None and len(feeds) > 1 else map
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for rows, batch_vectors in zip(batches, run(self._run, feeds), strict=True):
            vectors[rows] = batch_vectors
        return vectors

    @property
    def dimension(self) -> int:
        shape = self._session.get_outputs()[0].shape
        return int(shape[-1])

    def _feed(self, texts: list[str]) -> dict[str, npt.NDArray[np.int64]]:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return {name: feed[name] for name in self._inputs}

    def _run(self, feed: dict[str, npt.NDArray[np.int64]]) -> Vectors:
        """The vectors of one tokenised batch (ONNX Runtime lets go of the interpreter lock)."""
        (hidden,) = self._session.run(None, feed)
        mask = feed["attention_mask"]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)


def default_cache_dir() -> Path:
    """Where exported models are kept: $HELPLINE_CACHE, else the user's cache folder."""
    explicit = os.environ.get("HELPLINE_CACHE")
    if explicit:
        return Path(explicit) / "onnx"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "helpline" / "onnx"


def exported(path: Path, precision: Precision, cache_dir: Path) -> Path:
    """The ONNX file of the model folder at this precision, exported now if it is not cached.
    The file appears whole or not at all (written aside, then renamed), so processes that
    start together at most export twice."""
    target = cache_dir / f"{_fingerprint(path)}-{precision}.onnx"
    if target.exists():
        return target
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
            full = Path(scratch) / "model.onnx"
            _export(path, full)
            if precision == "int8":
                from onnxruntime.quantization import QuantType, quantize_dynamic  # noqa: PLC0415

                quantized = Path(scratch) / "model-int8.onnx"
                quantize_dynamic(full, quantized, weight_type=QuantType.QInt8, per_channel=True)
                full = quantized
            os.replace(full, target)
    except OSError as exc:
        raise EncoderCacheError(
            f"cannot keep the encoder's ONNX export in {cache_dir} ({exc.strerror or exc}): "
            "set HELPLINE_CACHE to a writable folder, or nlu.encoder_runtime to torch"
        ) from exc
    return target


def _export(path: Path, target: Path) -> None:
    import torch  # noqa: PLC0415 (only to export, once)
    from transformers import AutoModel  # noqa: PLC0415
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped in transformers
    model = AutoModel.from_pretrained(str(path)).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            token_type_ids: torch.Tensor,
        ) -> torch.Tensor:
            out = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            )
            return out.last_hidden_state  # type: ignore[no-any-return]

    example = torch.ones((1, 4), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on Python branches it cannot see
        torch.onnx.export(
            LastHiddenState(),
            (example, example, torch.zeros_like(example)),
            str(target),
            input_names=list(INPUTS),
            output_names=["last_hidden_state"],
            dynamic_axes={name: axes for name in (*INPUTS, "last_hidden_state")},
            opset_version=17,
            dynamo=False,
        )


def _fingerprint(path: Path) -> str:
    """A digest of the model's files (weights, configuration, vocabulary) and the export."""
    digest = hashlib.sha256(f"export {EXPORT_FORMAT}\0".encode())
    for file in sorted(p for p in path.rglob("*") if p.is_file() and p.suffix != ".md"):
        digest.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]


def _max_length(path: Path) -> int:
    config = path / "sentence_bert_config.json"
    if config.exists():
        return int(json.loads(config.read_text(encoding="utf-8")).get("max_seq_length", 256))
    return 256


def _check_mean_pooling(path: Path) -> None:
    pooling = path / "1_Pooling" / "config.json"
    if pooling.exists() and not _pools_by_mean(json.loads(pooling.read_text(encoding="utf-8"))):
        raise ValueError(
            f"{path}: the ONNX runtime computes mean pooling only, and this model pools "
            "otherwise; set nlu.encoder_runtime to torch"
        )


def _pools_by_mean(config: dict[str, object]) -> bool:
    """sentence-transformers before 6 wrote one flag a mode, from 6 on one `pooling_mode`."""
    return bool(config.get("pooling_mode_mean_tokens")) or config.get("pooling_mode") == "mean"
