"""`helpline train` and `helpline nlu ...`: train, parse, evaluate and validate NLU data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli import common
from bot.components import encoder_tuner, model_recipe, nlu_config, settings_encoder
from bot.settings import Settings

if TYPE_CHECKING:
    from nlu.training_data import TrainingData
    from nlu.validate import ValidationReport

app = typer.Typer(help="The NLU pipeline.", no_args_is_help=True)


OosLabelOption = Annotated[
    str | None,
    typer.Option(
        "--oos-label",
        help="Label of out-of-scope examples: they calibrate fallback instead of becoming an "
        "intent (default: nlu.oos_label in config.yml).",
    ),
]


def train(
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    force: Annotated[bool, typer.Option(help="Train even if the model is up to date.")] = False,
    oos_label: OosLabelOption = None,
) -> None:
    """Train the NLU model from the training data named in config.yml."""
    settings = common.load(config)
    train_if_needed(settings, force, oos_label)


def train_if_needed(settings: Settings, force: bool, oos_label: str | None = None) -> None:
    """Train unless the saved model was trained on the same data, configuration and
    out-of-scope label; `oos_label` defaults to config.yml's nlu.oos_label."""
    from nlu.model import NLUModel, data_fingerprint, read_metadata  # noqa: PLC0415
    from nlu.training_data import TrainingDataError, read_training_data  # noqa: PLC0415

    path = settings.resolve(settings.nlu.training_data)
    model_dir = settings.resolve(settings.nlu.model_dir)
    try:
        data = _with_unlabelled(read_training_data(path), _configured_unlabelled(settings))
    except TrainingDataError as exc:
        raise common.fail(str(exc)) from exc
    oos_label = oos_label or settings.nlu.oos_label
    if oos_label is not None and all(e.intent != oos_label for e in data.examples):
        raise common.fail(f"{path}: no example is labelled {oos_label!r} (the out-of-scope label)")
    config = nlu_config(settings)
    fingerprints = (config.fingerprint(), data_fingerprint(data), oos_label)
    if not force and _up_to_date(model_dir, fingerprints, read_metadata):
        common.console.print(f"NLU model in {model_dir} is up to date", soft_wrap=True)
        return
    encoder = settings_encoder(settings)
    with common.progress_bar("Training NLU") as progress:
        model = NLUModel.train(data, config, encoder, progress, oos_label, encoder_tuner(settings))
    model.save(model_dir, data)
    common.console.print(
        f"trained {len(model.intents)} intents on {model.metadata['examples']} examples "
        f"({model.metadata['out_of_scope_examples']} out of scope) -> {model_dir}",
        soft_wrap=True,
    )


def _configured_unlabelled(settings: Settings) -> Path | None:
    unlabelled = settings.nlu.self_training.unlabelled
    return None if unlabelled is None else settings.resolve(unlabelled)


def _with_unlabelled(data: TrainingData, path: Path | None) -> TrainingData:
    """`data` with the messages of the unlabelled file at `path`, if any, for self-training."""
    if path is None:
        return data
    from dataclasses import replace  # noqa: PLC0415

    from nlu.training_data import read_unlabelled  # noqa: PLC0415

    return replace(data, unlabelled=read_unlabelled(path))


def _up_to_date(model_dir: Path, fingerprints: tuple[str, str, str | None], read: Any) -> bool:
    try:
        meta = read(model_dir)
    except FileNotFoundError:
        return False
    saved = (meta.get("config_fingerprint"), meta.get("data_fingerprint"), meta.get("oos_label"))
    return bool(saved == fingerprints)


@app.command("parse")
def nlu_parse(text: str, config: common.ConfigOption = common.DEFAULT_CONFIG) -> None:
    """Parse one message; prints Rasa's /model/parse JSON plus sentiment and language."""
    from nlu.model import ModelMismatchError  # noqa: PLC0415

    settings = common.load(config)
    try:
        model = model_recipe(settings).load()
    except (FileNotFoundError, ModelMismatchError) as exc:
        raise common.fail(str(exc)) from exc
    print(json.dumps(model.parse(text).as_rasa(), ensure_ascii=False))


@app.command("evaluate")
def nlu_evaluate(
    train_file: Annotated[
        Path | None, typer.Option("--train", help="Training data (YAML or CSV).")
    ] = None,
    test_file: Annotated[
        Path | None,
        typer.Option("--test", help="Test data; without it a held-out part of --train."),
    ] = None,
    holdout: Annotated[
        float, typer.Option(help="Share of --train held out when --test is not given.")
    ] = 0.2,
    oos_label: OosLabelOption = None,
    unlabelled: Annotated[
        Path | None,
        typer.Option(
            help="Messages without intents to self-train on (.txt, one a line, or .csv, the "
            "first column) (default: nlu.self_training.unlabelled in config.yml)."
        ),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Confidence threshold (default: config.yml).")
    ] = None,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    as_json: common.JsonOption = False,
) -> None:
    """Train on one file and evaluate on another (or on a held-out part of the first)."""
    from dataclasses import replace  # noqa: PLC0415

    from nlu.evaluate import evaluate, split_holdout  # noqa: PLC0415
    from nlu.training_data import TrainingDataError, read_training_data  # noqa: PLC0415

    settings = common.load(config)
    try:
        train_data = read_training_data(train_file or settings.resolve(settings.nlu.training_data))
        if test_file is not None:
            test_data = read_training_data(test_file)
        else:
            train_data, test_data = split_holdout(train_data, holdout)
        train_data = _with_unlabelled(train_data, unlabelled or _configured_unlabelled(settings))
    except TrainingDataError as exc:
        raise common.fail(str(exc)) from exc
    nlu_settings = nlu_config(settings)
    if threshold is not None:
        nlu_settings = replace(nlu_settings, confidence_threshold=threshold)
    with common.progress_bar("Training") as progress:
        result = evaluate(
            train_data,
            test_data,
            nlu_settings,
            settings_encoder(settings),
            oos_label or settings.nlu.oos_label,
            progress,
            tuner=encoder_tuner(settings),
        )
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        common.console.print(f"{key:>20}: {value}")


@app.command("messages")
def nlu_messages(
    out: Annotated[Path, typer.Argument(help="The text file to write, one message a line.")],
    days: Annotated[
        float | None, typer.Option(min=0.0, help="Only messages of the last DAYS days.")
    ] = None,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Write what customers sent (each text once, erased ones left out) for self-training:
    name the file as nlu.self_training.unlabelled in config.yml, then `helpline train`."""
    import asyncio  # noqa: PLC0415

    from actions.privacy import ERASED  # noqa: PLC0415
    from nlu.parse import is_trigger  # noqa: PLC0415
    from storage import migrate  # noqa: PLC0415

    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    texts = asyncio.run(_customer_texts(settings, days))
    lines = [" ".join(text.split()) for text in texts if not is_trigger(text)]  # not buttons
    kept = list(dict.fromkeys(line for line in lines if line and line != ERASED))
    out.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")
    common.console.print(f"wrote {len(kept)} messages to {out}", soft_wrap=True)


async def _customer_texts(settings: Settings, days: float | None) -> list[str]:
    from datetime import timedelta  # noqa: PLC0415

    from actions.conversations import customer_texts  # noqa: PLC0415
    from storage.models import utcnow  # noqa: PLC0415

    since = None if days is None else utcnow() - timedelta(days=days)
    async with common.database(settings) as db, db.session() as session:
        return await customer_texts(session, since)


@app.command("validate")
def nlu_validate(
    data_file: Annotated[Path, typer.Argument(help="Training data (YAML or CSV).")],
    min_examples: Annotated[
        int, typer.Option("--min-examples", min=1, help="Fewest examples an intent may have.")
    ] = 5,
    as_json: common.JsonOption = False,
) -> None:
    """Report duplicates, conflicting examples and sparse intents; exit 1 if any are found."""
    from nlu.training_data import TrainingDataError, read_training_data  # noqa: PLC0415
    from nlu.validate import validate  # noqa: PLC0415

    try:
        data = read_training_data(data_file)
    except TrainingDataError as exc:
        raise common.fail(str(exc)) from exc
    report = validate(data, min_examples)
    if as_json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        _print_validation(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_validation(report: ValidationReport) -> None:
    out = common.console
    out.print(f"{report.examples} examples, {report.intents} intents", highlight=False)
    for dup in report.duplicates:
        out.print(f"duplicate: {dup.text!r} ({dup.intent}) x{dup.count}", highlight=False)
    for conflict in report.conflicts:
        out.print(f"conflict: {conflict.text!r} in {', '.join(conflict.intents)}", highlight=False)
    for sparse in report.sparse_intents:
        out.print(
            f"too few examples: {sparse.intent} has {sparse.examples} "
            f"(at least {report.min_examples})",
            highlight=False,
        )
    out.print("ok" if report.ok else "problems found", highlight=False)
