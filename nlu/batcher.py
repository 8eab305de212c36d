"""Micro-batching for the sentence encoder: concurrent callers share one `encode(list)` call,
and concurrent messages one NLU parse of all of them.

Encoding one text at a time spends most of the encoder's work on per-call overhead: on two busy
cores a batch of forty short messages costs 9.5 ms a text, one at a time 25 ms. The batcher
collects the texts that arrive within `max_wait_seconds` of the first one (and all that arrive
while a batch is being encoded), up to `max_batch` texts, encodes them in one call on its own
worker thread and hands each caller its rows. One batch runs at a time, so the encoder's CPU
threads are never shared between two batches. Messages to parse (`parse_batched`) are parsed
together on the same thread once their batch is encoded: the intent scorer's work for forty
messages costs little more than for one. With a `ParseProcess` the batches run in that child
process instead, beside the server's interpreter rather than sharing it."""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from nlu.batch_work import Results, encode_and_parse
from nlu.encoder import Encoder, Vectors
from nlu.model import NLUModel
from nlu.parse import Parse
from nlu.parse_process import ParseProcess

MAX_BATCH = 64  # texts per encoder call (sentence-transformers' own batch size)
MAX_WAIT_SECONDS = 0.003  # how long the first text of an idle batcher waits for company


@dataclass(frozen=True)
class _Done:
    vectors: Vectors  # one row per text of the request
    parses: list[Parse] | None  # for a request to parse, one per text


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future[_Done]
    model: NLUModel | None = None  # the model to parse the texts with, if any


class EncoderBatcher:
    """`await encode(texts)` from any number of tasks; the vectors are the encoder's own
    (within float tolerance: a padded batch gives the same embedding as a single text)."""

    def __init__(
        self,
        encoder: Encoder,
        max_batch: int = MAX_BATCH,
        max_wait_seconds: float = MAX_WAIT_SECONDS,
        *,
        process: ParseProcess | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        if max_wait_seconds < 0:
            raise ValueError(f"max_wait_seconds must not be negative, not {max_wait_seconds}")
        if process is not None and process.model.intent_encoder.name != encoder.name:
            raise ValueError("a batcher with a parse process encodes with its model's encoder")
        self.encoder = encoder
        self.name = encoder.name
        self.max_batch = max_batch
        self.max_wait_seconds = max_wait_seconds
        self._pending: deque[_Request] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="encoder")
        # Where batches run instead of the thread: a child process with the served model.
        self.process = process

    async def encode(self, texts: list[str]) -> Vectors:
        """One L2-normalised row per text, encoded together with other callers' texts."""
        return (await self._submit(texts, None)).vectors

    async def parse(self, model: NLUModel, texts: list[str]) -> tuple[list[Parse], Vectors]:
        """The texts parsed by the model (none may be a direct intent trigger: those are not
        encoded), with their vectors, together with other callers' texts."""
        if self.process is not None and model is not self.process.model:
            raise ValueError("this batcher parses in its process, with that process's model only")
        done = await self._submit(texts, model)
        assert done.parses is not None  # a request with a model is parsed
        return done.parses, done.vectors

    async def _submit(self, texts: list[str], model: NLUModel | None) -> _Done:
        if not texts:
            raise ValueError("encode needs at least one text")
        loop = asyncio.get_running_loop()
        request = _Request(list(texts), loop.create_future(), model)
        self._pending.append(request)
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run())
        return await request.future

    def close(self) -> None:
        """Stop the worker thread once the batch being encoded (if any) is done, and the parse
        process."""
        self._thread.shutdown(wait=False, cancel_futures=True)
        if self.process is not None:
            self.process.close()

    async def _run(self) -> None:
        """Encode batches while requests are waiting; the first waits a moment for company."""
        if len(self._pending) < self.max_batch and self.max_wait_seconds > 0:
            await asyncio.sleep(self.max_wait_seconds)
        while self._pending:
            await self._encode_batch(self._next_batch())

    def _next_batch(self) -> list[_Request]:
        """Waiting requests in arrival order, up to max_batch texts (a larger request alone)."""
        batch = [self._pending.popleft()]
        size = len(batch[0].texts)
        while self._pending and size + len(self._pending[0].texts) <= self.max_batch:
            request = self._pending.popleft()
            batch.append(request)
            size += len(request.texts)
        return [r for r in batch if not r.future.done()]  # a cancelled caller needs nothing

    async def _encode_batch(self, batch: list[_Request]) -> None:
        if not batch:
            return
        try:
            results = await self._results(batch)
        except Exception as error:  # every caller of the batch gets the encoder's error
            for request in batch:
                if not request.future.done():
                    request.future.set_exception(error)
            return
        for request, (vectors, parses) in zip(batch, results, strict=True):
            if not request.future.done():
                request.future.set_result(_Done(vectors, parses))

    async def _results(self, batch: list[_Request]) -> Results:
        """The batch's work, in the parse process when there is one, else on the thread."""
        if self.process is not None:
            spec = [(r.texts, r.model is not None) for r in batch]
            return await self.process.run(spec)
        requests = [(r.texts, r.model) for r in batch]
        loop = asyncio.get_running_loop()
        work = partial(encode_and_parse, self.encoder, requests)
        return await loop.run_in_executor(self._thread, work)


async def parse_batched(
    model: NLUModel, text: str, batcher: EncoderBatcher
) -> tuple[Parse, Vectors | None]:
    """Parse one message with its vector from the batcher; also that vector (None for a direct
    intent trigger, which is not encoded) so the knowledge base need not encode the text again."""
    if not model.to_encode([text]):  # a direct intent trigger: nothing to encode
        (parse,) = await asyncio.to_thread(model.parse_encoded, [text], None)
        return parse, None
    parses, vectors = await batcher.parse(model, [text])
    return parses[0], vectors[0]
