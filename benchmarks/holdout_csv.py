"""Write a training file's held-out split as two CSV files (`text,label`), for the load clients
that take a CSV (rest_load.py, parse_load.py) and for `helpline train` on the training part.

    python benchmarks/holdout_csv.py DATA --out DIR [--holdout 0.2] [--drop LABEL ...]

DATA is Rasa YAML or CSV. The split is `helpline nlu evaluate`'s and benchmarks/nlu.py's: each
intent's examples, a fraction held out with the same seed (so BANKING77's `test.csv` is the
held-out fifth of benchmarks/nlu.py). Writes DIR/train.csv and DIR/test.csv, prints the counts.
Texts are written as the NLU reads them: entity annotations become plain text. `--drop` leaves
labels out of both files after the split: the demo's hand-off intents, say, so that every
message of a load run gets the bot's reply rather than a person's silence."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlu.evaluate import split_holdout
from nlu.training_data import Example, read_training_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="training data (Rasa YAML or CSV)")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.csv, test.csv")
    parser.add_argument("--holdout", type=float, default=0.2, help="share held out per intent")
    parser.add_argument("--drop", nargs="*", default=[], help="labels to leave out")
    args = parser.parse_args()
    train, test = split_holdout(read_training_data(args.data), args.holdout)
    args.out.mkdir(parents=True, exist_ok=True)
    dropped = set(args.drop)
    counts = {
        name: _write([e for e in part.examples if e.intent not in dropped], args.out / name)
        for name, part in (("train.csv", train), ("test.csv", test))
    }
    print(json.dumps(counts))


def _write(examples: list[Example], path: Path) -> int:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["text", "label"])
        writer.writerows((e.text, e.intent) for e in examples)
    return len(examples)


if __name__ == "__main__":
    main()
