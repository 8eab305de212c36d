"""Draft an extractive answer from the best passage, with its citation, or abstain."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from knowledge_base.index import KnowledgeBaseIndex, Passage

MAX_SENTENCES = 3


@dataclass(frozen=True)
class Citation:
    article_id: str
    title: str
    url: str


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    confidence: float


def draft_answer(query: str, index: KnowledgeBaseIndex, threshold: float) -> Answer | None:
    """The passage's most relevant sentences and its article, or None when not confident."""
    passages = index.search(query, k=3)
    if not passages or passages[0].similarity < threshold:
        return None
    best = passages[0]
    article = best.chunk.article
    return Answer(
        text=" ".join(_best_sentences(query, best, index)),
        citations=[Citation(article.id, article.title, article.url)],
        confidence=round(best.similarity, 4),
    )


def _best_sentences(query: str, passage: Passage, index: KnowledgeBaseIndex) -> list[str]:
    sentences = list(passage.chunk.sentences)
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    vectors = index.encode([query, *sentences])
    similarity = vectors[1:] @ vectors[0]
    keep = sorted(np.argsort(-similarity)[:MAX_SENTENCES])
    return [sentences[i] for i in keep]
