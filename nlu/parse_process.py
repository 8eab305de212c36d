"""Parsing in a process of its own, so that it does not share the server's interpreter lock.

A serving process spends about as much of its Python time on a message's parse (the encoder's
tokens, the intent scorer, spaCy's NER) as on storing the turn, and the two cannot run at once
in one interpreter. A `ParseProcess` loads the same model from the same files in a child process
(started with `spawn`, so no lock or thread of the server is copied) and parses the batcher's
batches there, on the machine's other core. The child is started and warmed before the server
takes requests. When it dies (killed, out of memory) the batch is retried once in a fresh child;
a second failure reaches the callers as `ParseProcessError`, and the next batch starts another.
When the server dies, however it dies, the child ends too.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path

from nlu.batch_work import Results, encode_and_parse
from nlu.encoder import Runtime, load_encoder
from nlu.fine_tune import EncoderTuner
from nlu.model import NLUConfig, NLUModel

log = logging.getLogger(__name__)
# One batch's requests: their texts and whether to parse them (else only encode).
Spec = Sequence[tuple[list[str], bool]]


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
        encoder = load_encoder(self.encoder, self.runtime, self.threads)
        tuner = EncoderTuner(self.encoder, self.runtime, self.config.fine_tune, self.threads)
        return NLUModel.load(self.directory, self.config, encoder, tuner)


class ParseProcess:
    """The child process that parses for `model` (loaded in the server from the same recipe)."""

    def __init__(self, recipe: ModelRecipe, model: NLUModel) -> None:
        self.recipe = recipe
        self.model = model
        self.pid = 0  # the child's process id
        self.restarts = 0  # children started after the first one died
        self._pool: ProcessPoolExecutor | None = self._start()  # None: to start again

    def _start(self) -> ProcessPoolExecutor:
        pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=(self.recipe,),
        )
        try:
            self.pid = pool.submit(_ready).result()  # the model is loaded before a message waits
        except BrokenProcessPool as error:
            pool.shutdown(wait=False, cancel_futures=True)
            raise ParseProcessError(
                "the parse process could not load the NLU model (its error is above); "
                "nlu.parse_process: false parses in the server's process instead"
            ) from error
        return pool

    async def run(self, spec: Spec) -> Results:
        """Encode every text of the batch in one call and parse those asked for. The batcher
        runs one batch at a time, so calls never overlap."""
        try:
            return await self._submit(spec)
        except BrokenProcessPool:
            log.warning("the parse process died; starting another for the batch")
        try:
            return await self._submit(spec)
        except BrokenProcessPool as error:
            raise ParseProcessError(
                "the parse process stopped twice while parsing this message"
            ) from error

    async def _submit(self, spec: Spec) -> Results:
        """The batch's results from the child, started first if the last one died (or could not
        start); a child found dead is shut down, for the next call to replace."""
        if self._pool is None:
            self._pool = await asyncio.to_thread(self._start)
            self.restarts += 1
        pool = self._pool
        try:
            return await asyncio.wrap_future(pool.submit(_run, list(spec)))
        except BrokenProcessPool:
            pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
            raise

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)


_model: NLUModel | None = None  # in the child: the model it parses with


def _load(recipe: ModelRecipe) -> None:
    global _model  # noqa: PLW0603 (the child's one model, loaded by the pool's initializer)
    parent = multiprocessing.parent_process()
    if parent is not None:  # a server killed outright must not leave its child behind
        threading.Thread(target=_exit_with, args=(parent,), name="parent", daemon=True).start()
    _model = recipe.load()
    _model.warm()  # before the server takes requests, so a broken part fails the start
    gc.freeze()  # the model lives as long as the process: collections need not walk it


def _exit_with(parent: BaseProcess) -> None:
    parent.join()  # returns once the parent process has ended, however it ended
    os._exit(0)


def _ready() -> int:
    assert _model is not None  # the initializer loaded it
    return os.getpid()


def _run(spec: list[tuple[list[str], bool]]) -> Results:
    assert _model is not None  # the initializer loaded it
    requests = [(texts, _model if parse else None) for texts, parse in spec]
    return encode_and_parse(_model.encoder, requests)
