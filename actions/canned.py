"""Canned responses: saved replies agents insert by shortcut, each change with its audit row.
(Who may change them is decided where every access is: bot.web.auth.)"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from actions.errors import Conflict, InvalidInput, NotFound
from actions.record import SYSTEM, Actor, record
from storage.models import CannedResponse, utcnow

SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
MAX_TITLE = 120
MAX_TEXT = 4000


@dataclass(frozen=True)
class CannedInput:
    """A canned response as submitted, before it is checked."""

    shortcut: object
    title: object
    text: object

    def checked(self) -> tuple[str, str, str]:
        shortcut = _string(self.shortcut, "shortcut").lower().removeprefix("/")
        if not SHORTCUT.fullmatch(shortcut):
            raise InvalidInput(
                "`shortcut` must be 1-40 lowercase letters, digits, '-' or '_', "
                "starting with a letter or digit"
            )
        title = _string(self.title, "title")
        text = _string(self.text, "text")
        if len(title) > MAX_TITLE:
            raise InvalidInput(f"`title` is longer than {MAX_TITLE} characters")
        if len(text) > MAX_TEXT:
            raise InvalidInput(f"`text` is longer than {MAX_TEXT} characters")
        return shortcut, title, text


def _string(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"`{name}` must be a non-empty string")
    return value.strip()


async def list_canned(session: AsyncSession) -> list[CannedResponse]:
    return list(await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut)))


async def get_canned(session: AsyncSession, canned_id: int) -> CannedResponse:
    canned = await session.get(CannedResponse, canned_id)
    if canned is None:
        raise NotFound(f"no canned response {canned_id}")
    return canned


async def save_canned(
    session: AsyncSession, by: Actor, data: CannedInput, canned_id: int | None = None
) -> CannedResponse:
    """Create a canned response, or replace the one with `canned_id`. Shortcuts are unique."""
    shortcut, title, text = data.checked()
    existing = None if canned_id is None else await get_canned(session, canned_id)
    taken = await session.scalar(
        select(CannedResponse).where(CannedResponse.shortcut == shortcut).with_for_update()
    )
    if taken is not None and taken.id != canned_id:
        raise Conflict(f"the shortcut /{shortcut} is already used by {taken.title!r}")
    if existing is None:
        canned = CannedResponse(shortcut=shortcut, title=title, text=text)
        session.add(canned)
    else:
        canned = existing
        canned.shortcut, canned.title, canned.text = shortcut, title, text
    canned.updated_by_id, canned.updated_at = by.id, utcnow()
    await session.flush()
    action = "canned_created" if canned_id is None else "canned_updated"
    record(session, by, action, ("canned_response", canned.id), payload={"shortcut": shortcut})
    return canned


async def delete_canned(session: AsyncSession, by: Actor, canned_id: int) -> None:
    canned = await get_canned(session, canned_id)
    record(
        session,
        by,
        "canned_deleted",
        ("canned_response", canned.id),
        payload={"shortcut": canned.shortcut},
    )
    await session.delete(canned)


async def add_missing_canned(session: AsyncSession, items: list[CannedInput]) -> int:
    """Create the canned responses whose shortcuts do not exist yet (the demo's starter set)."""
    existing = set(await session.scalars(select(CannedResponse.shortcut)))
    added = 0
    for item in items:
        if item.checked()[0] not in existing:
            await save_canned(session, SYSTEM, item)
            added += 1
    return added
