"""Fuzzing `/ws/widget`: any text frame is answered (or quietly taken) and never drops the socket;
bad frames get an `error` frame with a code and a message."""

from __future__ import annotations

import itertools
import json
from typing import Any

from aiohttp import WSMsgType
from aiohttp.client_ws import ClientWebSocketResponse
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.widget import sign_visitor
from bot.components import Components
from tests.bot.conftest import Client
from tests.fuzz.strategies import JSON, SCALARS, TEXT, json_text
from tests.fuzz.tally import fuzz, outcome

KINDS = st.sampled_from(["hello", "message", "rating", "typing", "", "unknown"])
FRAMES = st.one_of(
    st.text(max_size=200),
    JSON.map(json_text),
    st.fixed_dictionaries(
        {"type": st.one_of(KINDS, JSON)},
        optional={
            "text": st.one_of(TEXT, JSON),
            "client_id": st.one_of(TEXT, SCALARS),
            "token": st.one_of(TEXT, JSON),
            "rating": st.one_of(SCALARS, JSON),
            "comment": st.one_of(TEXT, JSON),
        },
    ).map(json_text),
)
_visits = itertools.count()
PROBE = json_text({"type": "fuzz-probe", "client_id": "probe"})


async def exchange(socket: ClientWebSocketResponse, frame: str) -> list[dict[str, Any]]:
    """Send `frame`, then a probe; the frames the server sent up to the probe's error."""
    await socket.send_str(frame)
    await socket.send_str(PROBE)
    received = []
    while True:
        message = await socket.receive(timeout=30)
        if message.type != WSMsgType.TEXT:
            raise AssertionError(f"the socket was dropped after {frame[:200]!r}: {message}")
        data = json.loads(message.data)
        if data.get("type") == "error" and data.get("client_id") == "probe":
            return received
        received.append(data)


def _declared(frame: dict[str, Any]) -> bool:
    if frame.get("type") != "error":
        return isinstance(frame.get("type"), str)
    return isinstance(frame.get("code"), str) and isinstance(frame.get("message"), str)


@fuzz
@given(frames=st.lists(FRAMES, min_size=1, max_size=3), hello_first=st.booleans())
async def test_any_frame_gets_an_answer_or_an_error_frame(
    client: Client, frames: list[str], hello_first: bool
) -> None:
    async with client.ws_connect("/ws/widget") as socket:
        if hello_first:
            await socket.send_str(json_text({"type": "hello"}))
            assert (await socket.receive_json(timeout=30))["type"] == "welcome"
        for frame in frames:
            try:
                received = await exchange(socket, frame)
            except AssertionError:
                outcome("widget", declared=False)
                raise
            declared = all(_declared(f) for f in received)
            outcome("widget", declared=declared)
            assert declared, (frame, received)


@fuzz
@given(
    text=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=300
    ).filter(lambda t: t.strip())
)
async def test_a_message_after_hello_is_acknowledged(
    client: Client, components: Components, text: str
) -> None:
    # A few returning visitors, so neither the per-visitor message limit nor the per-address
    # limit on new conversations is reached.
    token = sign_visitor(components.secret, f"fuzz-visitor-{next(_visits) % 10}")
    async with client.ws_connect("/ws/widget") as socket:
        await socket.send_str(json_text({"type": "hello", "token": token}))
        assert (await socket.receive_json(timeout=30))["type"] == "welcome"
        received = await exchange(socket, json_text({"type": "message", "text": text}))
        outcome("widget", declared=all(_declared(f) for f in received))
        assert received[0]["type"] == "ack", received
        assert received[0]["message"]["text"] == text.strip()
