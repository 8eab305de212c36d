"""Retrieval over the demo help centre and extractive answers with citations."""

from __future__ import annotations

import pytest

from bot.settings import Settings
from knowledge_base.answer import (
    CHOICES,
    MAX_SENTENCES,
    Answer,
    Clarification,
    answer_from_article,
    article_of_ref,
    article_ref,
    best_sentences,
    draft_answer,
    draft_reply,
)
from knowledge_base.articles import Article
from knowledge_base.confidence import DEFAULT_MODEL
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder

SHIPPING_QUESTION = "how long does shipping to Germany take?"


@pytest.fixture(scope="module")
def threshold(base_settings: Settings) -> float:
    return base_settings.knowledge_base.answer_threshold


def test_search_ranks_the_shipping_article_first(demo_kb: KnowledgeBaseIndex) -> None:
    passages = demo_kb.search(SHIPPING_QUESTION, k=3)
    assert len(passages) == 3
    assert passages[0].chunk.article.id == "shipping-times-and-costs"
    scores = [p.score for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= p.similarity <= 1.0 for p in passages)


@pytest.mark.parametrize(
    ("question", "article_id"),
    [
        ("how do I reset my password", "account-and-password-reset"),
        ("can I pay with a gift card", "gift-cards"),
        ("where are your shops", "store-locations"),
    ],
)
def test_search_finds_the_article_about_the_question(
    demo_kb: KnowledgeBaseIndex, question: str, article_id: str
) -> None:
    top = [p.chunk.article.id for p in demo_kb.search(question, k=3)]
    assert article_id in top


def test_search_returns_at_most_k_passages(demo_kb: KnowledgeBaseIndex) -> None:
    assert len(demo_kb.search("refund", k=2)) == 2
    assert len(demo_kb.search("refund", k=10_000)) == len(demo_kb.chunks)


def test_shipping_question_is_answered_from_the_shipping_article(
    demo_kb: KnowledgeBaseIndex, threshold: float
) -> None:
    answer = draft_answer(SHIPPING_QUESTION, demo_kb, threshold)
    assert answer is not None
    assert [c.article_id for c in answer.citations] == ["shipping-times-and-costs"]
    assert answer.citations[0].url == "/kb/shipping-times-and-costs"
    assert answer.citations[0].title == "Shipping times and costs"
    assert "Germany" in answer.text
    assert answer.confidence >= threshold
    ranked = demo_kb.search(SHIPPING_QUESTION, k=2, distinct_articles=True)
    assert answer.confidence == pytest.approx(DEFAULT_MODEL.probability(ranked), abs=1e-4)


def test_the_answer_is_a_few_sentences_of_the_best_passage(demo_kb: KnowledgeBaseIndex) -> None:
    question = "when does my order leave the warehouse"
    answer = draft_answer(question, demo_kb, threshold=0.0)
    assert answer is not None
    passage = demo_kb.search(question, k=1)[0].chunk
    used = [s for s in passage.sentences if s in answer.text]
    assert 1 <= len(used) <= MAX_SENTENCES
    assert answer.text == " ".join(used)  # in the article's order, nothing invented


def test_the_sentences_sharing_the_query_words_are_chosen() -> None:
    sentences = ["We ship daily.", "Returns are free.", "Hi.", "Bye.", "Parcels to Spain: 4 days."]
    chosen = best_sentences("how long to Spain?", sentences)
    assert chosen == ["We ship daily.", "Returns are free.", "Parcels to Spain: 4 days."]
    assert best_sentences("x", sentences[:MAX_SENTENCES]) == sentences[:MAX_SENTENCES]


@pytest.mark.parametrize(
    "question", ["what is the boiling point of mercury", "qwzx blorft vemmick", "zzgrumph plover"]
)
def test_an_unrelated_question_abstains(
    demo_kb: KnowledgeBaseIndex, threshold: float, question: str
) -> None:
    assert draft_answer(question, demo_kb, threshold) is None


def test_the_threshold_decides_whether_to_answer(demo_kb: KnowledgeBaseIndex) -> None:
    answer = draft_answer(SHIPPING_QUESTION, demo_kb, 0.0)
    assert answer is not None
    assert 0.0 < answer.confidence < 1.0
    assert draft_answer(SHIPPING_QUESTION, demo_kb, answer.confidence - 0.01) is not None
    assert draft_answer(SHIPPING_QUESTION, demo_kb, answer.confidence + 0.01) is None


def test_a_clear_match_is_more_confident_than_an_unrelated_question(
    demo_kb: KnowledgeBaseIndex,
) -> None:
    clear = DEFAULT_MODEL.probability(demo_kb.search("how do I pay with a gift card", k=2))
    unrelated = DEFAULT_MODEL.probability(demo_kb.search("boiling point of mercury", k=2))
    assert clear > 0.5 > unrelated


def test_distinct_article_search_gives_one_passage_per_article(
    demo_kb: KnowledgeBaseIndex,
) -> None:
    passages = demo_kb.search("shipping costs to France", k=5, distinct_articles=True)
    ids = [p.chunk.article.id for p in passages]
    assert len(ids) == len(set(ids)) == 5
    everything = demo_kb.search("shipping costs to France", k=len(demo_kb.chunks))
    assert passages[0] == everything[0]


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_an_empty_query_finds_nothing(demo_kb: KnowledgeBaseIndex, query: str) -> None:
    assert demo_kb.search(query) == []
    assert draft_answer(query, demo_kb, 0.0) is None


def test_a_query_of_stopwords_only_still_ranks_by_meaning(demo_kb: KnowledgeBaseIndex) -> None:
    passages = demo_kb.search("the and of", k=3)
    assert len(passages) == 3


def test_an_index_over_no_articles_returns_nothing(encoder: Encoder) -> None:
    empty = KnowledgeBaseIndex([], encoder)
    assert empty.chunks == []
    assert empty.search("how long does shipping take?") == []
    assert draft_answer("how long does shipping take?", empty, 0.0) is None


def test_a_small_index_cites_the_matching_article(encoder: Encoder) -> None:
    articles = [
        Article("umbrellas", "Umbrella repairs", "We repair broken umbrella ribs for free.", "/u"),
        Article("socks", "Wool socks", "Our merino socks are knitted in Portugal.", "/s"),
    ]
    index = KnowledgeBaseIndex(articles, encoder)
    assert set(index.articles) == {"umbrellas", "socks"}
    answer = draft_answer("where are the merino socks made?", index, 0.3)
    assert answer is not None
    assert [(c.article_id, c.url) for c in answer.citations] == [("socks", "/s")]
    assert answer.text == "Our merino socks are knitted in Portugal."


def test_a_question_matching_a_section_heading_finds_that_section(
    demo_kb: KnowledgeBaseIndex,
) -> None:
    best = demo_kb.search("when does my order leave the warehouse", k=1)[0].chunk
    assert (best.article.id, best.heading) == (
        "shipping-times-and-costs",
        "When your order leaves the warehouse",
    )


def test_below_the_threshold_the_best_articles_are_offered_down_to_clarify_at(
    demo_kb: KnowledgeBaseIndex,
) -> None:
    answer = draft_answer(SHIPPING_QUESTION, demo_kb, 0.0)
    assert answer is not None
    confidence = answer.confidence
    above = draft_reply(SHIPPING_QUESTION, demo_kb, confidence - 0.01, clarify_at=0.0)
    assert isinstance(above, Answer) and above.text == answer.text
    unsure = draft_reply(SHIPPING_QUESTION, demo_kb, confidence + 0.01, confidence - 0.001)
    assert isinstance(unsure, Clarification)
    ranked = demo_kb.search(SHIPPING_QUESTION, k=CHOICES, distinct_articles=True)
    assert [c.article_id for c in unsure.choices] == [p.chunk.article.id for p in ranked]
    assert len(unsure.choices) == CHOICES and unsure.confidence == confidence
    assert unsure.choices[0].title == "Shipping times and costs"
    too_unsure = confidence + 0.001  # the confidences are rounded to 4 decimals
    assert draft_reply(SHIPPING_QUESTION, demo_kb, confidence + 0.01, too_unsure) is None
    assert draft_reply(SHIPPING_QUESTION, demo_kb, confidence + 0.01, None) is None


def test_an_unrelated_question_is_not_clarified(demo_kb: KnowledgeBaseIndex) -> None:
    assert draft_reply("qwzx blorft vemmick", demo_kb, 0.9, clarify_at=0.1) is None


def test_a_chosen_article_answers_from_its_passage_about_the_question(
    demo_kb: KnowledgeBaseIndex,
) -> None:
    """Tracking your order has sections; the question picks the one it is about."""
    question = "the tracking says delivered but the parcel is not here"
    answer = answer_from_article(question, demo_kb, "order-tracking")
    assert answer is not None
    assert [c.article_id for c in answer.citations] == ["order-tracking"]
    section = next(
        c for c in demo_kb.chunks if c.article.id == "order-tracking" and "delivered" in c.heading
    )
    assert answer.text == " ".join(best_sentences(question, list(section.sentences)))
    first = next(c for c in demo_kb.chunks if c.article.id == "order-tracking")
    unrelated = answer_from_article("qwzx", demo_kb, "order-tracking")
    assert unrelated is not None
    assert unrelated.text == " ".join(best_sentences("qwzx", list(first.sentences)))
    assert answer_from_article(question, demo_kb, "no-such-article") is None


def test_an_article_ref_is_short_and_leads_back_to_its_article(demo_kb: KnowledgeBaseIndex) -> None:
    refs = {article_ref(article_id): article_id for article_id in demo_kb.articles}
    assert len(refs) == len(demo_kb.articles)  # one each
    assert all(article_of_ref(demo_kb, ref) == article_id for ref, article_id in refs.items())
    assert {len(ref) for ref in refs} == {12}
    assert article_of_ref(demo_kb, "0" * 12) is None
