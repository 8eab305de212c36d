"""A trained NLU model: train, save with a versioned fingerprint, load, parse messages."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from nlu.classifier import ClassifierConfig
from nlu.encoder import Encoder, Vectors
from nlu.entities import Entity, EntityExtractor
from nlu.fine_tune import ENCODER_FOLDER, EXPORT_FOLDER, EncoderTuner, FineTuneConfig, is_tuned
from nlu.folds import holdout_indices
from nlu.intent_names import name_examples, names_of
from nlu.language import detect_language
from nlu.out_of_scope import scrambled
from nlu.parse import FALLBACK_INTENT, TRIGGER, IntentScore, Parse, is_trigger
from nlu.scorer import Calibration, IntentScorer, calibrate
from nlu.self_training import SelfTrainingConfig, pseudo_labelled
from nlu.sentiment import SentimentAnalyzer, SentimentBands
from nlu.spacy_ner import StatisticalEntities
from nlu.training_data import Example, TrainingData

FORMAT_VERSION = 2
METADATA = "metadata.json"
DATA = "training_data.json"
RANKING_SIZE = 10
WARM_UP = "Hello, where is my order 12345 to Amsterdam?"  # parsed by `warm`: every part runs
# Fallback also learns from scrambled copies of held-out examples: a quarter as many as
# those examples, but at least ten (or all of them) so small data sets see some gibberish.
GIBBERISH_SHARE = 4
GIBBERISH_AT_LEAST = 10
Progress = Callable[[int, int], None]


class ModelMismatchError(RuntimeError):
    """The saved model was trained with another configuration than the one asked for."""


@dataclass(frozen=True)
class NLUConfig:
    encoder: str
    confidence_threshold: float = 0.45
    language: str = "en"
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    fine_tune: FineTuneConfig = field(default_factory=FineTuneConfig)
    validation_fraction: float = 0.1  # of each intent's examples, held out to calibrate fallback
    intent_names: bool = True  # each intent's name in words is one more example (nlu.intent_names)
    self_training: SelfTrainingConfig = field(default_factory=SelfTrainingConfig)
    # An installed spaCy pipeline package whose NER adds entities at parse time ("" for none);
    # like the threshold it is not part of the trained weights, so not of the fingerprint.
    spacy_model: str = ""
    sentiment: SentimentBands = field(default_factory=SentimentBands)  # applied at parse time

    def trained_with(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "classifier": self.classifier.as_dict(),
            "fine_tune": self.fine_tune.as_dict(),
            "validation_fraction": self.validation_fraction,
            "intent_names": self.intent_names,
            "self_training": self.self_training.as_dict(),
        }

    def fingerprint(self) -> str:
        """What the trained weights depend on (the threshold is applied at parse time)."""
        return _sha256(json.dumps(self.trained_with(), sort_keys=True).encode())


def data_fingerprint(data: TrainingData) -> str:
    body = [(e.text, e.intent) for e in data.examples]
    extra = [data.synonyms, data.regexes, data.lookups]
    if data.unlabelled:  # without any, the fingerprint of data read before they existed
        extra.append(data.unlabelled)
    return _sha256(json.dumps([body, extra], sort_keys=True).encode())


class NLUModel:
    def __init__(  # noqa: PLR0917 (the parts of a model)
        self,
        config: NLUConfig,
        encoder: Encoder,
        scorer: IntentScorer,
        data: TrainingData,
        metadata: dict[str, Any],
        tuned: Encoder | None = None,
    ) -> None:
        self.config = config
        self.metadata = metadata
        self._encoder = encoder
        self._tuned = tuned  # the fine-tuned copy that gives the intent vectors, if any
        self._tuned_folder: Path | None = None  # a newly trained one's files, until it is gone
        self._scorer = scorer
        statistical = StatisticalEntities(config.spacy_model) if config.spacy_model else None
        self._entities = EntityExtractor(data, config.language, statistical)
        self._sentiment = SentimentAnalyzer(config.sentiment)
        self.intents = set(scorer.classifier.labels)

    @classmethod
    def train(  # noqa: PLR0917 (bot/cli and nlu/evaluate pass them positionally)
        cls,
        data: TrainingData,
        config: NLUConfig,
        encoder: Encoder,
        progress: Progress | None = None,
        oos_label: str | None = None,
        tuner: EncoderTuner | None = None,
    ) -> NLUModel:
        """Fit the classifier and calibrate fallback; `oos_label` marks out-of-scope examples.
        With `config.fine_tune` epochs, `tuner` first fine-tunes the encoder on the examples
        not held out for calibration (so that fallback learns from messages it has not seen),
        and on the out-of-scope examples as one more class, which teaches the encoder to set
        such messages apart (CLINC150 at threshold 0.1, README: out-of-scope recall 81 -> 85%).
        With `data.unlabelled` messages, each of `config.self_training.rounds` labels those the
        model is surest of and trains again with them as examples (nlu.self_training)."""
        rounds = config.self_training.rounds if data.unlabelled else 0
        labelled = {e.text for e in data.examples}
        unlabelled = [
            t for t in dict.fromkeys(data.unlabelled) if t not in labelled and not is_trigger(t)
        ]
        parts = 1 + 2 * rounds  # the first training, then a labelling and a training a round
        model = cls._fit(data, config, encoder, _share(progress, 0, parts), oos_label, tuner)
        again = tuner and replace(
            tuner, config=replace(tuner.config, epochs=config.self_training.epochs)
        )
        pseudo: list[Example] = []
        for done in range(rounds):
            pseudo = model.pseudo_labelled(unlabelled, _share(progress, 2 * done + 1, parts))
            more = replace(data, examples=data.examples + pseudo)
            model = cls._fit(
                more, config, encoder, _share(progress, 2 * done + 2, parts), oos_label, again
            )
        model.metadata.update(  # of the data as given, the messages labelled apart
            data_fingerprint=data_fingerprint(data),
            examples=sum(e.intent != oos_label for e in data.examples),
            pseudo_labelled_examples=len(pseudo),
            unlabelled_messages=len(data.unlabelled),
        )
        return model

    def pseudo_labelled(self, texts: list[str], progress: Progress | None = None) -> list[Example]:
        """Of `texts`, those the model is surest of for each intent, as its examples."""
        if not texts:
            return []
        vectors = encode_in_batches(self.intent_encoder, texts, progress)
        probabilities, confidence = self._scorer.score(vectors, texts)
        return pseudo_labelled(
            texts,
            probabilities,
            confidence,
            self._scorer.classifier.labels,
            self.config.self_training,
            threshold=self.config.confidence_threshold,
        )

    @classmethod
    def _fit(  # noqa: PLR0917 (one training: the steps share their data)
        cls,
        data: TrainingData,
        config: NLUConfig,
        encoder: Encoder,
        progress: Progress | None,
        oos_label: str | None,
        tuner: EncoderTuner | None,
    ) -> NLUModel:
        in_scope = [e for e in data.examples if e.intent != oos_label]
        texts, intents = [e.text for e in in_scope], [e.intent for e in in_scope]
        out_of_scope = [e.text for e in data.examples if e.intent == oos_label]
        kept, held = holdout_indices(intents, config.validation_fraction)
        names = names_of(intents) if config.intent_names else {}
        named = name_examples(names, texts)
        examples_kept = len(kept)
        kept += range(len(texts), len(texts) + len(named))  # trained on, never held out
        texts, intents = texts + list(named), intents + list(named.values())
        gibberish = scrambled([texts[i] for i in _spread(held, _gibberish_count(len(held)))])
        negatives = out_of_scope + gibberish
        stages = _Stages(progress, len(texts) + len(negatives))
        folder, tuned, tuned_on = None, None, {}
        if config.fine_tune.epochs > 0:
            if tuner is None:
                raise ValueError("nlu.fine_tune needs the base encoder's files: pass a tuner")
            folder = Path(tempfile.mkdtemp(prefix="helpline-encoder-"))
            tune_texts = [texts[i] for i in kept] + out_of_scope
            tune_labels = [intents[i] for i in kept] + [str(oos_label)] * len(out_of_scope)
            # Out-of-scope examples have no name to start from: the named intents crowd them
            # out (nlu.intent_names), so then every intent starts at random.
            starts = None if out_of_scope else names
            tuned = tuner.tune(tune_texts, tune_labels, folder, stages.tuned, starts)
            tuned_on = {"examples": examples_kept, "out_of_scope_examples": len(out_of_scope)}
        vectors = encode_in_batches(tuned or encoder, texts + negatives, stages.encoded)
        known = vectors[: len(texts)]
        detector = calibrate(
            (known[kept], [texts[i] for i in kept], [intents[i] for i in kept]),
            (known[held], [texts[i] for i in held], [intents[i] for i in held]),
            Calibration(vectors[len(texts) :], negatives, [False] * len(negatives)),
            config.classifier,
        )
        stages.fitted()
        scorer = IntentScorer.fit(known, texts, intents, config.classifier, detector)
        stages.fitted()
        metadata = {
            "format_version": FORMAT_VERSION,
            "trained_at": datetime.now(UTC).isoformat(),
            "config_fingerprint": config.fingerprint(),
            "data_fingerprint": data_fingerprint(data),
            **config.trained_with(),
            "intents": scorer.classifier.labels,
            "examples": len(in_scope),
            "intent_name_examples": len(named),
            "out_of_scope_examples": len(out_of_scope),
            "oos_label": oos_label,
            "fallback_calibrated": detector.calibrated,
            "fine_tuned_on": tuned_on,
        }
        model = cls(config, encoder, scorer, data, metadata, tuned)
        if folder is not None:
            model._tuned_folder = folder
            weakref.finalize(model, shutil.rmtree, folder, ignore_errors=True)
        return model

    def save(self, directory: Path, data: TrainingData) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._scorer.save(directory)
        rules = {"synonyms": data.synonyms, "regexes": data.regexes, "lookups": data.lookups}
        (directory / DATA).write_text(json.dumps(rules, indent=1), encoding="utf-8")
        for part in (ENCODER_FOLDER, EXPORT_FOLDER):  # a tuned encoder of an earlier model goes
            shutil.rmtree(directory / part, ignore_errors=True)
            source = self._tuned_folder / part if self._tuned_folder is not None else None
            if source is not None and source.is_dir():
                shutil.copytree(source, directory / part)
        (directory / METADATA).write_text(json.dumps(self.metadata, indent=2), encoding="utf-8")

    @classmethod
    def load(
        cls,
        directory: Path,
        config: NLUConfig,
        encoder: Encoder,
        tuner: EncoderTuner | None = None,
    ) -> NLUModel:
        """The model saved in `directory`; one trained with a fine-tuned encoder needs `tuner`
        to load that encoder on the runtime of the base one."""
        metadata = read_metadata(directory)
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ModelMismatchError(
                f"{directory}: model format {metadata.get('format_version')} is not "
                f"{FORMAT_VERSION}; retrain with `helpline train`"
            )
        if metadata.get("config_fingerprint") != config.fingerprint():
            raise ModelMismatchError(
                f"{directory}: the model was trained with {_described(metadata)}, but the "
                f"configuration asks for {_described(config.trained_with())}; "
                "retrain with `helpline train`"
            )
        rules = json.loads((directory / DATA).read_text(encoding="utf-8"))
        data = TrainingData(
            synonyms=rules["synonyms"], regexes=rules["regexes"], lookups=rules["lookups"]
        )
        tuned = None
        if config.fine_tune.epochs > 0:
            if tuner is None:
                raise ValueError(f"{directory}: a fine-tuned model needs a tuner to load")
            if not is_tuned(directory):
                raise ModelMismatchError(
                    f"{directory}: the fine-tuned encoder ({ENCODER_FOLDER}/) is missing; "
                    "retrain with `helpline train`"
                )
            tuned = tuner.load(directory)
        return cls(config, encoder, IntentScorer.load(directory), data, metadata, tuned)

    def warm(self) -> None:
        """Load now what parsing loads on first use (the fine-tuned encoder, spaCy's NER) and
        run every part once, so that the first customer does not wait for it."""
        self.parse_many([WARM_UP])

    def parse(self, text: str) -> Parse:
        return self.parse_many([text])[0]

    def parse_many(self, texts: list[str]) -> list[Parse]:
        """Parse a batch of messages with one encoder call."""
        return self.parse_encoded(texts, None)

    @property
    def encoder(self) -> Encoder:
        """The base encoder, as it ships."""
        return self._encoder

    @property
    def intent_encoder(self) -> Encoder:
        """The encoder whose vectors give the intents: the fine-tuned copy of `encoder` when
        the model has one. The knowledge base searches with it too, so a message is encoded
        once."""
        return self._tuned or self._encoder

    @property
    def fine_tuned(self) -> bool:
        """Whether intents come from a fine-tuned copy of `encoder`."""
        return self._tuned is not None

    @staticmethod
    def to_encode(texts: list[str]) -> list[str]:
        """The texts whose vectors `parse_encoded` needs: all but direct intent triggers."""
        return [t for t in texts if not is_trigger(t)]

    def parse_encoded(
        self, texts: list[str], vectors: Vectors | Callable[[], Vectors] | None
    ) -> list[Parse]:
        """Parse messages whose vectors were encoded elsewhere (one row of `intent_encoder`'s
        per `to_encode(texts)` text, in order), e.g. by a batcher shared with other callers;
        with None they are encoded here. A callable gives them when they are needed, after
        the texts' entities and languages: vectors being encoded on another thread are then
        made while this one reads the texts."""
        free = self.to_encode(texts)
        languages = [detect_language(text, self.config.language) for text in free]
        entities = self._entities.extract_many(free, languages)
        scores = self._scorer.score(self._vectors(free, vectors), free) if free else None
        results, row = [], 0
        for text in texts:
            trigger = TRIGGER.match(text)
            if trigger is not None:
                results.append(self._triggered(text, trigger))
                continue
            assert scores is not None  # every free text has its row (checked above)
            ranking, confident = self._ranked(scores[0][row], float(scores[1][row]))
            results.append(self._annotated(text, confident, ranking, entities[row], languages[row]))
            row += 1
        return results

    def _vectors(self, free: list[str], vectors: Vectors | Callable[[], Vectors] | None) -> Vectors:
        given = vectors() if callable(vectors) else vectors
        if given is None:
            return self.intent_encoder.encode(free)
        if len(given) != len(free):
            raise ValueError(f"{len(free)} texts need vectors, but {len(given)} rows were given")
        return given

    def _ranked(
        self, probabilities: np.ndarray[Any, Any], confidence: float
    ) -> tuple[list[IntentScore], IntentScore]:
        """The intent ranking, and its top, or the fallback when the confidence is too low."""
        labels = self._scorer.classifier.labels
        order = np.argsort(-probabilities)[:RANKING_SIZE]
        ranking = [IntentScore(labels[i], float(probabilities[i])) for i in order]
        top = ranking[0]
        if confidence < self.config.confidence_threshold:
            top = IntentScore(FALLBACK_INTENT, self.config.confidence_threshold)
        return ranking, top

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
        language = detect_language(text, self.config.language)
        return self._annotated(text, intent, [intent], entities, language)

    def _annotated(
        self,
        text: str,
        top: IntentScore,
        ranking: list[IntentScore],
        entities: list[Entity],
        language: str,
    ) -> Parse:
        return Parse(
            text=text,
            intent=top,
            intent_ranking=ranking,
            entities=entities,
            sentiment=self._sentiment.analyze(text),
            language=language,
        )


def _spread(positions: list[int], count: int) -> list[int]:
    return positions[:: max(1, len(positions) // max(1, count))][:count]


def _gibberish_count(held: int) -> int:
    return max(held // GIBBERISH_SHARE, min(held, GIBBERISH_AT_LEAST))


class _Stages:
    """Training progress: encoding counts one step per text, each of the two fits a quarter,
    and fine-tuning (when there is any) as much as all the rest."""

    def __init__(self, progress: Progress | None, texts: int) -> None:
        self._progress = progress
        self._fit_steps = max(1, texts // 4)
        self._tuning = 0  # steps of fine-tuning, once it has started
        self._total = texts + 2 * self._fit_steps
        self._done = 0

    def tuned(self, done: int, total: int) -> None:
        if not self._tuning:
            self._tuning = self._total
            self._total *= 2
        self._report(round(done / total * self._tuning))

    def encoded(self, done: int, _total: int) -> None:
        self._report(self._tuning + done)

    def fitted(self) -> None:
        self._report(self._done + self._fit_steps)

    def _report(self, done: int) -> None:
        self._done = done
        if self._progress is not None:
            self._progress(done, self._total)


def _share(progress: Progress | None, part: int, parts: int) -> Progress | None:
    """Progress of step `part` of `parts` (each an equal share of the bar)."""
    if progress is None or parts == 1:
        return progress
    return lambda done, total: progress(part * total + done, parts * total)


def encode_in_batches(
    encoder: Encoder, texts: list[str], progress: Progress | None = None, batch: int = 256
) -> Vectors:
    parts = []
    for start in range(0, len(texts), batch):
        parts.append(encoder.encode(texts[start : start + batch]))
        if progress is not None:
            progress(min(start + batch, len(texts)), len(texts))
    return np.vstack(parts)


def _described(trained_with: dict[str, Any]) -> str:
    return (
        f"encoder {trained_with.get('encoder')!r}, fine-tuning {trained_with.get('fine_tune')}, "
        f"classifier {trained_with.get('classifier')}, "
        f"validation fraction {trained_with.get('validation_fraction')} "
        f"intent names as examples {trained_with.get('intent_names', False)} "
        f"and self-training {trained_with.get('self_training')}"
    )


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA
    if not path.is_file():
        raise FileNotFoundError(f"no trained NLU model in {directory}; run `helpline train`")
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
