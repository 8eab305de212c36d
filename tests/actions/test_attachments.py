"""Receiving files: the type comes from the bytes, the limits hold, nothing half-written stays on
disk, the same bytes are kept once; attaching writes the row, the event and the audit row."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import select

from actions.attachments import (
    TooLarge,
    UnsupportedType,
    attach_files,
    receive_file,
    sanitise_filename,
    sniff_type,
)
from actions.conversations import add_message, open_conversation
from storage.database import Database
from storage.files import FileStore
from storage.models import Attachment, AuditLog, Event, Message

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 200
GIF = b"GIF89a" + b"\x02" * 50
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x03" * 50
PDF = b"%PDF-1.7\n" + b"\x04" * 300
HTML = b"<!doctype html><script>alert(1)</script>"


async def chunks(data: bytes, size: int = 64) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def files_in(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


def test_types_are_told_by_their_first_bytes() -> None:
    assert [sniff_type(b) for b in (PNG, JPEG, GIF, WEBP, PDF)] == [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
    ]
    assert sniff_type(HTML) is None
    assert sniff_type(b"RIFF\x10\x00\x00\x00WAVEfmt ") is None


async def test_a_file_is_kept_by_its_hash_and_the_same_bytes_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    first = await receive_file(store, chunks(PNG), "shot.png", "image/png", 10_000)
    again = await receive_file(store, chunks(PNG), "other name.png", None, 10_000)
    assert first.sha256 == hashlib.sha256(PNG).hexdigest() == again.sha256
    assert (first.content_type, first.size, first.filename) == ("image/png", len(PNG), "shot.png")
    assert first.storage_key == again.storage_key
    assert files_in(tmp_path) == [store.path(first.storage_key)]
    assert store.path(first.storage_key).read_bytes() == PNG


@pytest.mark.parametrize(
    ("data", "name", "claimed"),
    [
        (PDF, "invoice.png", "image/png"),  # a PDF renamed .png
        (PDF, "invoice.png", None),
        (HTML, "cat.png", "image/png"),  # HTML that claims to be an image
        (PNG, "cat.png", "text/html"),
        (b"MZ\x90\x00" + b"\x00" * 100, "setup.exe", None),
    ],
)
async def test_files_that_are_not_what_they_say_are_refused_and_not_kept(
    tmp_path: Path, data: bytes, name: str, claimed: str | None
) -> None:
    with pytest.raises(UnsupportedType) as refused:
        await receive_file(FileStore(tmp_path), chunks(data), name, claimed, 10_000)
    assert refused.value.status == 415
    assert refused.value.details["allowed_types"] == [
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
    ]
    assert files_in(tmp_path) == []


async def test_a_file_over_the_limit_is_refused_and_not_kept(tmp_path: Path) -> None:
    with pytest.raises(TooLarge) as refused:
        await receive_file(FileStore(tmp_path), chunks(PDF), "big.pdf", None, 100)
    assert refused.value.status == 413
    assert refused.value.details == {"max_bytes": 100}
    assert "100 bytes" in refused.value.message
    assert files_in(tmp_path) == []


def test_file_names_are_made_safe() -> None:
    assert sanitise_filename("../../etc/passwd.png", "image/png") == "passwd.png"
    assert sanitise_filename("C:\\Users\\kim\\Scan 1.PDF", "application/pdf") == "Scan 1.pdf"
    assert sanitise_filename("a\x00b\nc.jpg", "image/jpeg") == "abc.jpg"
    assert sanitise_filename(None, "image/webp") == "file.webp"
    assert sanitise_filename("notes", "application/pdf") == "notes.pdf"
    assert len(sanitise_filename("x" * 500 + ".gif", "image/gif")) == 120


async def test_attaching_writes_the_row_the_event_and_the_audit_in_one_go(
    db: Database, tmp_path: Path
) -> None:
    received = await receive_file(FileStore(tmp_path), chunks(PDF), "order.pdf", None, 10_000)
    async with db.session() as session, session.begin():
        conversation = await open_conversation(session, "web", "visitor-1")
        message, _ = await add_message(session, conversation, "customer", "order.pdf")
        await attach_files(session, conversation, message, [received])
    async with db.session() as session:
        stored = await session.scalar(select(Message))
        assert stored is not None
        [attachment] = stored.attachments
        assert (attachment.filename, attachment.content_type, attachment.size) == (
            "order.pdf",
            "application/pdf",
            len(PDF),
        )
        assert attachment.conversation_id == conversation.id
        assert attachment.storage_key == received.storage_key
        event = await session.scalar(select(Event).where(Event.type == "attachment_received"))
        assert event is not None
        assert event.payload == {
            "message_id": stored.id,
            "content_type": "application/pdf",
            "size": len(PDF),
        }
        audit = await session.scalar(select(AuditLog).where(AuditLog.action == "attach_file"))
        assert audit is not None
        assert (audit.target_type, audit.target_id) == ("attachment", attachment.id)
        assert len(list(await session.scalars(select(Attachment)))) == 1
