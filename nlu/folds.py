"""Reproducible, per-intent stratified splits of training examples."""

from __future__ import annotations

import random


def holdout_indices(
    labels: list[str], fraction: float, seed: int = 13
) -> tuple[list[int], list[int]]:
    """(kept, held out) positions; each label keeps at least one example, order is stable."""
    rng = random.Random(seed)  # noqa: S311 (a reproducible shuffle, not a secret)
    by_label: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        by_label.setdefault(label, []).append(position)
    kept: list[int] = []
    held: list[int] = []
    for positions in by_label.values():
        shuffled = positions[:]
        rng.shuffle(shuffled)
        cut = min(len(shuffled) - 1, round(len(shuffled) * fraction))
        held.extend(shuffled[:cut])
        kept.extend(shuffled[cut:])
    return sorted(kept), sorted(held)
