"""Knowledge gaps: customer questions the bot could not answer, grouped by meaning so that the
most asked missing topics come first. Greedy clustering on sentence vectors: a question joins
the closest group whose centre is at least `threshold` similar, else starts a new one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from nlu.encoder import Vectors

Encode = Callable[[list[str]], Vectors]

SIMILAR = 0.55  # cosine to a group's centre to join it: MiniLM paraphrases score about 0.6-0.95,
# different topics of a shop below 0.3 (tests/knowledge_base/test_gaps.py)


@dataclass(frozen=True)
class Question:
    text: str
    at: datetime
    kind: str  # abstained (the knowledge base was not sure) | fallback (NLU did not understand)
    conversation_id: int


@dataclass(frozen=True)
class Gap:
    example: str  # the question closest to the group's centre
    count: int
    last_seen: datetime
    kinds: dict[str, int]
    questions: list[Question]  # newest first


def group_questions(
    questions: list[Question], encode: Encode, threshold: float = SIMILAR
) -> list[Gap]:
    """The questions grouped by similar meaning; the most asked first, then the most recent."""
    if not questions:
        return []
    ordered = sorted(questions, key=lambda q: q.at, reverse=True)
    distinct = list(dict.fromkeys(q.text for q in ordered))  # a repeated question: encoded once
    by_text = dict(zip(distinct, _unit(encode(distinct)), strict=True))
    vectors = np.stack([by_text[q.text] for q in ordered])
    members: list[list[int]] = []
    sums = np.zeros_like(vectors)  # row g: the sum of group g's vectors
    for i, vector in enumerate(vectors):
        groups = len(members)
        if groups:
            norms = np.maximum(np.linalg.norm(sums[:groups], axis=1), 1e-9)
            cosines = (sums[:groups] @ vector) / norms
            best = int(np.argmax(cosines))
            if cosines[best] >= threshold:
                members[best].append(i)
                sums[best] += vector
                continue
        members.append([i])
        sums[groups] = vector
    gaps = [_gap(ordered, vectors, rows, sums[g]) for g, rows in enumerate(members)]
    return sorted(gaps, key=lambda g: (-g.count, -g.last_seen.timestamp()))


def _gap(ordered: list[Question], vectors: Vectors, rows: list[int], total: Vectors) -> Gap:
    centre = total / max(float(np.linalg.norm(total)), 1e-9)
    closest = max(rows, key=lambda i: float(vectors[i] @ centre))
    group = [ordered[i] for i in rows]
    return Gap(
        example=ordered[closest].text,
        count=len(group),
        last_seen=group[0].at,
        kinds=dict(Counter(q.kind for q in group)),
        questions=group,
    )


def _unit(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit: Vectors = (vectors / np.maximum(norms, 1e-9)).astype(np.float32)
    return unit
