"""Scratch databases for the benchmarks: created next to the one DATABASE_URL names, dropped
after the run."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url


async def scratch_database(url: str) -> tuple[str, str]:
    """Create an empty database on the server of `url`; returns its URL and name."""
    parsed = make_url(url)
    name = f"helpline_bench_{uuid.uuid4().hex[:8]}"
    connection = await _admin(parsed)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return parsed.set(database=name).render_as_string(hide_password=False), name


async def drop_database(url: str, name: str) -> None:
    connection = await _admin(make_url(url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await connection.close()


async def _admin(parsed: Any) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database or "postgres",
    )
