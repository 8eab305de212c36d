"""Photos and documents customers send on Telegram: the largest photo size, or the document, is
fetched through the Bot API (getFile, then the file's download path) into the same file store and
within the same limits as the widget's uploads. Whatever is not kept is said, never dropped."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from telegram import Bot
from telegram import Message as TelegramMessage
from telegram.error import TelegramError

from actions.attachments import ReceivedFile, RefusedFile, receive_file, too_large
from actions.errors import HelplineError
from storage.files import FileStore

log = logging.getLogger(__name__)
# What else Telegram carries, none of it an accepted type (an animation also comes as a document).
OTHER_KINDS = {
    "animation": "the animation",
    "sticker": "the sticker",
    "video": "the video",
    "video_note": "the video message",
    "voice": "the voice message",
    "audio": "the audio file",
}
ONLY_PICTURES_AND_PDF = "only pictures (PNG, JPEG, GIF, WebP) and PDF files are accepted"


@dataclass(frozen=True)
class TelegramFiles:
    accepted: tuple[ReceivedFile, ...] = ()
    refused: tuple[RefusedFile, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.accepted and not self.refused


@dataclass(frozen=True)
class _Source:
    label: str
    file_id: str
    size: int | None
    filename: str
    claimed_type: str | None


async def fetch_files(
    bot: Bot, message: TelegramMessage, store: FileStore, max_bytes: int
) -> TelegramFiles:
    """The message's photo or document kept in `store`, or why it was not."""
    for kind, label in OTHER_KINDS.items():
        if getattr(message, kind):
            return TelegramFiles(refused=(RefusedFile(label, ONLY_PICTURES_AND_PDF),))
    source = _source(message)
    if source is None:
        return TelegramFiles()
    try:
        return TelegramFiles(accepted=(await _download(bot, store, max_bytes, source),))
    except HelplineError as exc:  # too large, not an accepted type, empty
        return TelegramFiles(refused=(RefusedFile(source.label, exc.message),))
    except TelegramError as exc:
        log.warning("could not fetch a file from Telegram: %s", exc.message)
        reason = "it could not be fetched from Telegram; please send it again"
        return TelegramFiles(refused=(RefusedFile(source.label, reason),))


def _source(message: TelegramMessage) -> _Source | None:
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        return _Source("the photo", largest.file_id, largest.file_size, "photo", None)
    document = message.document
    if document is not None:
        name = document.file_name or "document"
        return _Source(name, document.file_id, document.file_size, name, document.mime_type)
    return None


async def _download(bot: Bot, store: FileStore, max_bytes: int, source: _Source) -> ReceivedFile:
    if source.size is not None and source.size > max_bytes:
        raise too_large(source.size, max_bytes)  # not even fetched
    remote = await bot.get_file(source.file_id)
    if remote.file_size is not None and remote.file_size > max_bytes:
        raise too_large(remote.file_size, max_bytes)
    data = bytes(await remote.download_as_bytearray())
    return await receive_file(store, _whole(data), source.filename, source.claimed_type, max_bytes)


async def _whole(data: bytes) -> AsyncIterator[bytes]:
    yield data
