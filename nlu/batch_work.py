"""One batch's work: the texts of the requests to parse parsed in one call per model, and the
texts whose vectors are wanted encoded in one call. The same function runs on the batcher's
thread or in the parse process."""

from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np

from nlu.encoder import Encoder, Vectors
from nlu.model import NLUModel
from nlu.parse import Parse

# Per request: its rows of vectors (None when nobody wants them), and its parses when asked for.
Results = list[tuple[Vectors | None, list[Parse] | None]]
Requests = Sequence[tuple[list[str], NLUModel | None]]


def encode_and_parse(
    encoder: Encoder, requests: Requests, vectorless: Collection[str] = ()
) -> Results:
    """`requests` are (texts, the model to parse them with or None to only encode them).

    A model with a fine-tuned encoder parses first, with its own vectors; `encoder`'s vectors of
    its texts are then computed only when one of them was parsed as an intent outside
    `vectorless` (the intents whose callers have no use for the vectors: on the demo bot's
    greetings and thanks that saves one of a message's two encoder runs). Every other request
    is encoded, and the other models parse with those vectors."""
    parses: dict[int, list[Parse]] = {}
    for model, positions in _by_model(requests, fine_tuned=True):
        parsed = model.parse_encoded(_texts(requests, positions), None)
        parses.update((p, parsed[share]) for p, share in _shares(requests, positions))
    wanted = [
        p
        for p in range(len(requests))
        if p not in parses or any(x.intent.name not in vectorless for x in parses[p])
    ]
    rows: dict[int, Vectors] = {}
    if wanted:
        vectors = encoder.encode(_texts(requests, wanted))
        rows.update((p, vectors[share]) for p, share in _shares(requests, wanted))
    for model, positions in _by_model(requests, fine_tuned=False):
        texts = _texts(requests, positions)
        parsed = model.parse_encoded(texts, np.vstack([rows[p] for p in positions]))
        parses.update((p, parsed[share]) for p, share in _shares(requests, positions))
    return [(rows.get(p), parses.get(p)) for p in range(len(requests))]


def _by_model(requests: Requests, *, fine_tuned: bool) -> list[tuple[NLUModel, list[int]]]:
    """The positions of the requests to parse, by model (those with or without a tuned encoder)."""
    groups: dict[int, tuple[NLUModel, list[int]]] = {}
    for position, (_, model) in enumerate(requests):
        if model is not None and model.fine_tuned == fine_tuned:
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
