"""The knowledge-base editor: supervisors create, edit, publish and unpublish articles over
HTTP, and the running bot answers customers from the new text at once (or stops answering)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from actions.articles import (
    ArticleFields,
    create_article,
    get_article,
    publish_article,
    unpublish_article,
)
from actions.users import create_user
from bot.components import Components, import_kb_sources, published_articles_in, wire
from bot.settings import Settings
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.index import KnowledgeBaseIndex
from nlu.model import NLUModel
from storage.models import AuditLog
from tests.bot.conftest import PASSWORD, Client, login
from tests.conftest import settings_for

WEBHOOK = "/webhooks/rest/webhook"
SHIPPING = "shipping-times-and-costs"
QUESTION = "how long does shipping to Germany take?"
NEW_TEXT = (
    "Orders to Germany arrive within 9 business days by sea freight. "
    "Orders to the Netherlands arrive within 6 business days."
)


@pytest.fixture(scope="module")
def vectors() -> EmbeddingCache:
    """Passage vectors shared by this module's indexes, so each test encodes only its edits."""
    return EmbeddingCache()


@pytest.fixture
async def live(
    base_settings: Settings,
    sqlite_url: str,
    demo_model_dir: Path,
    demo_nlu: NLUModel,
    vectors: EmbeddingCache,
) -> AsyncIterator[Components]:
    """The app's components on a database holding the demo articles, with an index of its own
    (the editor changes it, so the session's shared index is not used)."""
    from actions.users import sync_queues  # noqa: PLC0415

    settings = settings_for(base_settings, sqlite_url, demo_model_dir)
    encoder = demo_nlu.intent_encoder  # as `helpline serve` indexes the articles
    probe = wire(settings, demo_nlu, KnowledgeBaseIndex([], encoder), b"test-secret")
    summary = await import_kb_sources(settings, probe.db)
    assert summary.errors == [] and len(summary.created) > 10
    articles = await published_articles_in(probe.db)
    await probe.db.dispose()
    index = KnowledgeBaseIndex(articles, encoder, cache=vectors)
    built = wire(settings, demo_nlu, index, b"test-secret")
    async with built.db.session() as session, session.begin():
        await sync_queues(session, settings.queue_specs())
        await create_user(session, "sam", "Sam", "supervisor", PASSWORD, ["billing"])
        await create_user(session, "ada", "Ada", "agent", PASSWORD, ["billing"])
    yield built
    await built.db.dispose()


@pytest.fixture
async def editor(
    aiohttp_client: Callable[..., Awaitable[Client]], live: Components
) -> tuple[Client, str]:
    from bot.web.app import create_app  # noqa: PLC0415

    client = await aiohttp_client(create_app(live))
    return client, await login(client, "sam")


async def _ask(client: Client, sender: str, text: str = QUESTION) -> dict[str, object]:
    response = await client.post(WEBHOOK, json={"sender": sender, "message": text})
    assert response.status == 200
    replies = await response.json()
    assert len(replies) == 1
    reply: dict[str, object] = replies[0]
    return reply


def _form(csrf: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf, "url": "", "tags": "", "language": "en", **fields}


async def test_an_edit_is_answered_at_once_and_unpublishing_stops_the_answers(
    editor: tuple[Client, str], live: Components
) -> None:
    client, csrf = editor
    before = await _ask(client, "c1")
    assert "9 business days" not in str(before["text"])

    saved = await client.post(
        f"/kb/admin/{SHIPPING}",
        data=_form(csrf, title="Shipping times and costs", body=NEW_TEXT, tags="shipping"),
        allow_redirects=False,
    )
    assert saved.status == 303, await saved.text()
    after = await _ask(client, "c2")
    assert "9 business days" in str(after["text"])
    assert after["citations"] == [{"title": "Shipping times and costs", "url": f"/kb/{SHIPPING}"}]
    assert "9 business days" in await (await client.get(f"/kb/{SHIPPING}")).text()

    gone = await client.post(
        f"/kb/admin/{SHIPPING}/unpublish", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert gone.status == 303
    unanswered = await _ask(client, "c3")
    assert f"/kb/{SHIPPING}" not in str(unanswered.get("citations"))
    assert "9 business days" not in str(unanswered["text"])
    assert (await client.get(f"/kb/{SHIPPING}")).status == 404
    assert SHIPPING not in live.kb.articles


async def test_a_new_article_is_a_draft_until_published(
    editor: tuple[Client, str], live: Components
) -> None:
    client, csrf = editor
    question = "do you offer gift wrapping for presents?"
    body = "Yes: we wrap presents in recycled paper with a ribbon for 3 EUR per parcel."
    created = await client.post(
        "/kb/admin/new",
        data=_form(csrf, slug="gift-wrapping", title="Gift wrapping", body=body),
        allow_redirects=False,
    )
    assert created.status == 303 and created.headers["Location"] == "/kb/admin/gift-wrapping"
    assert "gift-wrapping" not in live.kb.articles  # a draft: not answered from
    published = await client.post(
        "/kb/admin/gift-wrapping/publish", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert published.status == 303
    reply = await _ask(client, "c4", question)
    assert reply["citations"] == [{"title": "Gift wrapping", "url": "/kb/gift-wrapping"}]
    listing = await (await client.get("/kb/admin")).text()
    assert "Gift wrapping" in listing and "published" in listing
    async with live.db.session() as session:
        actions = list(
            await session.scalars(
                select(AuditLog.action).where(AuditLog.actor_id.is_not(None))
                .where(AuditLog.target_type == "kb_article")
            )
        )  # fmt: skip
    assert actions == ["create_article", "publish_article"]


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"slug": "x", "title": " ", "body": "text"}, 400, "the title is empty"),
        ({"slug": "x", "title": "Title", "body": " "}, 400, "the article has no text"),
        ({"slug": SHIPPING, "title": "Again", "body": "text"}, 409, "already has the slug"),
        ({"slug": "Not A Slug", "title": "T", "body": "text"}, 400, "lowercase letters"),
    ],
)
async def test_bad_input_shows_the_form_again_with_the_reason(
    editor: tuple[Client, str], fields: dict[str, str], status: int, message: str
) -> None:
    client, csrf = editor
    response = await client.post("/kb/admin/new", data=_form(csrf, **fields))
    assert response.status == status
    page = await response.text()
    error = re.search(r'data-testid="kb-error">([^<]+)<', page)
    assert error is not None and message in error.group(1)
    assert 'value="' + fields["title"] + '"' in page  # what was typed is kept


async def test_an_empty_edit_keeps_the_stored_article(editor: tuple[Client, str]) -> None:
    client, csrf = editor
    response = await client.post(
        f"/kb/admin/{SHIPPING}", data=_form(csrf, title="Shipping", body="")
    )
    assert response.status == 400 and "the article has no text" in await response.text()
    page = await (await client.get(f"/kb/admin/{SHIPPING}")).text()
    assert "Standard shipping is free" in page


async def test_writes_need_the_csrf_token_and_an_editor_role(
    aiohttp_client: Callable[..., Awaitable[Client]], live: Components
) -> None:
    from bot.web.app import create_app  # noqa: PLC0415

    client = await aiohttp_client(create_app(live))
    csrf = await login(client, "sam")
    forged = await client.post(f"/kb/admin/{SHIPPING}/unpublish", data={"csrf_token": "wrong"})
    assert forged.status == 403
    client.session.cookie_jar.clear()
    csrf = await login(client, "ada")
    refused = await client.post(f"/kb/admin/{SHIPPING}/unpublish", data={"csrf_token": csrf})
    assert refused.status == 403
    assert (await client.get("/kb/admin")).status == 403
    assert SHIPPING in live.kb.articles


async def test_an_edit_made_through_another_worker_reaches_this_one(
    aiohttp_client: Callable[..., Awaitable[Client]],
    live: Components,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.web import kb_admin  # noqa: PLC0415
    from bot.web.app import create_app  # noqa: PLC0415

    monkeypatch.setattr(kb_admin, "SYNC_SECONDS", 0.1)
    client = await aiohttp_client(create_app(live))
    await asyncio.sleep(0.3)  # the watcher has taken its first look
    async with live.db.session() as session, session.begin():  # as another worker's editor would
        fields = ArticleFields("Gift wrapping", "We wrap presents in recycled paper for 3 EUR.")
        row = await create_article(session, "gift-wrapping", fields, None)
        await publish_article(session, row, None)
        await unpublish_article(session, await get_article(session, SHIPPING), None)
    for _ in range(100):
        if "gift-wrapping" in live.kb.articles and SHIPPING not in live.kb.articles:
            break
        await asyncio.sleep(0.1)
    assert "gift-wrapping" in live.kb.articles and SHIPPING not in live.kb.articles
    reply = await _ask(client, "c5", "do you offer gift wrapping for presents?")
    assert reply["citations"] == [{"title": "Gift wrapping", "url": "/kb/gift-wrapping"}]
