"""The widget's one script tag: /static/widget.js is the shared helpers followed by the widget,
revalidated by its ETag; the console's pages load the helpers as a file of their own."""

from __future__ import annotations

from bot.web.widget_script import STATIC
from tests.bot.conftest import Client


async def test_the_widget_script_is_the_shared_helpers_then_the_widget(client: Client) -> None:
    response = await client.get("/static/widget.js")
    assert response.status == 200
    assert response.content_type == "text/javascript"
    body = await response.read()
    common, widget = (STATIC / "common.js").read_bytes(), (STATIC / "widget.js").read_bytes()
    assert body == common + b"\n" + widget
    assert b"window.helpline = " in common and b"window.helpline.reconnecting(" in widget

    etag = response.headers["ETag"]
    again = await client.get("/static/widget.js", headers={"If-None-Match": etag})
    assert again.status == 304 and await again.read() == b""
    changed = await client.get("/static/widget.js", headers={"If-None-Match": '"other"'})
    assert changed.status == 200 and await changed.read() == body


async def test_the_console_loads_the_shared_helpers_as_a_file(client: Client) -> None:
    response = await client.get("/static/common.js")
    assert response.status == 200
    assert await response.read() == (STATIC / "common.js").read_bytes()
