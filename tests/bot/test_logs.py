"""JSON log lines carry the request and conversation they belong to; every response carries its
request id; a client's own request id is kept only when it is a plain token."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot import logs
from bot.web.request_ids import HEADER
from tests.bot.conftest import Client


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("helpline.test")
    logger.addHandler(handler)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)


def test_a_json_line_has_the_ids_from_the_context(json_lines: io.StringIO) -> None:
    request, conversation = logs.request_id.set("req-1"), logs.conversation_id.set(42)
    try:
        logging.getLogger("helpline.test").warning("turn took %d ms", 12)
    finally:
        logs.request_id.reset(request)
        logs.conversation_id.reset(conversation)
    line = json.loads(json_lines.getvalue())
    assert line["message"] == "turn took 12 ms" and line["level"] == "WARNING"
    assert (line["request_id"], line["conversation_id"], line["logger"]) == (
        "req-1",
        42,
        "helpline.test",
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])


async def test_responses_carry_a_request_id(client: Client) -> None:
    own = await client.get("/health", headers={HEADER: "lb-7f3a.1"})
    assert own.headers[HEADER] == "lb-7f3a.1"
    for offered in (None, "two words", "x" * 65, "<script>"):
        headers = {HEADER: offered} if offered else {}
        response = await client.get("/health", headers=headers)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers[HEADER])
    missing = await client.get("/no/such/page")
    assert missing.status == 404 and re.fullmatch(r"[0-9a-f]{32}", missing.headers[HEADER])
