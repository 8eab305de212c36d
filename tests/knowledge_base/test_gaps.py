"""Unanswered questions grouped by meaning: paraphrases fall together, topics stay apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from knowledge_base.gaps import Question, group_questions
from nlu.encoder import Encoder

START = datetime(2026, 11, 1, 9, tzinfo=UTC)


def _questions(texts: list[str]) -> list[Question]:
    return [
        Question(text, START + timedelta(hours=i), "abstained", i) for i, text in enumerate(texts)
    ]


def test_paraphrases_share_a_group_and_the_biggest_comes_first(encoder: Encoder) -> None:
    questions = _questions(
        [
            "do you sell gift wrapping?",
            "can you gift wrap my order",
            "is gift wrapping available for presents",
            "can I pay with bitcoin?",
            "do you accept cryptocurrency payments",
            "where can I park my bike near the store",
        ]
    )
    gaps = group_questions(questions, encoder.encode)
    assert [g.count for g in gaps] == [3, 2, 1]
    assert all("wrap" in q.text for q in gaps[0].questions)
    assert {q.text for q in gaps[1].questions} == {
        "can I pay with bitcoin?",
        "do you accept cryptocurrency payments",
    }
    assert gaps[0].last_seen == START + timedelta(hours=2)
    assert gaps[0].example in {q.text for q in gaps[0].questions}
    assert gaps[0].kinds == {"abstained": 3}


def test_no_questions_no_gaps(encoder: Encoder) -> None:
    assert group_questions([], encoder.encode) == []
