"""`helpline privacy export|erase` and `helpline nlu messages` (what customers sent),
in-process through Typer's runner, on SQLite."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from actions.attachments import attach_files, receive_file
from actions.conversations import add_message, open_conversation
from bot.cli import app
from storage import migrate
from storage.database import Database
from storage.files import FileStore
from tests.actions.test_attachments import PDF, chunks

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = yaml.safe_load((ROOT / "config.yml").read_text())
    data["attachments"]["directory"] = str(tmp_path / "files")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(data))
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    migrate.upgrade(url)
    asyncio.run(_seed(url, tmp_path / "files"))
    return path


async def _seed(url: str, files: Path) -> None:
    """Noor sent a card number and a PDF on the web widget."""
    db = Database(url)
    received = await receive_file(FileStore(files), chunks(PDF), "scan.pdf", None, 10_000)
    try:
        async with db.session() as session, session.begin():
            conversation = await open_conversation(session, "web", "visitor-1", "Noor")
            message, _ = await add_message(
                session, conversation, "customer", "my card is 4111111111111111"
            )
            await attach_files(session, conversation, message, [received])
    finally:
        await db.dispose()


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_export_prints_or_writes_one_json_document(config: Path, tmp_path: Path) -> None:
    code, out, _ = run("privacy", "export", "web:visitor-1", "--config", str(config))
    assert code == 0
    document = json.loads(out)
    assert document["customer"]["display_name"] == "Noor"
    assert document["conversations"][0]["messages"][0]["text"] == "my card is [card]"
    target = tmp_path / "noor.json"
    code, _, _ = run("privacy", "export", "1", "--out", str(target), "--config", str(config))
    assert code == 0 and json.loads(target.read_text()) == document


def test_erase_asks_first_then_erases_once(config: Path, tmp_path: Path) -> None:
    files = tmp_path / "files"
    stored = [p for p in files.rglob("*") if p.is_file() and p.parent != files / "tmp"]
    assert len(stored) == 1
    code, _, err = run("privacy", "erase", "1", "--config", str(config), stdin="n\n")
    assert code == 1 and "nothing erased" in err and stored[0].exists()
    code, _, err = run("privacy", "erase", "1", "--config", str(config), stdin="y\n")
    assert code == 0 and "erased customer 1: 1 messages" in err and "1 attachments" in err
    assert not stored[0].exists()
    code, _, err = run("privacy", "erase", "1", "--yes", "--config", str(config))
    assert code == 0 and "already erased" in err
    _, out, _ = run("privacy", "export", "1", "--config", str(config))
    assert json.loads(out)["customer"]["display_name"] == "Erased customer"


def test_an_unknown_customer_is_an_error(config: Path) -> None:
    code, _, err = run("privacy", "export", "telegram:1", "--config", str(config))
    assert code == 1 and "no customer" in err


def test_nlu_messages_writes_what_customers_sent_once_a_line(config: Path, tmp_path: Path) -> None:
    asyncio.run(_more_messages(os.environ["DATABASE_URL"]))
    out = tmp_path / "messages.txt"
    code, _, err = run("nlu", "messages", str(out), "--config", str(config))
    assert code == 0, err
    assert "wrote 4 messages" in err
    # redacted as stored; the pressed button, the bot's reply and the repeat are left out
    assert out.read_text().splitlines() == [
        "my card is [card]",
        "where is my parcel? it was due on Monday",
        "/help me",
        "I want a refund",
    ]
    code, _, err = run("nlu", "messages", str(out), "--days", "0", "--config", str(config))
    assert code == 0 and "wrote 0 messages" in err and out.read_text() == ""
    code, _, _ = run("privacy", "erase", "1", "--yes", "--config", str(config))
    assert code == 0
    code, _, err = run("nlu", "messages", str(out), "--config", str(config))
    assert code == 0 and "wrote 1 messages" in err
    assert out.read_text() == "I want a refund\n"


async def _more_messages(url: str) -> None:
    db = Database(url)
    try:
        async with db.session() as session, session.begin():
            noor = await open_conversation(session, "web", "visitor-1", "Noor")
            late = "where is my parcel?\nit was due on Monday"
            await add_message(session, noor, "customer", late)
            await add_message(session, noor, "bot", "Let me look that up.")
            await add_message(session, noor, "customer", '/kb_article{"article":"abc"}')
            await add_message(session, noor, "customer", "/help me")  # typed, not a button
            sam = await open_conversation(session, "web", "visitor-2", "Sam")
            await add_message(session, sam, "customer", "I want a refund")
            await add_message(session, sam, "customer", "I want a refund")
    finally:
        await db.dispose()
