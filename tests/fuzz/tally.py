"""Counts what each fuzzed parser received, for the standalone run (benchmarks/fuzz.py).

A property records every input it tries with `outcome(parser, declared)`; undeclared errors are
the inputs that produced something other than the parser's declared errors (a 500, a dropped
socket, an exception of another type). The property still fails on those; the count is what the
standalone run reports."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

import hypothesis
from hypothesis import HealthCheck

EXAMPLES = int(os.environ.get("HELPLINE_FUZZ_EXAMPLES", "200"))
REPORT = os.environ.get("HELPLINE_FUZZ_REPORT")  # where the session's counts are written

# Deterministic: the same inputs on every run and no example database, so CI is stable.
fuzz = hypothesis.settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one app per test, shared by its examples
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

_counts: dict[str, dict[str, int]] = defaultdict(lambda: {"inputs": 0, "undeclared_errors": 0})


def outcome(parser: str, *, declared: bool) -> None:
    """Count one input to `parser`; `declared` is False when it produced an undeclared error."""
    _counts[parser]["inputs"] += 1
    if not declared:
        _counts[parser]["undeclared_errors"] += 1


def write_report() -> None:
    if REPORT:
        Path(REPORT).write_text(json.dumps(dict(_counts), indent=2, sort_keys=True))
