"""Draft an extractive answer from the best passage, with its citation, or abstain."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from knowledge_base.articles import Article
from knowledge_base.confidence import DEFAULT_MODEL, ConfidenceModel
from knowledge_base.index import KnowledgeBaseIndex, Passage
from nlu.encoder import Vectors

MAX_SENTENCES = 3
CANDIDATES = 2  # articles ranked per query: the best and the runner-up for the margin
CHOICES = 3  # articles offered when the bot asks which one the customer means
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


@dataclass(frozen=True)
class Clarification:
    """Not sure enough to answer, but close: the best articles, for the customer to choose."""

    choices: list[Citation]
    confidence: float  # that the first one answers


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


def draft_reply(
    query: str,
    index: KnowledgeBaseIndex,
    threshold: float,
    clarify_at: float | None,
    *,
    model: ConfidenceModel = DEFAULT_MODEL,
    query_vector: Vectors | None = None,
) -> Answer | Clarification | None:
    """`draft_answer`, and below its threshold, when the confidence is at least `clarify_at`,
    the CHOICES best articles to ask about instead of nothing (None: never ask)."""
    k = CANDIDATES if clarify_at is None else max(CANDIDATES, CHOICES)
    passages = index.search(query, k=k, distinct_articles=True, query_vector=query_vector)
    confidence = model.probability(passages[:CANDIDATES])
    if passages and confidence >= threshold:
        return _drafted(query, passages[0], confidence)
    if clarify_at is None or not passages or confidence < clarify_at:
        return None
    return Clarification([_citation(p.chunk.article) for p in passages], round(confidence, 4))


@functools.lru_cache(maxsize=65_536)  # a press looks through every article's reference
def article_ref(article_id: str) -> str:
    """A short reference to the article that stays the same while its id does: button payloads
    carry it (Telegram allows 64 bytes of them, and an FAQ's id may be 60 characters)."""
    return hashlib.sha256(article_id.encode()).hexdigest()[:12]


def article_of_ref(index: KnowledgeBaseIndex, ref: str) -> str | None:
    """The id of the article in the index whose `article_ref` is `ref`, or None."""
    return next((a for a in index.articles if article_ref(a) == ref), None)


def answer_from_article(question: str, index: KnowledgeBaseIndex, article_id: str) -> Answer | None:
    """The answer to `question` from the article the customer chose: the most relevant sentences
    of its passage that shares the most words with the question (the first passage when none
    does). None when the index no longer holds the article."""
    chunks = [c for c in index.chunks if c.article.id == article_id]
    if not chunks:
        return None
    wanted = _content_words(question)
    best = max(chunks, key=lambda c: len(wanted & _content_words(f"{c.heading} {c.text}")))
    return Answer(
        text=" ".join(best_sentences(question, list(best.sentences))),
        citations=[_citation(best.article)],
        confidence=1.0,  # the customer chose it
    )


def answer_from(
    query: str, passages: Sequence[Passage], threshold: float, model: ConfidenceModel
) -> Answer | None:
    """The answer drafted from passages of distinct articles, best first, or None."""
    confidence = model.probability(passages)
    if not passages or confidence < threshold:
        return None
    return _drafted(query, passages[0], confidence)


def _drafted(query: str, best: Passage, confidence: float) -> Answer:
    """The answer quoted from the best passage's sentences that fit the query, cited."""
    return Answer(
        text=" ".join(best_sentences(query, list(best.chunk.sentences))),
        citations=[_citation(best.chunk.article)],
        confidence=round(confidence, 4),
    )


def _citation(article: Article) -> Citation:
    return Citation(article.id, article.title, article.url)


def best_sentences(query: str, sentences: list[str]) -> list[str]:
    """Up to MAX_SENTENCES sentences sharing the most words with the query, in their order."""
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    wanted = _content_words(query)

    def overlap(i: int) -> tuple[int, int]:
        words = {_stem(w) for w in _WORD.findall(sentences[i].lower())}
        return -len(wanted & words), i

    keep = sorted(sorted(range(len(sentences)), key=overlap)[:MAX_SENTENCES])
    return [sentences[i] for i in keep]


def _content_words(text: str) -> set[str]:
    """The text's words but the stopwords, crudely stemmed."""
    return {_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


def _stem(word: str) -> str:
    """A crude stem (the first five letters) so that ship / shipping / shipped match."""
    return word[:5]


def suggest_replies(query: str, index: KnowledgeBaseIndex, k: int = 3) -> list[Answer]:
    """Drafts for an agent from the k best articles (no threshold: a person decides), best first."""
    return [
        Answer(
            text=" ".join(best_sentences(query, list(p.chunk.sentences))),
            citations=[_citation(p.chunk.article)],
            confidence=round(p.similarity, 4),
        )
        for p in index.search(query, k=k, distinct_articles=True)
    ]
