"""Scratch databases for the benchmarks: created next to the one DATABASE_URL names, dropped
after the run (unless --keep)."""

from __future__ import annotations

import argparse
import json
import os
import uuid
from collections.abc import Awaitable, Callable
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


async def run_on_scratch_database(
    args: argparse.Namespace,
    run: Callable[[str, argparse.Namespace], Awaitable[dict[str, Any]]],
) -> None:
    """`run` on a scratch database beside DATABASE_URL's; print its result (one JSON object
    with --json, else a line per figure)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (postgresql+asyncpg://...)")
    scratch, name = await scratch_database(url)
    try:
        result = await run(scratch, args)
    finally:
        if not args.keep:
            await drop_database(url, name)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
