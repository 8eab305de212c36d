"""Property-based fuzzing of every parser, as a standalone run: the tests under tests/fuzz with
more examples, and a count per parser of the inputs tried and of the undeclared errors.

    python benchmarks/fuzz.py --examples N [--json] [--only rest widget ...]

Each property draws N examples (hypothesis, derandomized: the same inputs on every run); the
counts include the examples hypothesis replays while shrinking a failure. An undeclared error is
an input that got something other than the parser's declared errors: a 500 or a non-error body
on HTTP, a dropped socket or a frame without type/code/message on the widget, an exception that
is not TrainingDataError / ConfigError / a "file: reason" report for the files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MODULES = {
    "rest": "test_rest_webhook.py",
    "widget": "test_widget_frames.py",
    "telegram": "test_telegram_updates.py",
    "training_data": "test_training_data.py",
    "kb_import": "test_kb_files.py",
    "config": "test_settings_file.py",
}


def run(examples: int, only: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "fuzz.json"
        env = dict(
            os.environ,
            HELPLINE_FUZZ_EXAMPLES=str(examples),
            HELPLINE_FUZZ_REPORT=str(report),
            HF_HUB_OFFLINE="1",
        )
        targets = [f"tests/fuzz/{MODULES[name]}" for name in only]
        started = time.perf_counter()
        done = subprocess.run(  # noqa: S603 (this interpreter running pytest on fixed paths)
            [sys.executable, "-m", "pytest", *targets, "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - started
        counts = json.loads(report.read_text()) if report.exists() else {}
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    return {
        "examples_per_property": examples,
        "parsers": {name: counts.get(name, {"inputs": 0, "undeclared_errors": 0}) for name in only},
        "undeclared_errors": sum(c["undeclared_errors"] for c in counts.values()),
        "tests_passed": done.returncode == 0,
        "pytest": summary,
        "seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per property")
    parser.add_argument("--only", nargs="+", choices=sorted(MODULES), default=list(MODULES))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(args.examples, args.only)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, count in result["parsers"].items():
        print(
            f"{name:14} {count['inputs']:7} inputs  {count['undeclared_errors']} undeclared errors"
        )
    print(f"{result['pytest']} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
