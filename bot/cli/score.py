"""`helpline score evaluate`: how well predicted satisfaction matches the ratings customers gave."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

from bot.cli import common
from bot.report_store import refresh, stored_model, stored_rows
from bot.settings import Settings
from scoring.satisfaction import evaluate_model
from storage import migrate

app = typer.Typer(help="Conversation scoring.", no_args_is_help=True)


@app.command("evaluate")
def score_evaluate(
    config: common.ConfigOption = common.DEFAULT_CONFIG, as_json: common.JsonOption = False
) -> None:
    """Cross-validated auc, mae and calibration error of predicted satisfaction on the rated
    conversations, and the weights the model uses now."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    result = asyncio.run(_evaluate(settings))
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        common.console.print(f"{key:>20}: {value}", highlight=False)


async def _evaluate(settings: Settings) -> dict[str, Any]:
    async with common.database(settings) as db, db.session() as session, session.begin():
        await refresh(session)
        rows = await stored_rows(session)
        model = await stored_model(session)
    return {
        **evaluate_model(rows),
        "model": "learned" if model.learned_from else "prior",
        "weights": {k: round(v, 3) for k, v in model.weights.items()},
    }
