"""`helpline simulate`: a realistic demo history through the real engine and actions."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli import common
from bot.cli.users import sync_config_queues
from bot.settings import Settings
from bot.simulate import Simulated
from storage import migrate


def simulate(
    days: Annotated[
        int, typer.Option(min=1, max=365, help="Spread over this many past days.")
    ] = 30,
    conversations: Annotated[int, typer.Option(min=1, max=100_000, help="How many.")] = 200,
    seed: Annotated[int, typer.Option(help="Same seed, same history.")] = 1,
    force: Annotated[
        bool, typer.Option(help="Also when the database holds real conversations.")
    ] = False,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
) -> None:
    """Generate customers, conversations, handoffs, replies and ratings for the demo and the
    benchmarks. Refuses a database with real conversations unless --force."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    done = asyncio.run(_run(settings, days, conversations, seed, force))
    common.console.print(
        f"simulated {done.conversations} conversations over {days} days: "
        f"{done.handoffs} handed to a person, {done.ratings} rated"
    )


async def _run(
    settings: Settings, days: int, conversations: int, seed: int, force: bool
) -> Simulated:
    from bot.components import build_components  # noqa: PLC0415
    from bot.simulate import holds_real_conversations, simulate  # noqa: PLC0415
    from nlu.training_data import read_training_data  # noqa: PLC0415

    components = build_components(settings)
    try:
        await sync_config_queues(components.db, settings)
        if not force and await holds_real_conversations(components.engine):
            raise common.fail(
                "this database holds real conversations; simulate into another one "
                "(DATABASE_URL=...) or pass --force",
                2,
            )
        data = read_training_data(settings.resolve(settings.nlu.training_data))
        with common.progress_bar("Simulating") as progress:
            return await simulate(
                components.engine,
                data,
                days=days,
                conversations=conversations,
                seed=seed,
                progress=progress,
            )
    finally:
        await components.db.dispose()
