"""The knowledge-base editor for supervisors and admins: the list of articles, create, edit,
publish and unpublish. Thin handlers over actions/articles.py; after each change the article is
re-indexed in this server at once (only it is encoded), so the next question sees it."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiohttp import web
from sqlalchemy import func, select

from actions.articles import (
    PUBLISHED,
    ArticleFields,
    as_article,
    create_article,
    get_article,
    list_articles,
    publish_article,
    published_articles,
    unpublish_article,
    update_article,
)
from actions.errors import Conflict, InvalidInput
from bot.background import CleanupContext, every
from bot.web import keys
from bot.web.auth import REPORT_ROLES
from bot.web.render import render
from bot.web.staff import staff
from storage.models import KbArticle

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
SYNC_SECONDS = 15  # how soon an edit made through another worker reaches this one
# One re-index at a time, each reading the article's latest state: the index ends as the DB is.
KB_WRITES = web.AppKey("kb_writes", asyncio.Lock)
EDITOR_ROLES = REPORT_ROLES  # supervisors and admins


@routes.get("/kb/admin")
async def article_list(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, EDITOR_ROLES)
        rows = await list_articles(session)
    articles = [
        {
            "slug": r.slug,
            "title": r.title,
            "status": r.status,
            "language": r.language,
            "source": r.source,
            "updated_at": _when(r),
        }
        for r in rows
    ]
    return render(request, "kb_admin.html", {"articles": articles, "active_page": "kb-admin"})


@routes.get("/kb/admin/new")
async def new_form(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, EDITOR_ROLES)
    language = request.app[keys.COMPONENTS].settings.language
    return _form(request, None, {"language": language}, error=None)


@routes.post("/kb/admin/new")
async def create(request: web.Request) -> web.Response:
    form = await _form_fields(request)
    slug = form.get("slug", "").strip()
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = await staff(session, request, EDITOR_ROLES)
        try:
            await create_article(session, slug, _fields(form), me.user)
        except (InvalidInput, Conflict) as exc:  # nothing was written: show the form again
            return _form(request, None, form, error=exc.message, status=exc.status)
    raise web.HTTPSeeOther(f"/kb/admin/{slug}")


@routes.get("/kb/admin/{slug}")
async def edit_form(request: web.Request) -> web.Response:
    async with request.app[keys.COMPONENTS].db.session() as session:
        await staff(session, request, EDITOR_ROLES)
        row = await get_article(session, request.match_info["slug"])
    form = {
        "slug": row.slug,
        "title": row.title,
        "body": row.body,
        "url": row.url,
        "tags": ", ".join(row.tags),
        "language": row.language,
    }
    return _form(request, _state(row), form, error=None, saved="saved" in request.query)


@routes.post("/kb/admin/{slug}")
async def save(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    form = await _form_fields(request)
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = await staff(session, request, EDITOR_ROLES)
        row = await get_article(session, slug)
        try:
            await update_article(session, row, _fields(form), me.user)
        except InvalidInput as exc:  # nothing was written: show the form again
            form["slug"] = slug
            return _form(request, _state(row), form, error=exc.message, status=exc.status)
    await reindex(request.app, slug)
    raise web.HTTPSeeOther(f"/kb/admin/{slug}?saved=1")


@routes.post("/kb/admin/{slug}/publish")
async def publish(request: web.Request) -> web.Response:
    return await _set_status(request, publish=True)


@routes.post("/kb/admin/{slug}/unpublish")
async def unpublish(request: web.Request) -> web.Response:
    return await _set_status(request, publish=False)


def keep_in_step() -> CleanupContext:
    """Every SYNC_SECONDS, bring this worker's index in line with the published articles when
    they changed since the last look (an edit made through another worker, an import)."""
    seen: list[tuple[int, datetime | None]] = []  # the state the index was last built from

    async def look(app: web.Application) -> None:
        now = await _fingerprint(app)
        if seen and now != seen[0]:
            await sync_index(app)
        seen[:] = [now]

    return every(lambda app: SYNC_SECONDS, look, "knowledge base sync")


async def _fingerprint(app: web.Application) -> tuple[int, datetime | None]:
    """Changes with every create, edit, publish and unpublish (each sets updated_at)."""
    async with app[keys.COMPONENTS].db.session() as session:
        count, latest = (
            await session.execute(select(func.count(), func.max(KbArticle.updated_at)))
        ).one()
    return int(count), latest


async def sync_index(app: web.Application) -> tuple[int, int]:
    """Re-index the published articles that differ from the index and drop the unpublished;
    returns (re-indexed, removed)."""
    components = app[keys.COMPONENTS]
    async with app[KB_WRITES]:
        async with components.db.session() as session:
            published = {a.id: a for a in await published_articles(session)}
        kb = components.kb
        changed = [a for slug, a in published.items() if kb.articles.get(slug) != a]
        gone = [slug for slug in kb.articles if slug not in published]
        for article in changed:
            await asyncio.to_thread(kb.upsert, article)
        for slug in gone:
            await asyncio.to_thread(kb.remove, slug)
        if not changed and not gone:  # another worker changed what this one holds already
            await asyncio.to_thread(kb.refresh)
    if changed or gone:
        log.info("knowledge base: %d articles re-indexed, %d removed", len(changed), len(gone))
    return len(changed), len(gone)


async def reindex(app: web.Application, slug: str) -> None:
    """Bring this server's index in line with the article as stored now: a published article
    is (re-)encoded, any other is removed from the answers."""
    components = app[keys.COMPONENTS]
    async with app[KB_WRITES]:
        async with components.db.session() as session:
            row = await get_article(session, slug)
        if row.status == PUBLISHED:
            await asyncio.to_thread(components.kb.upsert, as_article(row))
        else:
            await asyncio.to_thread(components.kb.remove, slug)


async def _set_status(request: web.Request, *, publish: bool) -> web.Response:
    slug = request.match_info["slug"]
    async with request.app[keys.COMPONENTS].engine.unit_of_work() as session:
        me = await staff(session, request, EDITOR_ROLES)
        row = await get_article(session, slug)
        change = publish_article if publish else unpublish_article
        await change(session, row, me.user)
    await reindex(request.app, slug)
    raise web.HTTPSeeOther(f"/kb/admin/{slug}")


async def _form_fields(request: web.Request) -> dict[str, str]:
    form = await request.post()
    names = ("slug", "title", "body", "url", "tags", "language")
    return {name: value for name in names if isinstance(value := form.get(name, ""), str)}


def _fields(form: dict[str, str]) -> ArticleFields:
    tags = tuple(t.strip() for t in form.get("tags", "").split(",") if t.strip())
    return ArticleFields(
        form.get("title", ""), form.get("body", ""), form.get("url", ""), tags,
        form.get("language", ""),
    )  # fmt: skip


def _state(row: KbArticle) -> dict[str, str]:
    return {"status": row.status, "source": row.source, "updated_at": _when(row)}


def _when(row: KbArticle) -> str:
    return row.updated_at.strftime("%Y-%m-%d %H:%M UTC")


def _form(
    request: web.Request,
    state: dict[str, str] | None,
    form: dict[str, str],
    *,
    error: str | None,
    status: int = 200,
    saved: bool = False,
) -> web.Response:
    context = {
        "article": state,
        "form": form,
        "error": error,
        "saved": saved,
        "active_page": "kb-admin",
    }
    return render(request, "kb_edit.html", context, status=status)
