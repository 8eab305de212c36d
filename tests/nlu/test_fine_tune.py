"""Fine-tuning the encoder on the intents: the tuned copy, the model that carries it, and loading
it again (real weights, trained for a few steps)."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from bot.components import encoder_tuner, nlu_config
from bot.settings import ConfigError, Settings, load_settings
from nlu import fine_tune as fine_tune_module
from nlu.encoder import Encoder, Vectors, model_path
from nlu.fine_tune import ENCODER_FOLDER, EncoderTuner, FineTuneConfig, fine_tune
from nlu.model import ModelMismatchError, NLUConfig, NLUModel
from nlu.parse import FALLBACK_INTENT
from nlu.training_data import Example
from tests.nlu.test_model import EXAMPLES, QUERIES, assert_same_ranking, small_data

TUNING = FineTuneConfig(epochs=8, learning_rate=1e-4, batch_size=8)


@pytest.fixture(scope="module")
def config(encoder: Encoder) -> NLUConfig:
    return NLUConfig(encoder=encoder.name, confidence_threshold=0.3, fine_tune=TUNING)


@pytest.fixture(scope="module")
def tuner(base_settings: Settings) -> EncoderTuner:
    return replace(encoder_tuner(base_settings), config=TUNING)


@pytest.fixture(scope="module")
def model(encoder: Encoder, config: NLUConfig, tuner: EncoderTuner) -> NLUModel:
    return NLUModel.train(small_data(), config, encoder, tuner=tuner)


@pytest.fixture(scope="module")
def saved(model: NLUModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("tuned") / "nlu"
    model.save(directory, small_data())
    return directory


def _margin(vectors: Vectors, labels: list[str]) -> float:
    """Mean cosine of same-intent pairs minus that of different-intent pairs."""
    cosines = vectors @ vectors.T
    same = np.equal.outer(labels, labels)
    off_diagonal = ~np.eye(len(labels), dtype=bool)
    return float(cosines[same & off_diagonal].mean() - cosines[~same].mean())


def test_tuning_draws_an_intents_examples_together(
    encoder: Encoder, tuner: EncoderTuner, tmp_path: Path
) -> None:
    texts = [text for texts in EXAMPLES.values() for text in texts]
    labels = [intent for intent, texts in EXAMPLES.items() for _ in texts]
    tuned = tuner.tune(texts, labels, tmp_path)
    assert (tmp_path / ENCODER_FOLDER / "model.safetensors").is_file()
    before, after = encoder.encode(texts), tuned.encode(texts)
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-4)
    assert _margin(after, labels) > _margin(before, labels) + 0.1
    unseen = encoder.encode(["where is my parcel"]), tuned.encode(["where is my parcel"])
    assert float((unseen[0] @ unseen[1].T)[0, 0]) < 0.99  # the weights changed


def test_a_tuned_model_parses_its_intents(model: NLUModel) -> None:
    assert [model.parse(q).intent.name for q in QUERIES] == list(EXAMPLES)[:3]
    assert model.metadata["fine_tune"] == TUNING.as_dict()
    held_out = len(EXAMPLES)  # one of each intent's six examples calibrates fallback
    tuned_on = {"examples": len(small_data().examples) - held_out, "out_of_scope_examples": 0}
    assert model.metadata["fine_tuned_on"] == tuned_on


OUT_OF_SCOPE = [
    "what's the weather tomorrow",
    "tell me a joke",
    "who won the football last night",
    "play some music",
    "how tall is mount everest",
    "set an alarm for seven",
]


def test_out_of_scope_examples_are_tuned_as_one_more_class(
    encoder: Encoder, config: NLUConfig, tuner: EncoderTuner
) -> None:
    data = small_data()
    with_oos = replace(data, examples=data.examples + [Example(t, "oos") for t in OUT_OF_SCOPE])
    model = NLUModel.train(with_oos, config, encoder, oos_label="oos", tuner=tuner)
    assert model.intents == set(EXAMPLES)
    assert model.metadata["fine_tuned_on"]["out_of_scope_examples"] == len(OUT_OF_SCOPE)
    fallen_back = [q for q in UNRELATED if model.parse(q).intent.name == FALLBACK_INTENT]
    # 15 of the 20; 2 when the intents started from their names beside the nameless out-of-scope
    # class (nlu.model.NLUModel.train), 15 too without the names
    assert len(fallen_back) >= 12, fallen_back
    assert [model.parse(q).intent.name for q in QUERIES] == list(EXAMPLES)[:3]


UNRELATED = [
    "will it rain at the weekend",
    "what's the weather like",
    "book a table for two",
    "who is the president of France",
    "play a song by Adele",
    "what time is it in Tokyo",
    "translate hello into Spanish",
    "how many calories in an apple",
    "set a timer for ten minutes",
    "what is the capital of Peru",
    "recommend a good movie",
    "how do I bake bread",
    "tell me about black holes",
    "what's 15 times 7",
    "remind me to call mum",
    "find a flight to Rome",
    "how old is the universe",
    "turn on the lights",
    "what's the score of the match",
    "spell necessary",
]


def test_parse_encoded_takes_the_tuned_vectors_or_encodes_them(model: NLUModel) -> None:
    given = model.parse_encoded(QUERIES, model.intent_encoder.encode(QUERIES))
    direct = model.parse_many(QUERIES)
    for a, b in zip(given, direct, strict=True):
        assert [s.name for s in a.intent_ranking] == [s.name for s in b.intent_ranking]
        assert a.intent.confidence == pytest.approx(b.intent.confidence, abs=1e-5)


def test_a_tuned_encoder_written_again_has_a_new_name(saved: Path, tuner: EncoderTuner) -> None:
    """The knowledge base's cached vectors are keyed by the encoder's name: a retrained
    encoder's must not be found under the old one's."""
    before = tuner.load(saved).name
    assert tuner.load(saved).name == before
    weights = max((saved / ENCODER_FOLDER).rglob("*.safetensors"), key=lambda p: p.stat().st_size)
    written = weights.stat().st_mtime_ns + 10**9
    os.utime(weights, ns=(written, written))
    assert tuner.load(saved).name != before


def test_save_and_load_keep_the_tuned_encoder(
    model: NLUModel, saved: Path, config: NLUConfig, encoder: Encoder, tuner: EncoderTuner
) -> None:
    assert (saved / ENCODER_FOLDER).is_dir()
    loaded = NLUModel.load(saved, config, encoder, tuner)
    for query in QUERIES:
        assert_same_ranking(model.parse(query), loaded.parse(query), tolerance=1e-5)


def test_the_tuned_encoder_is_loaded_when_the_model_first_parses(
    saved: Path,
    config: NLUConfig,
    encoder: Encoder,
    tuner: EncoderTuner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server whose parse process parses holds the model without its tuned encoder."""
    loads: list[str] = []
    real = fine_tune_module.load_encoder

    def counted(name: str, *args: Any) -> Encoder:
        loads.append(name)
        return real(name, *args)

    monkeypatch.setattr(fine_tune_module, "load_encoder", counted)
    loaded = NLUModel.load(saved, config, encoder, tuner)
    assert loads == []
    loaded.warm()
    assert loads == [str(saved / ENCODER_FOLDER)]
    assert loaded.parse(QUERIES[0]).intent.name != FALLBACK_INTENT
    assert len(loads) == 1


def test_an_untuned_model_saved_over_a_tuned_one_removes_its_encoder(
    saved: Path, encoder: Encoder, tmp_path: Path
) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(saved, copy)
    untuned = NLUConfig(encoder=encoder.name)
    NLUModel.train(small_data(), untuned, encoder).save(copy, small_data())
    assert not (copy / ENCODER_FOLDER).exists()
    assert NLUModel.load(copy, untuned, encoder).parse(QUERIES[0]).intent.name == "greet"


def test_loading_a_tuned_model_without_tuning_in_the_config_fails(
    saved: Path, config: NLUConfig, encoder: Encoder
) -> None:
    untuned = replace(config, fine_tune=FineTuneConfig())
    with pytest.raises(ModelMismatchError, match="fine-tuning") as info:
        NLUModel.load(saved, untuned, encoder)
    assert "'epochs': 8" in str(info.value)
    assert "'epochs': 0.0" in str(info.value)


def test_a_tuned_model_whose_encoder_is_gone_says_so(
    saved: Path, config: NLUConfig, encoder: Encoder, tuner: EncoderTuner, tmp_path: Path
) -> None:
    copy = tmp_path / "nlu"
    shutil.copytree(saved, copy)
    shutil.rmtree(copy / ENCODER_FOLDER)
    with pytest.raises(ModelMismatchError, match=r"\(encoder/\) is missing"):
        NLUModel.load(copy, config, encoder, tuner)
    with pytest.raises(ValueError, match="tuner"):
        NLUModel.load(saved, config, encoder)


def test_training_with_tuning_needs_a_tuner(encoder: Encoder, config: NLUConfig) -> None:
    with pytest.raises(ValueError, match="tuner"):
        NLUModel.train(small_data(), config, encoder)


def test_fine_tune_refuses_what_it_cannot_learn(tmp_path: Path, tuner: EncoderTuner) -> None:
    base = model_path(tuner.base)
    with pytest.raises(ValueError, match="more than 0 epochs"):
        fine_tune(base, ["a", "b"], ["x", "y"], FineTuneConfig(), tmp_path / "out")
    with pytest.raises(ValueError, match="two intents"):
        fine_tune(base, ["a", "b"], ["x", "x"], TUNING, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_config_yml_fine_tune_is_checked(tmp_path: Path, base_settings: Settings) -> None:
    assert nlu_config(base_settings).fine_tune.epochs == base_settings.nlu.fine_tune.epochs
    data = yaml.safe_load(base_settings.resolve(Path("config.yml")).read_text(encoding="utf-8"))
    data["nlu"]["fine_tune"] = {"epochs": -1}
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"fine_tune\.epochs"):
        load_settings(config)


def test_tuning_starts_each_intent_from_its_name(tuner: EncoderTuner) -> None:
    import torch  # noqa: PLC0415 (heavy import, as in nlu.fine_tune)
    from sentence_transformers import SentenceTransformer  # noqa: PLC0415

    model = SentenceTransformer(str(model_path(tuner.base)), device="cpu")
    head = torch.nn.Linear(384, 3)
    nameless = head.weight[1].detach().clone()
    intents = {"refund_request": 0, "oos": 1, "ShippingInfo": 2}
    names = {"refund_request": "refund request", "ShippingInfo": "shipping info", "gone": "gone"}
    fine_tune_module._start_from_names(model, head, intents, names)
    vectors = model.encode(["refund request", "shipping info"], normalize_embeddings=True)
    weights = head.weight.detach().numpy()
    assert np.allclose(weights[[0, 2]], vectors, atol=1e-5)
    assert torch.equal(head.weight[1], nameless)
