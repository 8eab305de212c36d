"""The encoder batcher: concurrent callers share encoder calls and get the vectors a call of
their own would give (the real MiniLM encoder, wrapped only to record each call's size)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import threadpoolctl

from knowledge_base.answer import draft_answer
from knowledge_base.index import KnowledgeBaseIndex
from nlu.batch_work import encode_and_parse
from nlu.batcher import EncoderBatcher, parse_batched
from nlu.encoder import Encoder, Vectors, set_threads
from nlu.entities import EntityExtractor
from nlu.model import NLUModel
from nlu.parse import Parse

MESSAGES = [
    "where is my order",
    "I want my money back for the jacket, it arrived torn",
    "hello",
    "how do I reset my password?",
    "can I change the delivery address after ordering",
    "do you ship to Canada",
    "my discount code does not work",
    "talk to a person please",
]


class RecordingEncoder:
    """The real encoder; each call's number of texts is recorded. With `gate`, a call waits
    until the gate opens (30 s at most; `gate_opened` says whether it did), so a test can keep
    a batch running while others arrive."""

    def __init__(self, encoder: Encoder, gate: threading.Event | None = None) -> None:
        self.name = encoder.name
        self.sizes: list[int] = []
        self.started = threading.Event()
        self.gate_opened: list[bool] = []
        self._encoder = encoder
        self._gate = gate

    def encode(self, texts: list[str]) -> Vectors:
        self.sizes.append(len(texts))
        self.started.set()
        if self._gate is not None:
            self.gate_opened.append(self._gate.wait(timeout=30))
        return self._encoder.encode(texts)


async def test_concurrent_callers_share_one_call_with_the_vectors_of_single_calls(
    encoder: Encoder,
) -> None:
    recording = RecordingEncoder(encoder)
    batcher = EncoderBatcher(recording)
    batched = await asyncio.gather(*(batcher.encode([m]) for m in MESSAGES))
    assert recording.sizes == [len(MESSAGES)]
    for message, vectors in zip(MESSAGES, batched, strict=True):
        assert vectors.shape == (1, 384)
        np.testing.assert_allclose(vectors, encoder.encode([message]), atol=1e-5)


async def test_a_caller_with_several_texts_gets_its_rows_in_order(
    encoder: Encoder,
) -> None:
    batcher = EncoderBatcher(encoder)
    first, second = await asyncio.gather(batcher.encode(MESSAGES[:3]), batcher.encode(MESSAGES[3:]))
    np.testing.assert_allclose(first, encoder.encode(MESSAGES[:3]), atol=1e-5)
    np.testing.assert_allclose(second, encoder.encode(MESSAGES[3:]), atol=1e-5)


async def test_texts_arriving_while_a_batch_runs_form_the_next_batch(
    encoder: Encoder,
) -> None:
    gate = threading.Event()
    recording = RecordingEncoder(encoder, gate)
    batcher = EncoderBatcher(recording)
    first = asyncio.create_task(batcher.encode([MESSAGES[0]]))
    assert await asyncio.to_thread(recording.started.wait, 30)
    later = [asyncio.create_task(batcher.encode([m])) for m in MESSAGES[1:6]]
    await asyncio.sleep(0.05)  # the later ones wait: one batch runs at a time
    assert recording.sizes == [1]
    gate.set()
    await asyncio.gather(first, *later)
    assert recording.sizes == [1, 5]


async def test_batches_hold_at_most_max_batch_texts(encoder: Encoder) -> None:
    recording = RecordingEncoder(encoder)
    batcher = EncoderBatcher(recording, max_batch=3)
    results = await asyncio.gather(*(batcher.encode([m]) for m in MESSAGES))
    assert recording.sizes == [3, 3, 2]
    assert [len(r) for r in results] == [1] * len(MESSAGES)


async def test_a_request_larger_than_max_batch_is_encoded_alone(encoder: Encoder) -> None:
    recording = RecordingEncoder(encoder)
    batcher = EncoderBatcher(recording, max_batch=2)
    big, small = await asyncio.gather(batcher.encode(MESSAGES[:5]), batcher.encode(["hi"]))
    assert recording.sizes == [5, 1]
    assert big.shape == (5, 384)
    assert small.shape == (1, 384)


class FailingOnce:
    """The first call fails as a broken model would; later calls go to the real encoder."""

    def __init__(self, encoder: Encoder) -> None:
        self.name = encoder.name
        self._encoder = encoder
        self.failed = False

    def encode(self, texts: list[str]) -> Vectors:
        if not self.failed:
            self.failed = True
            raise RuntimeError("the model is broken")
        return self._encoder.encode(texts)


async def test_an_encoder_error_reaches_every_caller_of_the_batch_and_the_next_batch_works(
    encoder: Encoder,
) -> None:
    batcher = EncoderBatcher(FailingOnce(encoder))
    results = await asyncio.gather(
        batcher.encode(["one"]), batcher.encode(["two"]), return_exceptions=True
    )
    assert [str(r) for r in results] == ["the model is broken"] * 2
    assert (await batcher.encode(["three"])).shape == (1, 384)


async def test_a_cancelled_caller_does_not_disturb_the_others(encoder: Encoder) -> None:
    batcher = EncoderBatcher(encoder)
    gone = asyncio.create_task(batcher.encode(["never mind"]))
    kept = asyncio.create_task(batcher.encode(["where is my order"]))
    await asyncio.sleep(0)
    gone.cancel()
    np.testing.assert_allclose(await kept, encoder.encode(["where is my order"]), atol=1e-5)
    assert gone.cancelled()


async def test_bad_arguments_are_refused(encoder: Encoder) -> None:
    with pytest.raises(ValueError, match="at least one text"):
        await EncoderBatcher(encoder).encode([])
    with pytest.raises(ValueError, match="max_batch"):
        EncoderBatcher(encoder, max_batch=0)
    with pytest.raises(ValueError, match="threads"):
        set_threads(-1)


def test_a_batch_is_encoded_while_its_texts_are_read(
    demo_nlu: NLUModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    reading = threading.Event()
    extract_many = EntityExtractor.extract_many

    def reads(self: EntityExtractor, texts: list[str], languages: Sequence[str | None]) -> Any:
        reading.set()
        return extract_many(self, texts, languages)

    monkeypatch.setattr(EntityExtractor, "extract_many", reads)
    recording = RecordingEncoder(demo_nlu.intent_encoder, gate=reading)
    ((vectors, parses),) = encode_and_parse(recording, [(MESSAGES, demo_nlu)])
    assert recording.gate_opened == [True]  # one after the other, the gate would stay shut
    assert parses == demo_nlu.parse_many(MESSAGES)
    np.testing.assert_allclose(vectors, demo_nlu.intent_encoder.encode(MESSAGES), atol=1e-6)


def test_an_encoder_error_reaches_the_batch(demo_nlu: NLUModel) -> None:
    class Broken:
        name = demo_nlu.intent_encoder.name

        def encode(self, texts: list[str]) -> Vectors:
            raise RuntimeError("encoder out of memory")

    with pytest.raises(RuntimeError, match="out of memory"):
        encode_and_parse(Broken(), [(MESSAGES, demo_nlu)])


def test_numpys_matrix_products_take_torchs_threads_and_one_beside_onnx() -> None:
    def blas_threads() -> set[int]:
        return {
            i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"
        }

    with threadpoolctl.threadpool_limits(limits=None):  # restores the test process's threads
        threadpoolctl.threadpool_limits(3)
        assert blas_threads() == {3}
        set_threads(2, "onnx-int8")  # the ONNX encoder's runs are its own threads
        assert blas_threads() == {1}
        set_threads(2, "torch")
        assert blas_threads() == {2}


async def test_parse_batched_equals_parse_and_gives_the_vector(
    demo_nlu: NLUModel, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = RecordingEncoder(encoder)
    batcher = EncoderBatcher(recording)
    texts = [*MESSAGES, '/order_status{"order_id": "AF-1234"}']
    parsed_together: list[int] = []
    parse_encoded = demo_nlu.parse_encoded

    def recorded(texts: list[str], vectors: Vectors | None) -> list[Parse]:
        parsed_together.append(len(texts))
        return parse_encoded(texts, vectors)

    monkeypatch.setattr(demo_nlu, "parse_encoded", recorded)
    results = await asyncio.gather(*(parse_batched(demo_nlu, t, batcher) for t in texts))
    monkeypatch.undo()
    assert recording.sizes == [len(MESSAGES)]  # the direct trigger is not encoded
    assert sorted(parsed_together) == [1, len(MESSAGES)]  # the trigger alone, the rest together
    for text, (parse, vector) in zip(texts, results, strict=True):
        alone = demo_nlu.parse(text)
        assert parse.intent.name == alone.intent.name
        assert parse.intent.confidence == pytest.approx(alone.intent.confidence, abs=1e-4)
        assert [s.name for s in parse.intent_ranking[:3]] == [
            s.name for s in alone.intent_ranking[:3]
        ]
        assert parse.entities == alone.entities
        if text.startswith("/"):
            assert vector is None
        else:
            assert vector is not None
            np.testing.assert_allclose(vector, encoder.encode([text])[0], atol=1e-5)


async def test_a_batch_on_the_intent_encoder_encodes_each_text_once(
    demo_nlu: NLUModel, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The served batcher encodes with the model's intent encoder (its fine-tuned copy): the
    batch's one call gives the intents and the vectors the knowledge base searches with."""
    assert demo_nlu.fine_tuned
    tuned = demo_nlu.intent_encoder
    encode = tuned.encode
    calls: list[int] = []

    def counted(texts: list[str]) -> Vectors:
        calls.append(len(texts))
        return encode(texts)

    monkeypatch.setattr(tuned, "encode", counted)
    batcher = EncoderBatcher(RecordingEncoder(tuned))
    texts = ["hello", "do you ship to Canada"]
    results = await asyncio.gather(*(parse_batched(demo_nlu, t, batcher) for t in texts))
    assert calls == [2]  # the batch's call, and no other by the model
    monkeypatch.undo()
    for text, (parse, vector) in zip(texts, results, strict=True):
        assert parse.intent.name == demo_nlu.parse(text).intent.name
        np.testing.assert_allclose(vector, tuned.encode([text])[0], atol=1e-5)
    assert not np.allclose(results[1][1], encoder.encode([texts[1]])[0], atol=1e-3)


async def test_a_model_on_another_encoder_parses_with_its_own_vectors(
    demo_nlu: NLUModel, encoder: Encoder
) -> None:
    """A batcher on the shipped encoder hands back the shipped vectors; the fine-tuned model
    still takes its intents from its own."""
    recording = RecordingEncoder(encoder)
    batcher = EncoderBatcher(recording)
    texts = ["hello", "do you ship to Canada"]
    results = await asyncio.gather(*(parse_batched(demo_nlu, t, batcher) for t in texts))
    assert recording.sizes == [2]
    for text, (parse, vector) in zip(texts, results, strict=True):
        alone = demo_nlu.parse(text)
        assert parse.intent.name == alone.intent.name
        assert parse.intent.confidence == pytest.approx(alone.intent.confidence, abs=1e-4)
        np.testing.assert_allclose(vector, encoder.encode([text])[0], atol=1e-5)


def test_the_knowledge_base_answers_the_same_from_a_given_query_vector(
    demo_kb: KnowledgeBaseIndex, encoder: Encoder
) -> None:
    for query in ["how do I return an item", "do gift cards expire", "my parcel is late"]:
        vector = encoder.encode([query])[0]
        given = demo_kb.search(query, k=3, query_vector=vector)
        encoded = demo_kb.search(query, k=3)
        assert [p.chunk.article.id for p in given] == [p.chunk.article.id for p in encoded]
        assert [p.score for p in given] == pytest.approx([p.score for p in encoded], abs=1e-5)
        assert draft_answer(query, demo_kb, 0.5, query_vector=vector) == draft_answer(
            query, demo_kb, 0.5
        )
