"""The encoder options every benchmark takes: `--runtime` and `--threads`, by default the
encoder and runtime of the project's config.yml."""

from __future__ import annotations

import argparse
import typing
from pathlib import Path

from bot.settings import load_settings
from nlu.encoder import Encoder, Runtime, load_encoder, set_threads

CONFIGURED = load_settings(Path(__file__).resolve().parents[1] / "config.yml").nlu


def add_encoder_options(parser: argparse.ArgumentParser) -> None:
    runtime = CONFIGURED.encoder_runtime
    parser.add_argument(
        "--runtime",
        choices=typing.get_args(Runtime),
        default=runtime,
        help=f"encoder runtime (default: {runtime}, as config.yml)",
    )
    parser.add_argument("--threads", type=int, default=0, help="encoder CPU threads (0: default)")


def encoder_from(args: argparse.Namespace, name: str = CONFIGURED.encoder) -> Encoder:
    set_threads(args.threads)
    return load_encoder(name, args.runtime, args.threads)
