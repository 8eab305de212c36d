"""Parsing in a process of its own, so that it does not share the server's interpreter lock.

A serving process spends about as much of its Python time on a message's parse (the encoder's
tokens, the intent scorer, spaCy's NER) as on storing the turn, and the two cannot run at once
in one interpreter. A `ParseProcess` loads the same model from the same files in a child process
(started with `spawn`, so no lock or thread of the server is copied) and parses the batcher's
batches there, on the machine's other core. Batches and results go through two pipes that the
server's event loop writes and reads itself, with no thread in between. The child is started
and warmed before the server takes requests. When it dies (killed, out of memory) the batch is
retried once in a fresh child; a second failure reaches the callers as `ParseProcessError`, and
the next batch starts another. When the server dies, however it dies, the child ends too.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import cast

from nlu.batch_work import Results, encode_and_parse
from nlu.encoder import LazyEncoder, Runtime, encoder_name, load_encoder
from nlu.fine_tune import EncoderTuner
from nlu.model import NLUConfig, NLUModel

log = logging.getLogger(__name__)
# A request's texts and whether to parse them (else only encode); a batch is a sequence of them.
Request = tuple[list[str], bool]
Spec = Sequence[Request]


class ParseProcessError(RuntimeError):
    """The parse process could not start, or died twice on one batch."""


@dataclass(frozen=True)
class ModelRecipe:
    """Where a trained model is and how to load it: the same in the server and in the child."""

    directory: Path
    config: NLUConfig
    encoder: str
    runtime: Runtime
    threads: int = 1

    def load(self) -> NLUModel:
        """The model, its base encoder loaded on first use: a fine-tuned model's intents and
        the knowledge base's search take the tuned copy, and serving never needs the base."""
        encoder = LazyEncoder(
            encoder_name(self.encoder, self.runtime),
            lambda: load_encoder(self.encoder, self.runtime, self.threads),
        )
        tuner = EncoderTuner(self.encoder, self.runtime, self.config.fine_tune, self.threads)
        return NLUModel.load(self.directory, self.config, encoder, tuner)


class _Died(Exception):
    """The child ended (killed, out of memory) before it answered."""


class _Child:
    """One child process, with a pipe for batches and one for their results. The server's side
    runs on its event loop: it writes a batch, waits for the results pipe to be readable, reads.
    A pool (concurrent.futures) handed each batch through two threads of the server and back,
    and under load every hand-over waited for the interpreter lock."""

    def __init__(self, recipe: ModelRecipe) -> None:
        context = multiprocessing.get_context("spawn")
        batches, self.batches = context.Pipe(duplex=False)
        self.results, results = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_serve, args=(recipe, batches, results), name="helpline-parse", daemon=True
        )
        self.process.start()
        batches.close()  # the child's ends: with them closed here, its death reads as EOF
        results.close()
        self.unread = 0  # results of batches whose caller stopped waiting (cancelled)
        try:
            self.pid: int = self.results.recv()  # sent once the model is loaded and warm
        except (EOFError, OSError) as error:
            self.stop()
            raise ParseProcessError(
                "the parse process could not load the NLU model (its error is above); "
                "nlu.parse_process: false parses in the server's process instead"
            ) from error

    async def run(self, batch: list[Request]) -> Results:
        try:
            while self.unread:
                await self._receive()
            self.batches.send(batch)
            self.unread += 1
            ok, value = await self._receive()
        except (EOFError, OSError) as error:  # OSError: BrokenPipeError, ConnectionResetError
            raise _Died from error
        if not ok:
            raise cast(BaseException, value)  # the parse's own error, raised here
        return cast(Results, value)

    async def _receive(self) -> tuple[bool, object]:
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        fd = self.results.fileno()
        loop.add_reader(fd, wake)
        try:
            await readable
        finally:
            loop.remove_reader(fd)
            # uvloop leaves a watched descriptor non-blocking: a result longer than what had
            # arrived would then fail to read instead of waiting for its rest.
            os.set_blocking(fd, True)
        answer: tuple[bool, object] = self.results.recv()  # whole: the child sends it at once
        self.unread -= 1
        return answer

    def stop(self) -> None:
        """End the child: closing its batch pipe ends its loop; one that does not is killed."""
        self.batches.close()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.results.close()


class ParseProcess:
    """The child process that parses for `model` (loaded in the server from the same recipe)."""

    def __init__(self, recipe: ModelRecipe, model: NLUModel) -> None:
        self.recipe = recipe
        self.model = model
        self.pid = 0  # the child's process id
        self.restarts = 0  # children started after the first one died
        self._child: _Child | None = self._start()  # None: to start again

    def _start(self) -> _Child:
        child = _Child(self.recipe)  # the model is loaded before a message waits
        self.pid = child.pid
        return child

    async def run(self, spec: Spec) -> Results:
        """Encode every text in one call and parse the texts asked for (`encode_and_parse`).
        The batcher runs one batch at a time, so calls never overlap."""
        batch = list(spec)
        try:
            return await self._submit(batch)
        except _Died:
            log.warning("the parse process died; starting another for the batch")
        try:
            return await self._submit(batch)
        except _Died as error:
            raise ParseProcessError(
                "the parse process stopped twice while parsing this message"
            ) from error

    async def _submit(self, batch: list[Request]) -> Results:
        """The batch's results from the child, started first if the last one died (or could not
        start); a child found dead is stopped, for the next call to replace."""
        if self._child is None:
            self._child = await asyncio.to_thread(self._start)
            self.restarts += 1
        child = self._child
        try:
            return await child.run(batch)
        except _Died:
            child.stop()
            self._child = None
            raise

    def close(self) -> None:
        if self._child is not None:
            self._child.stop()
            self._child = None


_model: NLUModel | None = None  # in the child: the model it parses with


def _serve(recipe: ModelRecipe, batches: Connection, results: Connection) -> None:
    """The child: load the model, say so with its process id, then parse batches until the
    server closes the pipe (or ends: see `_exit_with`)."""
    global _model  # noqa: PLW0603 (the child's one model)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a server killed outright must not leave its child behind
        threading.Thread(target=_exit_with, args=(parent,), name="parent", daemon=True).start()
    _model = recipe.load()
    _model.warm()  # before the server takes requests, so a broken part fails the start
    gc.freeze()  # the model lives as long as the process: collections need not walk it
    results.send(os.getpid())
    while True:
        try:
            batch = batches.recv()
        except EOFError:  # the server closed the pipe
            return
        try:
            answer: tuple[bool, object] = (True, _run(batch))
        except Exception as error:  # handed to the caller, to raise there
            answer = (False, error)
        results.send(answer)


def _exit_with(parent: BaseProcess) -> None:
    parent.join()  # returns once the parent process has ended, however it ended
    os._exit(0)


def _run(spec: list[Request]) -> Results:
    assert _model is not None  # _serve loaded it
    requests = [(texts, _model if parse else None) for texts, parse in spec]
    return encode_and_parse(_model.intent_encoder, requests)
