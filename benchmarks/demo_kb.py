"""How often the demo shop's bot answers its customers' questions from its knowledge base, and
how often it is wrong, by answer threshold.

    python benchmarks/demo_kb.py --json [--config config.yml] [--oos FILE.csv]

The questions are the demo training data's examples (data/nlu.yml) of the intents the bot
answers from the knowledge base; an answer is right when its article is one listed for the
question's intent in ACCEPTED (the articles a person would cite for that topic). Labels by
intent, not by question, make this a lower bound: an answer from another article that a person
would accept for that one question counts as wrong. Out-of-domain queries
are CLINC150's out-of-scope validation rows (label `oos`): the bot must not answer them. Answers
are drafted as the engine drafts them (knowledge_base.answer.draft_answer). Per threshold:
`coverage`, the share of questions answered with a right article; `wrong_answer_rate`, the share
of answers that are wrong (a wrong article, or any answer to an out-of-domain query);
`abstain_recall`, the share of out-of-domain queries left unanswered. `configured` is the row
of config.yml's knowledge_base.answer_threshold."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bot.components import build_kb, settings_encoder
from bot.settings import load_settings
from knowledge_base.answer import draft_answer
from knowledge_base.index import KnowledgeBaseIndex
from nlu.training_data import read_training_data

REPO = Path(__file__).resolve().parents[1]
OOS = REPO.parent / "shared/datasets/clinc150/val.csv"
ACCEPTED = {
    "order_status": {"order-tracking", "changing-or-cancelling-an-order"},
    "shipping_info": {"shipping-times-and-costs", "international-shipping-and-customs"},
    "returns_info": {"how-to-return-an-item", "returns-policy", "refunds"},
    "payment_methods": {"payment-methods", "gift-cards", "invoices-and-vat"},
    "account_help": {
        "account-and-password-reset",
        "login-and-website-problems",
        "privacy-and-data-deletion",
    },
    "product_info": {
        "caring-for-waterproof-jackets",
        "size-guide",
        "sustainability-and-materials",
        "warranty-and-repairs",
        "pre-orders-and-back-in-stock-alerts",
    },
}
THRESHOLDS = (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
Drafted = tuple[float, str | None]  # the confidence, and the article of the best passage


def drafted(text: str, kb: KnowledgeBaseIndex) -> Drafted:
    answer = draft_answer(text, kb, 0.0)
    if answer is None:
        return 0.0, None
    return answer.confidence, answer.citations[0].article_id


def rates(
    questions: list[tuple[str, Drafted]], outside: list[Drafted], at: float
) -> dict[str, Any]:
    answered = [(intent, article) for intent, (p, article) in questions if p >= at]
    right = sum(article in ACCEPTED[intent] for intent, article in answered)
    strays = sum(p >= at for p, _ in outside)
    answers = len(answered) + strays
    return {
        "threshold": at,
        "coverage": round(right / len(questions), 3),
        "wrong_answer_rate": round((answers - right) / answers, 3) if answers else 0.0,
        "abstain_recall": round(1 - strays / len(outside), 3) if outside else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=REPO / "config.yml")
    parser.add_argument("--oos", type=Path, default=OOS, help="CSV text,label; `oos` rows used")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    settings = load_settings(args.config)
    kb, errors = build_kb(settings, settings_encoder(settings), use_cache=False)
    if errors:
        raise SystemExit(f"knowledge base: {errors}")
    data = read_training_data(settings.resolve(settings.nlu.training_data))
    questions = [(e.intent, drafted(e.text, kb)) for e in data.examples if e.intent in ACCEPTED]
    oos = read_training_data(args.oos).examples if args.oos.exists() else []
    outside = [drafted(e.text, kb) for e in oos if e.intent == "oos"]
    configured = settings.knowledge_base.answer_threshold
    result = {
        "questions": len(questions),
        "out_of_domain": len(outside),
        "top_article_right": round(
            sum(a in ACCEPTED[i] for i, (_, a) in questions) / len(questions), 3
        ),
        "configured": rates(questions, outside, configured),
        "by_threshold": [rates(questions, outside, t) for t in THRESHOLDS],
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
