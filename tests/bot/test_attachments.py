"""Files in conversations, each on SQLite and on PostgreSQL: the engine stores a file with its
message once; through the real app, the widget's upload becomes a customer message with its bytes
on disk; limits, disguised types, foreign tokens and origins are refused with nothing kept; a
file is served only to its visitor and to staff."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from actions.attachments import receive_file
from bot.channels.widget import sign_visitor
from bot.components import Components
from bot.engine import InboundMessage
from bot.settings import Settings
from bot.web import keys
from bot.web.app import create_app
from bot.web.ratelimit import MemoryRateLimiter
from knowledge_base.index import KnowledgeBaseIndex
from nlu.model import NLUModel
from storage.models import Attachment, Message
from tests.actions.test_attachments import HTML, PDF, PNG, chunks, files_in
from tests.bot.conftest import Client
from tests.conftest import wired

SECRET = b"test-secret"
UPLOAD = "/api/widget/attachments"
LIMIT = 4096


@pytest.fixture
async def files_components(
    base_settings: Settings,
    database_url: str,
    demo_model_dir: Path,
    demo_nlu: NLUModel,
    served_kb: KnowledgeBaseIndex,
    tmp_path: Path,
) -> AsyncIterator[Components]:
    """The components on SQLite and on PostgreSQL; files kept under tmp_path / "files", at
    most LIMIT bytes each."""
    components = await wired(
        base_settings, database_url, demo_model_dir, demo_nlu, served_kb, tmp_path / "files", LIMIT
    )
    yield components
    await components.db.dispose()


@pytest.fixture
async def files_client(
    files_components: Components, aiohttp_client: Callable[..., Awaitable[Client]]
) -> tuple[Client, Components]:
    """The app. Its components come first, so the app stops before their database is disposed
    of (fixtures are torn down in reverse order)."""
    return await aiohttp_client(create_app(files_components)), files_components


def form(
    data: bytes,
    filename: str,
    content_type: str,
    token: str | None = None,
    **fields: str,
) -> aiohttp.FormData:
    body = aiohttp.FormData()
    if token is not None:
        body.add_field("token", token)
    for name, value in fields.items():
        body.add_field(name, value)
    body.add_field("file", data, filename=filename, content_type=content_type)
    return body


async def upload(client: Client, body: aiohttp.FormData, **headers: str) -> tuple[int, Any]:
    response = await client.post(UPLOAD, data=body, headers=headers)
    return response.status, await response.json()


async def count(components: Components, model: type) -> int:
    async with components.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_file_is_stored_once_with_its_message_and_a_caption_is_understood(
    files_components: Components, tmp_path: Path
) -> None:
    engine = files_components.engine
    received = await receive_file(engine.files, chunks(PDF), "order.pdf", None, LIMIT)
    alone = InboundMessage("web", "v1", "", external_id="c1", attachments=(received,))
    first = await engine.handle(alone)
    again = await engine.handle(alone)
    assert again.duplicate and again.message.id == first.message.id
    assert first.message.text == "order.pdf" and first.message.intent is None
    assert [r.text for r in first.replies] == [engine.settings.dialogue.responses["attachment"]]
    captioned = InboundMessage(
        "web", "v1", "I want a refund for this order", external_id="c2", attachments=(received,)
    )
    turn = await engine.handle(captioned)
    assert turn.message.intent == "refund_request"
    async with files_components.db.session() as session:
        rows = list(await session.scalars(select(Attachment).order_by(Attachment.id)))
    assert [(a.message_id, a.filename) for a in rows] == [
        (first.message.id, "order.pdf"),
        (turn.message.id, "order.pdf"),
    ]
    digest = hashlib.sha256(PDF).hexdigest()
    assert files_in(tmp_path / "files") == [tmp_path / "files" / digest[:2] / digest]


async def test_an_uploaded_image_is_a_customer_message_stored_once_with_its_bytes(
    files_client: tuple[Client, Components], tmp_path: Path
) -> None:
    client, components = files_client
    token = sign_visitor(SECRET, "visitor-a")
    status, body = await upload(client, form(PNG, "photo.png", "image/png", token, client_id="c1"))
    assert status == 201, body
    message = body["message"]
    assert (message["sender"], message["text"]) == ("customer", "photo.png")
    [attachment] = message["attachments"]
    assert attachment["content_type"] == "image/png"
    assert attachment["size"] == len(PNG)
    assert attachment["url"].startswith(f"/attachments/{attachment['id']}?key=")

    again_status, again = await upload(
        client, form(PNG, "photo.png", "image/png", token, client_id="c1")
    )
    assert again_status == 201
    assert again["message"]["id"] == message["id"]
    assert await count(components, Attachment) == 1
    digest = hashlib.sha256(PNG).hexdigest()
    assert files_in(tmp_path / "files") == [tmp_path / "files" / digest[:2] / digest]

    async with components.db.session() as session:
        stored = list(await session.scalars(select(Message).order_by(Message.id)))
    assert stored[0].intent is None  # a file alone is not guessed at
    assert [m.sender for m in stored] == ["customer", "bot"]
    assert "got your file" in stored[1].text

    served = await client.get(attachment["url"])
    assert served.status == 200
    assert await served.read() == PNG
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline;")
    assert "default-src 'none'" in served.headers["Content-Security-Policy"]


async def test_a_pdf_is_served_as_a_download(
    files_client: tuple[Client, Components],
) -> None:
    client, _ = files_client
    token = sign_visitor(SECRET, "visitor-a")
    status, body = await upload(client, form(PDF, "invoice.pdf", "application/pdf", token))
    assert status == 201, body
    served = await client.get(body["message"]["attachments"][0]["url"])
    assert served.status == 200
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"] == "attachment; filename*=UTF-8''invoice.pdf"


async def test_a_file_over_the_limit_gets_413_and_nothing_is_kept(
    files_client: tuple[Client, Components], tmp_path: Path
) -> None:
    client, components = files_client
    token = sign_visitor(SECRET, "visitor-a")
    big = PNG + b"\x00" * LIMIT
    status, body = await upload(client, form(big, "big.png", "image/png", token))
    assert status == 413
    assert body["error"]["code"] == "too_large"
    assert body["error"]["max_bytes"] == LIMIT
    assert "the limit is 4 KB" in body["error"]["message"]
    huge = PNG + b"\x00" * (LIMIT * 40)  # refused by its Content-Length before it is read
    assert (await upload(client, form(huge, "huge.png", "image/png", token)))[0] == 413
    assert files_in(tmp_path / "files") == []
    assert await count(components, Message) == 0


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [(PDF, "receipt.png", "image/png"), (HTML, "cat.png", "image/png")],
)
async def test_disguised_files_get_415_and_nothing_is_kept(
    files_client: tuple[Client, Components],
    tmp_path: Path,
    data: bytes,
    filename: str,
    content_type: str,
) -> None:
    client, components = files_client
    token = sign_visitor(SECRET, "visitor-a")
    status, body = await upload(client, form(data, filename, content_type, token))
    assert status == 415
    assert body["error"]["code"] == "unsupported_type"
    assert "image/png" in body["error"]["allowed_types"]
    assert files_in(tmp_path / "files") == []
    assert await count(components, Message) == 0


async def test_uploads_without_a_valid_token_or_from_foreign_pages_are_refused(
    files_client: tuple[Client, Components], tmp_path: Path
) -> None:
    client, components = files_client
    mine = sign_visitor(SECRET, "visitor-a")
    status, body = await upload(client, form(PNG, "a.png", "image/png", mine))
    assert status == 201
    conversation = str(body["message"]["conversation_id"])

    assert (await upload(client, form(PNG, "a.png", "image/png")))[0] == 401
    too_long = await upload(client, form(PNG, "a.png", "image/png", mine, client_id="x" * 200))
    assert too_long[0] == 400
    forged = "visitor-a." + "0" * 40
    assert (await upload(client, form(PNG, "a.png", "image/png", forged)))[0] == 401
    other = sign_visitor(SECRET, "visitor-b")
    refused = await upload(
        client, form(PNG, "a.png", "image/png", other, conversation_id=conversation)
    )
    assert refused[0] == 403
    foreign = await client.post(
        UPLOAD, data=form(PNG, "a.png", "image/png", mine), headers={"Origin": "https://x.example"}
    )
    assert foreign.status == 403
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert await count(components, Attachment) == 1

    own = str(client.make_url("")).rstrip("/")
    allowed = await client.post(
        UPLOAD, data=form(PNG, "b.png", "image/png", mine), headers={"Origin": own}
    )
    assert allowed.status == 201
    assert allowed.headers["Access-Control-Allow-Origin"] == own
    wrong_type = await client.post(
        UPLOAD, data=form(HTML, "c.png", "image/png", mine), headers={"Origin": own}
    )
    assert wrong_type.status == 415
    assert wrong_type.headers["Access-Control-Allow-Origin"] == own  # the page can say why


async def test_a_file_is_served_to_its_visitor_and_staff_only(
    files_client: tuple[Client, Components],
) -> None:
    client, _ = files_client
    status, body = await upload(
        client, form(PNG, "a.png", "image/png", sign_visitor(SECRET, "visitor-a"))
    )
    assert status == 201
    url = body["message"]["attachments"][0]["url"]
    path = url.split("?")[0]
    other_status, other_body = await upload(
        client, form(PDF, "b.pdf", "application/pdf", sign_visitor(SECRET, "visitor-b"))
    )
    assert other_status == 201
    other_key = other_body["message"]["attachments"][0]["url"].split("?")[1]

    assert (await client.get(f"{path}?{other_key}")).status == 403
    assert (await client.get(f"{path}?key=nonsense")).status == 403
    anonymous = await client.get(path, allow_redirects=False)
    assert anonymous.status in (401, 303)
    assert (await client.get("/attachments/999999", allow_redirects=False)).status == 404
    assert (await client.get(url)).status == 200


async def test_uploads_count_against_the_visitors_message_limit(
    files_components: Components, aiohttp_client: Callable[..., Awaitable[Client]]
) -> None:
    app = create_app(files_components)
    app[keys.MESSAGE_LIMIT] = MemoryRateLimiter(limit=1, window_s=60)
    client = await aiohttp_client(app)
    token = sign_visitor(SECRET, "visitor-a")
    assert (await upload(client, form(PNG, "a.png", "image/png", token)))[0] == 201
    response = await client.post(UPLOAD, data=form(PNG, "b.png", "image/png", token))
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
