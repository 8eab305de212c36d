"""Message sentiment (VADER, nlu/sentiment.py) on hand-labelled customer-support messages.

    python benchmarks/sentiment.py --json [--data FILE.csv] [--config config.yml]

The data (`text,label`, label negative | neutral | positive) was labelled by the meaning of each
message, not by any model. It is split in two fixed halves, alternating within each label: the
neutral band's bounds are tuned on the first half (best macro F1 over a grid) and every number is
reported on the second, beside VADER's own bounds and config.yml's (nlu.sentiment).
`escalation` is the call the engine acts on: a handed-off message whose label is negative
matches config.yml's priority rule `sentiments: [negative]` and raises the ticket's priority;
its precision and recall are those of the label "negative" against the messages labelled so.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from bot.settings import load_settings
from nlu.sentiment import LABELS, SentimentAnalyzer, SentimentBands

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "benchmarks/data/sentiment_support.csv"
# Candidate bounds of the neutral band: compound scores at or below the first are negative, at
# or above the second positive.
NEGATIVE_GRID = [-round(0.05 * i, 2) for i in range(1, 13)]
POSITIVE_GRID = [round(0.05 * i, 2) for i in range(1, 15)]


@dataclass(frozen=True)
class Labelled:
    text: str
    label: str


def read_labelled(path: Path) -> list[Labelled]:
    """The rows of a `text,label` CSV; an unknown label or a missing column is an error."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"text", "label"} <= set(reader.fieldnames):
            raise SystemExit(f"{path}: expected the columns text,label")
        rows = [Labelled(row["text"], row["label"]) for row in reader]
    for line, row in enumerate(rows, start=2):
        if row.label not in LABELS:
            raise SystemExit(f"{path}:{line}: label {row.label!r} is not one of {LABELS}")
    return rows


def halves(rows: list[Labelled]) -> tuple[list[Labelled], list[Labelled]]:
    """(tuning half, reporting half): alternate rows of each label go to either half."""
    seen: dict[str, int] = {}
    tune, report = [], []
    for row in rows:
        position = seen.get(row.label, 0)
        seen[row.label] = position + 1
        (tune if position % 2 == 0 else report).append(row)
    return tune, report


def scores(rows: list[Labelled], analyzer: SentimentAnalyzer) -> dict[str, Any]:
    gold = [r.label for r in rows]
    predicted = [analyzer.analyze(r.text).label for r in rows]
    precision, recall, f1, support = precision_recall_fscore_support(
        gold, predicted, labels=list(LABELS), zero_division=0
    )
    negative = LABELS.index("negative")
    return {
        "messages": len(rows),
        "accuracy": round(sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(rows), 3),
        "macro_f1": round(float(f1.mean()), 3),
        "per_class": {
            label: {
                "precision": round(float(precision[i]), 3),
                "recall": round(float(recall[i]), 3),
                "f1": round(float(f1[i]), 3),
                "support": int(support[i]),
            }
            for i, label in enumerate(LABELS)
        },
        "confusion": {
            "labels": list(LABELS),  # rows: the true label, columns: the predicted one
            "matrix": confusion_matrix(gold, predicted, labels=list(LABELS)).tolist(),
        },
        "escalation": {
            "precision": round(float(precision[negative]), 3),
            "recall": round(float(recall[negative]), 3),
        },
    }


def tuned_bands(rows: list[Labelled]) -> SentimentBands:
    """The grid's bounds with the best macro F1 on `rows` (ties: the narrowest band)."""
    candidates = [
        SentimentBands(negative_at=n, positive_at=p) for n in NEGATIVE_GRID for p in POSITIVE_GRID
    ]
    return max(
        candidates,
        key=lambda b: (
            scores(rows, SentimentAnalyzer(b))["macro_f1"],
            -(b.positive_at - b.negative_at),
        ),
    )


def configured_bands(config: Path) -> SentimentBands:
    sentiment = load_settings(config).nlu.sentiment
    return SentimentBands(sentiment.negative_at, sentiment.positive_at)


def run(path: Path, config: Path) -> dict[str, Any]:
    rows = read_labelled(path)
    tune, report = halves(rows)
    bands = {
        "vader_default": SentimentBands(),
        "configured": configured_bands(config),
        "tuned": tuned_bands(tune),
    }
    return {
        "data": str(path.relative_to(REPO) if path.is_relative_to(REPO) else path),
        "messages": {"all": len(rows), "tune_half": len(tune), "report_half": len(report)},
        "bands": {name: vars(b) for name, b in bands.items()},
        "report_half": {name: scores(report, SentimentAnalyzer(b)) for name, b in bands.items()},
        "all_messages_configured": scores(rows, SentimentAnalyzer(bands["configured"])),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--config", type=Path, default=REPO / "config.yml")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.data.resolve(), args.config)
    if args.json:
        print(json.dumps(result))
        return
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
