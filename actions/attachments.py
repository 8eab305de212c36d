"""Files customers send: received within the limits, their type decided by their first bytes
(never by the name or the type the sender claims), kept once on disk, and attached to a message
with its event and audit row in the same transaction."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import HelplineError, InvalidInput, NotFound
from actions.record import Actor, record
from storage.files import FileStore
from storage.models import Attachment, Conversation, Message

# The types accepted, with the magic bytes that identify them and the names they may carry.
TYPES: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/jpeg": ("jpg", "jpeg", "jpe", "jfif"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
}
ALLOWED_TYPES = tuple(TYPES)
IMAGE_TYPES = tuple(t for t in TYPES if t.startswith("image/"))
# Names senders use for the same types; anything else claimed must match what the bytes are.
_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "image/x-png": "image/png"}
_UNCLAIMED = ("", "application/octet-stream", "binary/octet-stream")
MAX_FILENAME = 120


class TooLarge(HelplineError):
    code, status = "too_large", 413


class UnsupportedType(HelplineError):
    code, status = "unsupported_type", 415


@dataclass(frozen=True)
class ReceivedFile:
    """A file kept in the store, not yet attached to a message."""

    filename: str
    content_type: str
    size: int
    sha256: str
    storage_key: str


@dataclass(frozen=True)
class RefusedFile:
    """A file a customer sent that was not kept, and why (the limit or the types allowed)."""

    label: str  # how to name it to the customer: "the photo", "report.docx"
    reason: str


def sniff_type(head: bytes) -> str | None:
    """The accepted type these first bytes belong to, or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def too_large(size: int | None, max_bytes: int) -> TooLarge:
    told = f"it is {human_size(size)}; " if size is not None else ""
    return TooLarge(
        f"the file is too large: {told}the limit is {human_size(max_bytes)}",
        details={"max_bytes": max_bytes},
    )


def check_type(head: bytes, filename: str, claimed_type: str | None) -> str:
    """The file's type from its bytes; UnsupportedType when it is not accepted or when the name
    or the claimed type says it is something else (a PDF named .png, HTML sent as image/png)."""
    sniffed = sniff_type(head)
    names = ", ".join(ALLOWED_TYPES)
    details = {"allowed_types": list(ALLOWED_TYPES)}
    if sniffed is None:
        raise UnsupportedType(
            f"this kind of file is not accepted; allowed are {names}", details=details
        )
    extension = _extension(filename)
    if extension and extension not in TYPES[sniffed]:
        raise UnsupportedType(
            f"the file is named .{extension} but its content is {sniffed}; "
            f"rename it or send another file (allowed are {names})",
            details=details,
        )
    claimed = (claimed_type or "").split(";")[0].strip().lower()
    claimed = _TYPE_ALIASES.get(claimed, claimed)
    if claimed not in _UNCLAIMED and claimed != sniffed:
        raise UnsupportedType(
            f"the file was sent as {claimed[:60]} but its content is {sniffed}", details=details
        )
    return sniffed


async def receive_file(
    store: FileStore,
    chunks: AsyncIterable[bytes],
    filename: str | None,
    claimed_type: str | None,
    max_bytes: int,
) -> ReceivedFile:
    """Write the bytes to the store within `max_bytes` and the accepted types; on any refusal
    nothing stays on disk."""
    with store.incoming() as incoming:
        async for chunk in chunks:
            if incoming.size + len(chunk) > max_bytes:
                raise too_large(None, max_bytes)
            incoming.write(chunk)
        if incoming.size == 0:
            raise InvalidInput("the file is empty")
        content_type = check_type(incoming.head, filename or "", claimed_type)
        key = incoming.keep()
    return ReceivedFile(
        sanitise_filename(filename, content_type),
        content_type,
        incoming.size,
        incoming.sha256,
        key,
    )


async def attach_files(
    session: AsyncSession,
    conversation: Conversation,
    message: Message,
    files: Sequence[ReceivedFile],
) -> list[Attachment]:
    """Attach kept files to a customer's message; one event and audit row each."""
    attachments = []
    for file in files:
        attachment = Attachment(
            conversation_id=conversation.id,
            filename=file.filename,
            content_type=file.content_type,
            size=file.size,
            sha256=file.sha256,
            storage_key=file.storage_key,
        )
        message.attachments.append(attachment)
        attachments.append(attachment)
    await session.flush()
    for attachment in attachments:
        record(
            session,
            Actor("customer", conversation.customer_id),
            "attach_file",
            ("attachment", attachment.id),
            event="attachment_received",
            conversation_id=conversation.id,
            payload={
                "message_id": message.id,
                "content_type": attachment.content_type,
                "size": attachment.size,
            },
        )
    return attachments


async def get_attachment(session: AsyncSession, attachment_id: int) -> Attachment:
    attachment = await session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return attachment


def sanitise_filename(raw: str | None, content_type: str) -> str:
    """A name safe to show and to send back in Content-Disposition: no folders, no control
    characters, at most MAX_FILENAME characters, ending in an extension of its type."""
    base = unicodedata.normalize("NFC", _basename(raw or ""))
    base = "".join(c for c in base if unicodedata.category(c)[0] != "C")
    base = re.sub(r"\s+", " ", base).strip(" .")
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = base, ""
    if extension.lower() not in TYPES[content_type]:
        stem, extension = base, TYPES[content_type][0]
    stem = (stem or "file")[: MAX_FILENAME - len(extension) - 1]
    return f"{stem}.{extension.lower()}"


def human_size(size: int | None) -> str:
    if size is None:
        return "unknown"
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


def _extension(filename: str) -> str:
    _, dot, extension = _basename(filename).rpartition(".")
    return extension.lower().strip() if dot else ""


def _basename(path: str) -> str:
    """The last part of a path written with either kind of separator."""
    return PureWindowsPath(PurePosixPath(path).name).name
