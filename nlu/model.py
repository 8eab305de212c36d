"""A trained NLU model: train, save with a versioned fingerprint, load, parse messages."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nlu.classifier import ClassifierConfig, IntentClassifier
from nlu.encoder import Encoder, Vectors
from nlu.entities import Entity, EntityExtractor
from nlu.language import detect_language
from nlu.parse import FALLBACK_INTENT, IntentScore, Parse
from nlu.sentiment import SentimentAnalyzer
from nlu.training_data import TrainingData

FORMAT_VERSION = 1
METADATA = "metadata.json"
WEIGHTS = "classifier.npz"
DATA = "training_data.json"
RANKING_SIZE = 10
Progress = Callable[[int, int], None]

# Rasa's direct trigger: /intent_name or /intent_name{"entity": "value"}
_TRIGGER = re.compile(r"^/(?P<intent>[A-Za-z0-9_\-]+)(?P<entities>\{.*\})?\s*$", re.DOTALL)


class ModelMismatchError(RuntimeError):
    """The saved model was trained with another configuration than the one asked for."""


@dataclass(frozen=True)
class NLUConfig:
    encoder: str
    confidence_threshold: float = 0.45
    language: str = "en"
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)

    def fingerprint(self) -> str:
        """What the trained weights depend on (the threshold is applied at parse time)."""
        body = {"encoder": self.encoder, "classifier": self.classifier.as_dict()}
        return _sha256(json.dumps(body, sort_keys=True).encode())


def data_fingerprint(data: TrainingData) -> str:
    body = [(e.text, e.intent) for e in data.examples]
    extra = [data.synonyms, data.regexes, data.lookups]
    return _sha256(json.dumps([body, extra], sort_keys=True).encode())


class NLUModel:
    def __init__(
        self,
        config: NLUConfig,
        encoder: Encoder,
        classifier: IntentClassifier,
        data: TrainingData,
        metadata: dict[str, Any],
    ) -> None:
        self.config = config
        self.metadata = metadata
        self._encoder = encoder
        self._classifier = classifier
        self._entities = EntityExtractor(data, config.language)
        self._sentiment = SentimentAnalyzer()
        self.intents = set(classifier.labels)

    @classmethod
    def train(
        cls,
        data: TrainingData,
        config: NLUConfig,
        encoder: Encoder,
        progress: Progress | None = None,
    ) -> NLUModel:
        texts = [e.text for e in data.examples]
        vectors = encode_in_batches(encoder, texts, progress)
        classifier = IntentClassifier.fit(
            vectors, [e.intent for e in data.examples], config.classifier
        )
        metadata = {
            "format_version": FORMAT_VERSION,
            "trained_at": datetime.now(UTC).isoformat(),
            "config_fingerprint": config.fingerprint(),
            "data_fingerprint": data_fingerprint(data),
            "encoder": config.encoder,
            "classifier": config.classifier.as_dict(),
            "intents": classifier.labels,
            "examples": len(texts),
        }
        return cls(config, encoder, classifier, data, metadata)

    def save(self, directory: Path, data: TrainingData) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._classifier.save(directory / WEIGHTS)
        rules = {"synonyms": data.synonyms, "regexes": data.regexes, "lookups": data.lookups}
        (directory / DATA).write_text(json.dumps(rules, indent=1), encoding="utf-8")
        (directory / METADATA).write_text(json.dumps(self.metadata, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, config: NLUConfig, encoder: Encoder) -> NLUModel:
        metadata = read_metadata(directory)
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ModelMismatchError(
                f"{directory}: model format {metadata.get('format_version')} is not "
                f"{FORMAT_VERSION}; retrain with `helpline train`"
            )
        if metadata.get("config_fingerprint") != config.fingerprint():
            raise ModelMismatchError(
                f"{directory}: the model was trained with encoder {metadata.get('encoder')!r} "
                f"and classifier {metadata.get('classifier')}, but the configuration asks for "
                f"encoder {config.encoder!r} and classifier {config.classifier.as_dict()}; "
                "retrain with `helpline train`"
            )
        rules = json.loads((directory / DATA).read_text(encoding="utf-8"))
        data = TrainingData(
            synonyms=rules["synonyms"], regexes=rules["regexes"], lookups=rules["lookups"]
        )
        return cls(config, encoder, IntentClassifier.load(directory / WEIGHTS), data, metadata)

    def parse(self, text: str) -> Parse:
        return self.parse_many([text])[0]

    def parse_many(self, texts: list[str]) -> list[Parse]:
        """Parse a batch of messages with one encoder call."""
        free = [t for t in texts if _TRIGGER.match(t) is None]
        scores = self._classifier.predict(self._encoder.encode(free)) if free else None
        results, row = [], 0
        for text in texts:
            trigger = _TRIGGER.match(text)
            if trigger is not None:
                results.append(self._triggered(text, trigger))
                continue
            assert scores is not None  # every free text was encoded above
            results.append(self._classified(text, scores[row]))
            row += 1
        return results

    def _classified(self, text: str, probabilities: np.ndarray[Any, Any]) -> Parse:
        order = np.argsort(-probabilities)[:RANKING_SIZE]
        ranking = [IntentScore(self._classifier.labels[i], float(probabilities[i])) for i in order]
        top = ranking[0]
        if top.confidence < self.config.confidence_threshold:
            top = IntentScore(FALLBACK_INTENT, self.config.confidence_threshold)
        return self._annotated(text, top, ranking, self._entities.extract(text))

    def _triggered(self, text: str, trigger: re.Match[str]) -> Parse:
        intent = IntentScore(trigger.group("intent"), 1.0)
        entities = []
        if trigger.group("entities"):
            try:
                values = json.loads(trigger.group("entities"))
            except json.JSONDecodeError:
                values = {}
            if isinstance(values, dict):
                entities = [
                    Entity(str(k), str(v), 0, len(text), "direct") for k, v in values.items()
                ]
        return self._annotated(text, intent, [intent], entities)

    def _annotated(
        self, text: str, top: IntentScore, ranking: list[IntentScore], entities: list[Entity]
    ) -> Parse:
        return Parse(
            text=text,
            intent=top,
            intent_ranking=ranking,
            entities=entities,
            sentiment=self._sentiment.analyze(text),
            language=detect_language(text, self.config.language),
        )


def encode_in_batches(
    encoder: Encoder, texts: list[str], progress: Progress | None = None, batch: int = 256
) -> Vectors:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(encoder.encode(texts[start : start + batch]))
        if progress is not None:
            progress(min(start + batch, len(texts)), len(texts))
    return np.vstack(parts)


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA
    if not path.is_file():
        raise FileNotFoundError(f"no trained NLU model in {directory}; run `helpline train`")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
