"""Statistical named entities from an installed spaCy pipeline package (e.g. en_core_web_sm),
reported like Rasa's SpacyEntityExtractor but with lower-case entity names."""

from __future__ import annotations

import importlib.util
import threading
from functools import lru_cache

from nlu.entities import Entity
from nlu.spacy_cpu import Language, spacy, use_ops

EXTRACTOR = "SpacyEntityExtractor"
# spaCy's (OntoNotes) labels -> our entity names: the label in lower case, except MONEY, which
# is `amount` like the money rule, so a slot fills the same way whichever extractor found it.
ENTITY_NAMES = {
    label: label.lower()
    for label in (
        "PERSON",
        "NORP",
        "FAC",
        "ORG",
        "GPE",
        "LOC",
        "PRODUCT",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "LANGUAGE",
        "DATE",
        "TIME",
        "PERCENT",
        "QUANTITY",
        "ORDINAL",
        "CARDINAL",
    )
} | {"MONEY": "amount"}
# Components NER does not use: loading without them keeps a parse fast and the memory small.
NOT_NEEDED = (
    "tagger",
    "morphologizer",
    "parser",
    "senter",
    "sentencizer",
    "attribute_ruler",
    "lemmatizer",
    "textcat",
    "textcat_multilabel",
    "entity_linker",
    "spancat",
)


class SpacyModelNotInstalledError(ValueError):
    """The named spaCy pipeline package cannot be imported."""


class StatisticalEntities:
    """The NER component of a spaCy pipeline package; other labels than ENTITY_NAMES' are
    left out. Safe to call from several threads (parses run in a thread pool). The pipeline is
    loaded when first used, so a process that never extracts (a server whose parse process
    parses) does not hold it; one pipeline per package is shared by the whole process."""

    def __init__(self, package: str) -> None:
        _require_installed(package)
        self.package = package

    @property
    def language(self) -> str | None:
        return self._pipeline()[0].lang

    def reads(self, language: str | None) -> bool:
        """Whether a message in `language` (None: unknown) suits this pipeline; spaCy's "xx"
        pipelines are multilingual."""
        return language is None or self.language in (None, "xx", language)

    def extract(self, text: str) -> list[Entity]:
        return self.extract_many([text])[0]

    def extract_many(self, texts: list[str]) -> list[list[Entity]]:
        """The entities of each text; spaCy runs the texts as one batch (half the time per
        text of one call each)."""
        nlp, lock = self._pipeline()
        with lock:  # spaCy promises no thread safety, and threads would gain nothing
            docs = list(nlp.pipe(texts))
        return [
            [
                Entity(ENTITY_NAMES[ent.label_], ent.text, ent.start_char, ent.end_char, EXTRACTOR)
                for ent in doc.ents
                if ent.label_ in ENTITY_NAMES
            ]
            for doc in docs
        ]

    def _pipeline(self) -> tuple[Language, threading.Lock]:
        return _shared_pipeline(self.package)


def is_installed(package: str) -> bool:
    """Whether `package` names an importable module (a spaCy pipeline package is one)."""
    if not package.isidentifier():
        return False
    return importlib.util.find_spec(package) is not None


_LOADING = threading.Lock()  # two threads parsing first at once load one pipeline, not two


def _shared_pipeline(package: str) -> tuple[Language, threading.Lock]:
    """The process's one pipeline for `package` (loaded by the first caller) and its lock."""
    with _LOADING:
        return _loaded_pipeline(package)


@lru_cache(maxsize=4)  # one loaded pipeline per package, shared by every model in the process
def _loaded_pipeline(package: str) -> tuple[Language, threading.Lock]:
    return load_ner_pipeline(package), threading.Lock()


def load_ner_pipeline(package: str) -> Language:
    """The package's pipeline with only NER and what NER listens to."""
    _require_installed(package)
    # The network's matrix products on numpy's BLAS: with blis, thinc's default, a text took 16%
    # longer (5.7 against 4.8 ms) and a batch of 16 texts 27% longer on an AVX2 machine, for the
    # same entities. (The transition loop inside NER still uses blis.)
    with use_ops("numpy", use_blis=False):
        nlp = spacy.load(package, exclude=list(NOT_NEEDED))
    if "ner" not in nlp.pipe_names:
        raise SpacyModelNotInstalledError(f"the spaCy pipeline {package!r} has no ner component")
    for name in nlp.pipe_names:
        if getattr(nlp.get_pipe(name), "listening_components", None) == []:
            nlp.remove_pipe(name)  # a tok2vec only the excluded tagger and parser listened to
    return nlp


def _require_installed(package: str) -> None:
    if not is_installed(package):
        raise SpacyModelNotInstalledError(
            f"the spaCy pipeline package {package!r} is not installed "
            f"(pip install {package.replace('_', '-')})"
        )
