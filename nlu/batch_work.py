"""One batch's work: the texts of every request encoded in one call, and the texts to parse
parsed in one call per model. The same function runs on the batcher's thread or in the parse
process."""

from __future__ import annotations

from collections.abc import Sequence

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
    vectors = encoder.encode(_texts(requests, everyone))
    rows = dict(_shares(requests, everyone))
    parses: dict[int, list[Parse]] = {}
    for model, positions in _by_model(requests):
        texts = _texts(requests, positions)
        shared = model.intent_encoder.name == encoder.name
        given = np.vstack([vectors[rows[p]] for p in positions]) if shared else None
        parsed = model.parse_encoded(texts, given)
        parses.update((p, parsed[share]) for p, share in _shares(requests, positions))
    return [(vectors[rows[p]], parses.get(p)) for p in range(len(requests))]


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
