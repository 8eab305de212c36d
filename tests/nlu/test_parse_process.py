"""Parsing in a child process: the same parses and vectors as in the server, concurrent messages
in one call, a child that dies replaced without losing the message, and a clean shutdown."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvloop

from bot.components import encoder_tuner, nlu_config
from bot.settings import Settings
from nlu.batcher import EncoderBatcher, parse_batched
from nlu.encoder import Encoder
from nlu.model import NLUModel
from nlu.parse_process import ModelRecipe, ParseProcess, ParseProcessError

MESSAGES = [
    "where is my order AB-123456?",
    "I want my money back, this is the worst service",
    "can I pay with PayPal",
    "my name is John Smith and I live in Paris",
    "hello",
]


@pytest.fixture(scope="module")
def recipe(base_settings: Settings, demo_model_dir: Path) -> ModelRecipe:
    nlu = base_settings.nlu
    return ModelRecipe(
        demo_model_dir, nlu_config(base_settings), nlu.encoder, nlu.encoder_runtime, 1
    )


@pytest.fixture(scope="module")
def process(recipe: ModelRecipe, demo_nlu: NLUModel) -> Iterator[ParseProcess]:
    started = ParseProcess(recipe, demo_nlu)
    yield started
    started.close()


async def test_the_child_parses_as_the_server_would_and_together(
    process: ParseProcess, demo_nlu: NLUModel
) -> None:
    assert process.pid != os.getpid()
    encoder = demo_nlu.intent_encoder
    batcher = EncoderBatcher(encoder, process=process)
    results = await asyncio.gather(*(parse_batched(demo_nlu, t, batcher) for t in MESSAGES))
    for text, (parse, vector) in zip(MESSAGES, results, strict=True):
        alone = demo_nlu.parse(text)
        assert parse.intent.name == alone.intent.name
        assert parse.intent.confidence == pytest.approx(alone.intent.confidence, abs=1e-4)
        assert parse.entities == alone.entities
        assert parse.sentiment == alone.sentiment
        assert vector is not None
        np.testing.assert_allclose(vector, encoder.encode([text])[0], atol=1e-5)
    (vectors,) = await asyncio.gather(batcher.encode(["shipping to Canada"]))
    np.testing.assert_allclose(vectors[0], encoder.encode(["shipping to Canada"])[0], atol=1e-5)


async def test_a_batch_reaches_the_child_and_back_without_threads_in_the_server(
    recipe: ModelRecipe, demo_nlu: NLUModel
) -> None:
    before = threading.active_count()
    process = ParseProcess(recipe, demo_nlu)
    try:
        ((_, parses),) = await process.run([(["hello"], True)])
        assert parses is not None and parses[0].text == "hello"
        assert threading.active_count() == before
    finally:
        process.close()


async def test_a_batch_whose_caller_stopped_waiting_does_not_answer_the_next(
    process: ParseProcess,
) -> None:
    abandoned = asyncio.ensure_future(process.run([(["where is my order AB-123456?"], True)]))
    await asyncio.sleep(0)  # sent; the child is parsing it
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    ((vectors, parses),) = await process.run([(["hello", "thanks"], True)])
    assert parses is not None and [p.text for p in parses] == ["hello", "thanks"]
    assert len(vectors) == 2


def test_a_result_longer_than_the_pipe_holds_is_read_whole_on_uvloop(
    process: ParseProcess,
) -> None:
    """`helpline serve` runs on uvloop, which leaves the results pipe non-blocking once it has
    watched it: 200 vectors (300 kB) arrive in several parts and must still be read whole."""
    texts = [f"where is my order AB-{n:06d}?" for n in range(200)]
    ((vectors, parses),) = uvloop.run(process.run([(texts, False)]))
    assert parses is None and vectors.shape == (200, 384)
    assert process.restarts == 0


async def test_the_child_encodes_with_the_models_intent_encoder(
    process: ParseProcess, demo_nlu: NLUModel
) -> None:
    spec = [(["hello"], True), (["do you ship to Canada"], True), (["hello"], False)]
    greeting, question, encoded = await process.run(spec)
    assert greeting[1] is not None and greeting[1][0].intent.name == "greet"
    assert question[1] is not None
    assert encoded[1] is None  # only to encode
    tuned = demo_nlu.intent_encoder
    np.testing.assert_allclose(question[0], tuned.encode(["do you ship to Canada"]), atol=1e-5)
    for vectors in (greeting[0], encoded[0]):
        np.testing.assert_allclose(vectors, tuned.encode(["hello"]), atol=1e-5)


async def test_the_batcher_parses_with_its_process_model_only(
    process: ParseProcess,
    base_settings: Settings,
    demo_model_dir: Path,
    encoder: Encoder,
    demo_nlu: NLUModel,
) -> None:
    config, tuner = nlu_config(base_settings), encoder_tuner(base_settings)
    other = NLUModel.load(demo_model_dir, config, encoder, tuner)
    batcher = EncoderBatcher(demo_nlu.intent_encoder, process=process)
    with pytest.raises(ValueError, match="process's model only"):
        await batcher.parse(other, ["hello"])
    with pytest.raises(ValueError, match="its model's encoder"):
        EncoderBatcher(encoder, process=process)  # the shipped one: the child's vectors differ


async def test_a_child_that_dies_is_replaced_and_the_message_is_parsed(
    recipe: ModelRecipe, demo_nlu: NLUModel
) -> None:
    process = ParseProcess(recipe, demo_nlu)
    try:
        batcher = EncoderBatcher(demo_nlu.intent_encoder, process=process)
        first = process.pid
        os.kill(first, signal.SIGKILL)
        parse, _ = await parse_batched(demo_nlu, "where is my order AB-123456?", batcher)
        assert parse.intent.name == demo_nlu.parse("where is my order AB-123456?").intent.name
        assert process.pid not in (first, os.getpid())
        assert process.restarts == 1
    finally:
        process.close()


async def test_when_a_replacement_cannot_start_the_next_batch_starts_another(
    recipe: ModelRecipe, demo_nlu: NLUModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    process = ParseProcess(recipe, demo_nlu)
    try:
        batcher = EncoderBatcher(demo_nlu.intent_encoder, process=process)
        start = ParseProcess._start
        failures = [ParseProcessError("no memory for another child")]

        def flaky(self: ParseProcess) -> object:
            if failures:
                raise failures.pop()
            return start(self)

        monkeypatch.setattr(ParseProcess, "_start", flaky)
        os.kill(process.pid, signal.SIGKILL)
        with pytest.raises(ParseProcessError, match="no memory"):
            await parse_batched(demo_nlu, "hello", batcher)
        parse, _ = await parse_batched(demo_nlu, "where is my order AB-123456?", batcher)
        assert parse.intent.name == demo_nlu.parse("where is my order AB-123456?").intent.name
        assert process.restarts == 1
    finally:
        process.close()


def test_a_child_that_cannot_load_the_model_stops_start_up_with_a_clear_error(
    recipe: ModelRecipe, demo_nlu: NLUModel, tmp_path: Path
) -> None:
    nowhere = ModelRecipe(tmp_path, recipe.config, recipe.encoder, recipe.runtime)
    with pytest.raises(ParseProcessError, match="could not load the NLU model"):
        ParseProcess(nowhere, demo_nlu)


async def test_closing_stops_the_child(recipe: ModelRecipe, demo_nlu: NLUModel) -> None:
    process = ParseProcess(recipe, demo_nlu)
    pid = process.pid
    EncoderBatcher(demo_nlu.intent_encoder, process=process).close()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


SERVER = """
import pickle, sys
from nlu.parse_process import ParseProcess
recipe = pickle.loads(open(sys.argv[1], "rb").read())
process = ParseProcess(recipe, recipe.load())
print(process.pid, flush=True)
sys.stdin.read()  # until the test kills this process
"""


def test_the_child_ends_when_its_server_is_killed(recipe: ModelRecipe, tmp_path: Path) -> None:
    (tmp_path / "recipe").write_bytes(pickle.dumps(recipe))
    with subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "recipe")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as server:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        assert _running(child)
        server.kill()
        server.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _running(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(child)


def _running(pid: int) -> bool:
    """Whether `pid` is alive (an exited child of another process may linger as a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"
