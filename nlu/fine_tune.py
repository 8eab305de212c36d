"""Fine-tuning the sentence encoder on a bot's intents, so that its vectors tell them apart.

The frozen all-MiniLM-L6-v2 was trained to place sentences of like meaning together, not to
separate "card not arrived" from "card not working". A few epochs of training on the bot's own
examples (a cosine-softmax over the intents, the word embeddings kept as they ship) move each
intent's messages closer to one another and away from the others. It pays most with few
examples per intent. The tuned copy is a sentence-transformers folder saved with the NLU model.
The knowledge base searches with it too (one encoding a message): on the demo shop its best
article was right more often than with the shipped encoder, and StackFAQ, far from the
intents, ranked within a point of it (README "Knowledge base").
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlu.encoder import Encoder, LazyEncoder, Runtime, encoder_name, load_encoder, model_path

Progress = Callable[[int, int], None]
ENCODER_FOLDER = "encoder"  # in the model folder: the tuned sentence-transformers model
EXPORT_FOLDER = "encoder-onnx"  # beside it: its ONNX export, when the runtime is ONNX
SCALE = 20.0  # cosine-softmax temperature: logits are 20 x the cosine to each intent's weight
HEAD_LEARNING_RATE = 1e-2
WARMUP = 0.1  # share of the steps over which the learning rate rises to its value
LENGTH_BUCKET = 16  # batches are cut from runs of 16 batches' worth sorted by length


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: float = 0.0  # 0: the encoder as it ships
    learning_rate: float = 1e-4
    batch_size: int = 32
    seed: int = 13

    def as_dict(self) -> dict[str, float | int]:
        return {
            "epochs": self.epochs,
            "learning_rate": self.learning_rate,
            "batch_size": self.batch_size,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class EncoderTuner:
    """Makes and loads tuned copies of the base encoder `base` (a package or folder), run on
    `runtime` with `threads` threads like the base one."""

    base: str
    runtime: Runtime
    config: FineTuneConfig
    threads: int = 0

    def tune(
        self,
        texts: list[str],
        labels: list[str],
        folder: Path,
        progress: Progress | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Encoder:
        """Fine-tune on `texts` and their `labels`, save the model into `folder`, load it;
        `names`: label -> words its weights start from (the others start at random)."""
        target = folder / ENCODER_FOLDER
        fine_tune(model_path(self.base), texts, labels, self.config, target, progress, names=names)
        return self.load(folder)

    def load(self, folder: Path) -> Encoder:
        """The tuned encoder saved in the model folder `folder`, loaded on its first use. Its
        name changes with each training (vectors cached under the name stay with their
        weights)."""
        path = str(folder / ENCODER_FOLDER)
        export = folder / EXPORT_FOLDER
        return LazyEncoder(
            encoder_name(f"{path}#{_written(folder / ENCODER_FOLDER)}", self.runtime),
            lambda: load_encoder(path, self.runtime, self.threads, export),
        )


def _written(folder: Path) -> str:
    """When the files of `folder` were last written (each training writes them anew)."""
    return f"{max(p.stat().st_mtime_ns for p in folder.rglob('*') if p.is_file()):x}"


def is_tuned(folder: Path) -> bool:
    return (folder / ENCODER_FOLDER).is_dir()


def fine_tune(  # noqa: PLR0917 (the data, the recipe and where to put it)
    base: Path,
    texts: list[str],
    labels: list[str],
    config: FineTuneConfig,
    target: Path,
    progress: Progress | None = None,
    *,
    names: Mapping[str, str] | None = None,
) -> None:
    """Train a copy of the sentence-transformers model at `base` and save it to `target`."""
    import torch  # noqa: PLC0415 (heavy import, only to train)
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415
    from transformers.utils import logging as hf_logging  # noqa: PLC0415

    if config.epochs <= 0:
        raise ValueError("fine-tuning needs more than 0 epochs")
    if len(set(labels)) < 2:
        raise ValueError("fine-tuning needs at least two intents")
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)  # noqa: S311 (a reproducible shuffle, not a secret)
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]  # untyped in transformers
    model = SentenceTransformer(str(base), device="cpu")
    transformer: Any = model[0].auto_model  # a transformers PreTrainedModel
    transformer.get_input_embeddings().weight.requires_grad_(False)
    intents = {label: i for i, label in enumerate(sorted(set(labels)))}
    targets = [intents[label] for label in labels]
    head = torch.nn.Linear(model.get_embedding_dimension() or 384, len(intents))
    if names:
        _start_from_names(model, head, intents, names)
    encoder_params = [p for p in transformer.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [
            {"params": encoder_params, "lr": config.learning_rate},
            {"params": head.parameters(), "lr": HEAD_LEARNING_RATE},
        ],
        weight_decay=0.01,
    )
    steps = max(1, round(len(texts) / config.batch_size * config.epochs))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / (WARMUP * steps)) * (steps - step) / steps
    )
    epochs = itertools.chain.from_iterable(
        _batches(texts, config.batch_size, rng) for _ in itertools.count()
    )
    model.train()
    for step, batch in enumerate(itertools.islice(epochs, steps), start=1):
        features = model.preprocess([texts[i] for i in batch])
        vectors = model(features)["sentence_embedding"]
        logits = SCALE * torch.nn.functional.linear(
            torch.nn.functional.normalize(vectors, dim=-1),
            torch.nn.functional.normalize(head.weight, dim=-1),
        )
        loss = torch.nn.functional.cross_entropy(logits, torch.tensor([targets[i] for i in batch]))
        optimiser.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]  # untyped in torch
        optimiser.step()
        schedule.step()
        if progress is not None:
            progress(step, steps)
    model.eval()
    model.save(str(target), create_model_card=False)


def _start_from_names(
    model: Any, head: Any, intents: dict[str, int], names: Mapping[str, str]
) -> None:
    """The weights of each intent in `names` start as the vector of its words there (named
    intents are told apart from the first step: README "Measured")."""
    import torch  # noqa: PLC0415 (heavy import, only to train)

    named = {intents[label]: words for label, words in names.items() if label in intents}
    if not named:
        return
    vectors = model.encode(list(named.values()), convert_to_tensor=True, normalize_embeddings=True)
    with torch.no_grad():
        head.weight[list(named)] = vectors


def _batches(texts: list[str], size: int, rng: random.Random) -> list[list[int]]:
    """One epoch's batches in random order, each of texts of about the same length (less
    padding: a third less time than random batches)."""
    order = list(range(len(texts)))
    rng.shuffle(order)
    run = size * LENGTH_BUCKET
    batches: list[list[int]] = []
    for start in range(0, len(order), run):
        by_length = sorted(order[start : start + run], key=lambda i: len(texts[i]))
        batches.extend(by_length[i : i + size] for i in range(0, len(by_length), size))
    rng.shuffle(batches)
    return batches
