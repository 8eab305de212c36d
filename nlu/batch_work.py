"""One batch's work: the texts of every request encoded in one call, and the texts to parse
parsed in one call per model. The same function runs on the batcher's thread or in the parse
process."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache, partial

import numpy as np

from nlu.encoder import Encoder, Vectors
from nlu.model import NLUModel
from nlu.parse import Parse

# Per request: its rows of vectors, and its parses when asked for.
Results = list[tuple[Vectors, list[Parse] | None]]
Requests = Sequence[tuple[list[str], NLUModel | None]]


def encode_and_parse(encoder: Encoder, requests: Requests) -> Results:
    """`requests` are (texts, the model to parse them with or None to only encode them).

    Every text is encoded once, by `encoder`; a model whose intents come from an encoder of
    that name (`NLUModel.intent_encoder`: the served model's, whose vectors the knowledge base
    searches with too) parses with those vectors, any other model encodes its texts itself."""
    everyone = list(range(len(requests)))
    encoding = _encoding().submit(encoder.encode, _texts(requests, everyone))
    rows = dict(_shares(requests, everyone))
    parses: dict[int, list[Parse]] = {}
    for model, positions in _by_model(requests):
        texts = _texts(requests, positions)
        shared = model.intent_encoder.name == encoder.name
        given = partial(_rows, encoding, [rows[p] for p in positions]) if shared else None
        parsed = model.parse_encoded(texts, given)  # reads the texts while they are encoded
        parses.update((p, parsed[share]) for p, share in _shares(requests, positions))
    vectors = encoding.result()
    return [(vectors[rows[p]], parses.get(p)) for p in range(len(requests))]


@cache
def _encoding() -> ThreadPoolExecutor:
    """The thread that encodes a batch while its texts are read (entities, language): the
    encoder's runs let go of the interpreter lock, so the two go on at once on two cores."""
    return ThreadPoolExecutor(1, "encode-batch")


def _rows(encoding: Future[Vectors], shares: list[slice]) -> Vectors:
    vectors = encoding.result()
    return np.vstack([vectors[share] for share in shares])


def _by_model(requests: Requests) -> list[tuple[NLUModel, list[int]]]:
    """The positions of the requests to parse, by model."""
    groups: dict[int, tuple[NLUModel, list[int]]] = {}
    for position, (_, model) in enumerate(requests):
        if model is not None:
            groups.setdefault(id(model), (model, []))[1].append(position)
    return list(groups.values())


def _texts(requests: Requests, positions: list[int]) -> list[str]:
    return [text for p in positions for text in requests[p][0]]


def _shares(requests: Requests, positions: list[int]) -> list[tuple[int, slice]]:
    """Where each request at `positions` finds its rows in a result for all their texts."""
    shares, start = [], 0
    for p in positions:
        shares.append((p, slice(start, start + len(requests[p][0]))))
        start += len(requests[p][0])
    return shares
