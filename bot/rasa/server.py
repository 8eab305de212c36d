"""`helpline actions serve`: rasa-sdk's action endpoint (POST /webhook, GET /actions,
GET /health) with helpline's actions, in one process."""

from __future__ import annotations

from typing import Any

from bot.settings import Settings

MISSING = "rasa-sdk is not installed: pip install 'helpline[rasa]'"


def action_endpoint(settings: Settings) -> Any:
    """rasa-sdk's Sanic app serving helpline's actions on the database of `settings`;
    ImportError saying what to install when the `rasa` extra is missing."""
    try:
        from rasa_sdk.endpoint import create_app  # noqa: PLC0415 (the optional extra)
        from rasa_sdk.executor import ActionExecutor  # noqa: PLC0415
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    from bot.rasa.actions import ACTIONS  # noqa: PLC0415
    from bot.rasa.runner import ActionRunner  # noqa: PLC0415

    runner = ActionRunner(settings)
    executor = ActionExecutor()
    for action in ACTIONS:
        executor.register_action(action(runner))
    app = create_app(executor, cors_origins=[])  # Rasa calls it; browsers have no business here

    async def close(*_: Any) -> None:
        await runner.close()

    app.register_listener(close, "after_server_stop")
    return app


def run(app: Any, host: str, port: int) -> None:
    """Serve until interrupted, in this process (the actions share one connection pool)."""
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
