"""Draft an extractive answer from the best passage, with its citation, or abstain."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.confidence import DEFAULT_MODEL, ConfidenceModel
from knowledge_base.index import KnowledgeBaseIndex, Passage
from nlu.encoder import Vectors

MAX_SENTENCES = 3
CANDIDATES = 2  # articles ranked per query: the best and the runner-up for the margin
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about which sentence answers (the list is short on purpose).
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    }
)


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


def draft_answer(
    query: str,
    index: KnowledgeBaseIndex,
    threshold: float,
    model: ConfidenceModel = DEFAULT_MODEL,
    query_vector: Vectors | None = None,
) -> Answer | None:
    """The best passage's most relevant sentences and its article, or None when the confidence
    (the probability that the article answers the query) is below the threshold. The query is
    encoded here unless its vector is given."""
    passages = index.search(query, k=CANDIDATES, distinct_articles=True, query_vector=query_vector)
    return answer_from(query, passages, threshold, model)


def answer_from(
    query: str, passages: Sequence[Passage], threshold: float, model: ConfidenceModel
) -> Answer | None:
    """The answer drafted from passages of distinct articles, best first, or None."""
    confidence = model.probability(passages)
    if not passages or confidence < threshold:
        return None
    best = passages[0]
    article = best.chunk.article
    return Answer(
        text=" ".join(best_sentences(query, list(best.chunk.sentences))),
        citations=[Citation(article.id, article.title, article.url)],
        confidence=round(confidence, 4),
    )


def best_sentences(query: str, sentences: list[str]) -> list[str]:
    """Up to MAX_SENTENCES sentences sharing the most words with the query, in their order."""
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    wanted = {_stem(w) for w in _WORD.findall(query.lower()) if w not in _STOPWORDS}

    def overlap(i: int) -> tuple[int, int]:
        words = {_stem(w) for w in _WORD.findall(sentences[i].lower())}
        return -len(wanted & words), i

    keep = sorted(sorted(range(len(sentences)), key=overlap)[:MAX_SENTENCES])
    return [sentences[i] for i in keep]


def _stem(word: str) -> str:
    """A crude stem (the first five letters) so that ship / shipping / shipped match."""
    return word[:5]


def suggest_replies(query: str, index: KnowledgeBaseIndex, k: int = 3) -> list[Answer]:
    """Drafts for an agent from the k best articles (no threshold: a person decides), best first."""
    return [
        Answer(
            text=" ".join(best_sentences(query, list(p.chunk.sentences))),
            citations=[Citation(p.chunk.article.id, p.chunk.article.title, p.chunk.article.url)],
            confidence=round(p.similarity, 4),
        )
        for p in index.search(query, k=k, distinct_articles=True)
    ]
