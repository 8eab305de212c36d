"""One batch's work: every text encoded in one call, then the texts of the requests to parse
parsed in one call per model. The same function runs on the batcher's thread or in the parse
process."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nlu.encoder import Encoder, Vectors
from nlu.model import NLUModel
from nlu.parse import Parse

# Per request: its rows of vectors, and its parses when it asked for them.
Results = list[tuple[Vectors, list[Parse] | None]]


def encode_and_parse(
    encoder: Encoder, requests: Sequence[tuple[list[str], NLUModel | None]]
) -> Results:
    """`requests` are (texts, the model to parse them with or None to only encode them)."""
    vectors = encoder.encode([text for texts, _ in requests for text in texts])
    rows, start = [], 0
    for texts, _ in requests:
        rows.append(np.asarray(vectors[start : start + len(texts)]))
        start += len(texts)
    parses: dict[int, list[Parse]] = {}
    by_model: dict[int, list[int]] = {}
    for position, (_, model) in enumerate(requests):
        if model is not None:
            by_model.setdefault(id(model), []).append(position)
    for positions in by_model.values():
        model = requests[positions[0]][1]
        assert model is not None
        texts = [text for p in positions for text in requests[p][0]]
        parsed = model.parse_encoded(texts, np.vstack([rows[p] for p in positions]))
        start = 0
        for p in positions:
            parses[p] = parsed[start : start + len(requests[p][0])]
            start += len(requests[p][0])
    return [(rows[p], parses.get(p)) for p in range(len(requests))]
