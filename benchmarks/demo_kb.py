"""How often the demo shop's bot answers its customers' questions from its knowledge base, how
often it is wrong, and whether it keeps quiet on questions that are not about the shop.

    python benchmarks/demo_kb.py --json [--config config.yml] [--questions FILE.csv] [--oos FILE]

It needs the trained demo model (`helpline train`). The questions
(benchmarks/data/demo_kb_questions.csv, `text,articles`) were written for this benchmark, apart
from the bot's training data: four customer questions about each of the demo shop's 22
articles, each labelled with the articles a person would cite for it (`;` between two).
Out-of-domain queries are CLINC150's out-of-scope validation rows (label `oos`).

Every message goes the engine's way (bot.engine.route_for): the NLU parses it; a message whose
intent has an action, hands off or is chit-chat is not answered from the knowledge base
(`routed_elsewhere`); the others are answered by the best article when its confidence reaches
the threshold for the message (`KnowledgeBaseSettings.threshold_for`: `answer_threshold_in_scope`
when the NLU recognised the intent, `answer_threshold` when it fell back). Per pair of
thresholds: `coverage`, the share of all questions answered with a right article;
`wrong_answer_rate`, the share of answers that are wrong (a wrong article, or any answer to an
out-of-domain query); `abstain_recall`, the share of out-of-domain queries left unanswered.
`configured` is config.yml's pair; `by_in_scope_threshold` varies the in-scope threshold with
`answer_threshold` as configured; `one_threshold` uses one threshold for every message.

Below the answer threshold the bot offers its best articles as buttons when the confidence
reaches `knowledge_base.clarify_threshold` (config.yml's, in `configured`; `by_clarify_threshold`
varies it): `clarified` counts the questions it asks about, `clarified_right_offered` those
among them where a right article is one of the buttons, `out_of_domain_clarified` the
out-of-domain queries it asks about, and `answered_or_offered` is the share of all questions
answered with a right article or offered one."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.components import build_kb, kb_encoder, model_recipe
from bot.engine import route_for
from bot.settings import KnowledgeBaseSettings, Settings, load_settings
from knowledge_base.answer import CANDIDATES, CHOICES, answer_from
from knowledge_base.confidence import DEFAULT_MODEL
from knowledge_base.index import KnowledgeBaseIndex
from nlu.parse import FALLBACK_INTENT
from nlu.training_data import read_training_data

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = REPO / "benchmarks/data/demo_kb_questions.csv"
OOS = REPO.parent / "shared/datasets/clinc150/val.csv"
THRESHOLDS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
CLARIFY_THRESHOLDS = (None, 0.3, 0.2, 0.1, 0.05)


@dataclass(frozen=True)
class Asked:
    intent: str  # as the NLU parsed the message
    from_kb: bool  # the engine answers the intent from the knowledge base
    confidence: float  # of the best article (0 without one)
    article: str | None  # the best passage's article
    right: frozenset[str]  # articles that answer it (none for an out-of-domain query)
    choices: tuple[str, ...] = ()  # the best articles, as offered when the bot is unsure


def asked(
    settings: Settings, kb: KnowledgeBaseIndex, rows: list[tuple[str, set[str]]]
) -> list[Asked]:
    model = model_recipe(settings).load()
    parses = model.parse_many([text for text, _ in rows])
    result = []
    for (text, right), parse in zip(rows, parses, strict=True):
        offered = kb.search(text, k=CHOICES, distinct_articles=True)  # one search for both
        answer = answer_from(text, offered[:CANDIDATES], 0.0, DEFAULT_MODEL)
        result.append(
            Asked(
                parse.intent.name,
                route_for(settings, parse.intent.name) == "knowledge_base",
                answer.confidence if answer else 0.0,
                answer.citations[0].article_id if answer else None,
                frozenset(right),
                tuple(p.chunk.article.id for p in offered),
            )
        )
    return result


def rates(
    questions: list[Asked], outside: list[Asked], at: KnowledgeBaseSettings
) -> dict[str, Any]:
    def answers(a: Asked) -> bool:
        return a.from_kb and a.article is not None and a.confidence >= at.threshold_for(a.intent)

    def asks(a: Asked) -> bool:
        unsure = a.from_kb and a.article is not None and not answers(a)
        return unsure and at.clarify_threshold is not None and a.confidence >= at.clarify_threshold

    answered = [a for a in questions if answers(a)]
    right = sum(a.article in a.right for a in answered)
    strays = sum(answers(a) for a in outside)
    total = len(answered) + strays
    clarified = [a for a in questions if asks(a)]
    offered_right = sum(bool(a.right & set(a.choices)) for a in clarified)
    return {
        "answer_threshold": at.answer_threshold,
        "answer_threshold_in_scope": at.answer_threshold_in_scope,
        "coverage": round(right / len(questions), 3),
        "answered": len(answered),
        "wrong_answer_rate": round((total - right) / total, 3) if total else 0.0,
        "abstain_recall": round(1 - strays / len(outside), 3) if outside else None,
        "clarify_threshold": at.clarify_threshold,
        "clarified": len(clarified),
        "clarified_right_offered": offered_right,
        "out_of_domain_clarified": sum(asks(a) for a in outside),
        "answered_or_offered": round((right + offered_right) / len(questions), 3),
    }


def read_questions(path: Path) -> list[tuple[str, set[str]]]:
    with path.open(newline="", encoding="utf-8") as file:
        return [(row["text"], set(row["articles"].split(";"))) for row in csv.DictReader(file)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yml")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="CSV text,articles")
    parser.add_argument("--oos", type=Path, default=OOS, help="CSV text,label; `oos` rows used")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = load_settings(args.config)
    kb, errors = build_kb(settings, kb_encoder(settings), use_cache=False)
    if errors:
        raise SystemExit(f"knowledge base: {errors}")
    rows = read_questions(args.questions)
    unknown = {a for _, right in rows for a in right} - set(kb.articles)
    if unknown:
        raise SystemExit(f"{args.questions}: no such articles in the knowledge base: {unknown}")
    oos = read_training_data(args.oos).examples if args.oos.exists() else []
    everything = asked(settings, kb, rows + [(e.text, set()) for e in oos if e.intent == "oos"])
    questions, outside = everything[: len(rows)], everything[len(rows) :]
    configured = settings.knowledge_base

    def at(fallback: float, in_scope: float) -> dict[str, Any]:
        pair = configured.model_copy(
            update={"answer_threshold": fallback, "answer_threshold_in_scope": in_scope}
        )
        return rates(questions, outside, pair)

    result = {
        "questions": len(questions),
        "out_of_domain": len(outside),
        "routed_elsewhere": sum(not a.from_kb for a in questions),
        "fell_back": sum(a.intent == FALLBACK_INTENT for a in questions),
        "top_article_right": round(
            sum(a.article in a.right for a in questions) / len(questions), 3
        ),
        "configured": rates(questions, outside, configured),
        "by_in_scope_threshold": [at(configured.answer_threshold, t) for t in THRESHOLDS],
        "one_threshold": [at(t, t) for t in THRESHOLDS],
        "by_clarify_threshold": [
            rates(questions, outside, configured.model_copy(update={"clarify_threshold": t}))
            for t in CLARIFY_THRESHOLDS
        ],
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
