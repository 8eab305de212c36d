"""Articles in the database: the actions (with their events and audit rows), imports from
files by slug and content hash, and live changes to the index that encode one article only."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from actions.articles import (
    ArticleFields,
    create_article,
    get_article,
    import_files,
    list_articles,
    publish_article,
    published_articles,
    unpublish_article,
    update_article,
)
from actions.errors import Conflict, Forbidden, InvalidInput
from actions.users import create_user
from knowledge_base.documents import Article
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder
from storage.database import Database
from storage.models import AuditLog, Event, User
from tests.knowledge_base.test_incremental import CountingEncoder

HOURS = ArticleFields("Opening hours", "We open at 9 on weekdays.", tags=("shop",))


async def _user(db: Database, name: str, role: str) -> User:
    async with db.session() as session, session.begin():
        return await create_user(session, name, name.title(), role, "long-enough-1", [])


async def test_actions_write_the_article_its_events_and_audit_rows(db: Database) -> None:
    sam = await _user(db, "sam", "supervisor")
    async with db.session() as session, session.begin():
        row = await create_article(session, "opening-hours", HOURS, sam)
        assert row.status == "draft" and row.source == "console"
    async with db.session() as session, session.begin():
        row = await get_article(session, "opening-hours")
        assert await publish_article(session, row, sam)
        assert not await publish_article(session, row, sam)  # already published: nothing written
        changed = ArticleFields("Opening hours", "We open at 8 on weekdays.", tags=("shop",))
        assert await update_article(session, row, changed, sam)
        assert not await update_article(session, row, changed, sam)  # same content
        assert await unpublish_article(session, row, sam)
    async with db.session() as session:
        events = list(
            await session.scalars(
                select(Event.type).where(Event.type.startswith("kb_")).order_by(Event.id)
            )
        )
        audit = list(
            await session.scalars(
                select(AuditLog.action)
                .where(AuditLog.target_type == "kb_article")
                .order_by(AuditLog.id)
            )
        )
        row = await get_article(session, "opening-hours")
    assert events == [
        "kb_article_created",
        "kb_article_published",
        "kb_article_updated",
        "kb_article_unpublished",
    ]
    assert audit == ["create_article", "publish_article", "update_article", "unpublish_article"]
    assert row.body == "We open at 8 on weekdays." and row.updated_by_id == sam.id
    assert row.tags == ["shop"] and row.language == "en" and row.status == "draft"


async def test_bad_input_and_duplicate_slugs_are_refused(db: Database) -> None:
    sam, ada = await _user(db, "sam", "supervisor"), await _user(db, "ada", "agent")
    async with db.session() as session, session.begin():
        await create_article(session, "opening-hours", HOURS, sam)
    cases = [
        ("opening-hours", HOURS, sam, Conflict, "already has the slug"),
        ("Opening Hours", HOURS, sam, InvalidInput, "lowercase letters"),
        ("empty", ArticleFields("  ", "text"), sam, InvalidInput, "title is empty"),
        ("empty", ArticleFields("Title", "\n"), sam, InvalidInput, "no text"),
        ("bad-url", ArticleFields("T", "x", url="ftp://x"), sam, InvalidInput, "URL"),
        ("agent", HOURS, ada, Forbidden, "supervisors and admins"),
    ]
    for slug, fields, by, error, words in cases:
        async with db.session() as session, session.begin():
            with pytest.raises(error, match=words):
                await create_article(session, slug, fields, by)
    async with db.session() as session:
        assert [r.slug for r in await list_articles(session)] == ["opening-hours"]


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)


async def test_import_upserts_by_slug_and_skips_unchanged_content(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    _write(folder, "hours.md", "# Opening hours\n\nWe open at 9.\n")
    _write(folder, "returns.md", "# Returns\n\nFree within 30 days.\n")
    _write(folder, "broken.md", "---\ntitle: [unclosed\n---\nText.\n")
    _write(folder, "Bad Name.md", "# Bad\n\nA file name that is no slug.\n")
    async with db.session() as session, session.begin():
        first = await import_files(session, [folder], "en")
    assert sorted(first.created) == ["hours", "returns"]
    assert len(first.errors) == 2
    assert any("broken.md" in e and "not valid YAML" in e for e in first.errors)
    assert any("Bad Name.md" in e and "lowercase letters" in e for e in first.errors)

    _write(folder, "returns.md", "# Returns\n\nFree within 60 days.\n")
    async with db.session() as session, session.begin():
        again = await import_files(session, [folder / "hours.md", folder / "returns.md"], "en")
    assert (again.created, again.updated, again.unchanged) == ([], ["returns"], ["hours"])
    async with db.session() as session:
        published = {a.id: a for a in await published_articles(session)}
    assert published["returns"].body.endswith("Free within 60 days.")
    assert published["hours"].url == "/kb/hours"


async def test_import_keeps_articles_edited_in_the_console(db: Database, tmp_path: Path) -> None:
    sam = await _user(db, "sam", "supervisor")
    folder = tmp_path / "articles"
    _write(folder, "hours.md", "# Opening hours\n\nWe open at 9.\n")
    async with db.session() as session, session.begin():
        await import_files(session, [folder], "en")
    async with db.session() as session, session.begin():
        row = await get_article(session, "hours")
        await update_article(session, row, ArticleFields("Opening hours", "We open at 7."), sam)
    _write(folder, "hours.md", "# Opening hours\n\nWe open at 10.\n")
    async with db.session() as session, session.begin():
        summary = await import_files(session, [folder], "en")
    assert summary.kept == ["hours"]
    async with db.session() as session:
        assert (await get_article(session, "hours")).body == "We open at 7."


def test_upsert_and_remove_change_one_article_while_serving(encoder: Encoder) -> None:
    counting = CountingEncoder(encoder)
    articles = [
        Article("hours", "Opening hours", "We open at 9 on weekdays.", "/kb/hours"),
        Article("returns", "Returns", "Returns are free within 30 days.", "/kb/returns"),
    ]
    index = KnowledgeBaseIndex(articles, counting)
    counting.texts.clear()
    new = Article("gift-cards", "Gift cards", "Gift cards never expire.", "/kb/gift-cards")
    assert index.upsert(new) == 2  # its title and its one chunk; nothing else
    assert counting.texts == ["Gift cards", "Gift cards. Gift cards never expire."]
    assert index.search("do gift cards expire", k=1)[0].chunk.article.id == "gift-cards"

    counting.texts.clear()
    edited = Article("returns", "Returns", "Returns are free within 60 days.", "/kb/returns")
    assert index.upsert(edited) == 1  # the title is unchanged and cached
    assert "60 days" in index.search("how long to return", k=1)[0].chunk.text
    assert index.remove("gift-cards") and not index.remove("gift-cards")
    assert set(index.articles) == {"hours", "returns"}
    assert all(c.article.id != "gift-cards" for c in index.chunks)


# PostgreSQL only: several workers share PostgreSQL; SQLite serves one.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_workers_starting_together_import_each_article_once(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    _write(folder, "hours.md", "# Opening hours\n\nWe open at 9.\n")
    _write(folder, "returns.md", "# Returns\n\nFree within 30 days.\n")

    async def worker() -> list[str]:
        async with db.session() as session, session.begin():
            summary = await import_files(session, [folder], "en")
        assert summary.errors == []
        return summary.created

    first, second = await asyncio.gather(worker(), worker())
    assert sorted(first + second) == ["hours", "returns"]
    async with db.session() as session:
        assert len(await list_articles(session)) == 2
