"""Fuzzing `POST /webhooks/rest/webhook`: any body gets a reply list or a 4xx error object."""

from __future__ import annotations

import itertools
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.bot.conftest import Client
from tests.fuzz.strategies import INTENT_PAYLOADS, JSON, TEXT, json_text
from tests.fuzz.tally import fuzz, outcome

HOOK = "/webhooks/rest/webhook"
_senders = itertools.count()

BODIES = st.one_of(
    JSON.map(json_text),
    st.text(max_size=200),
    st.fixed_dictionaries(
        {"sender": st.one_of(TEXT, JSON), "message": st.one_of(TEXT, JSON, INTENT_PAYLOADS)},
        optional={"message_id": JSON},
    ).map(json_text),
    st.builds(
        lambda message: json_text({"sender": f"fuzz-{next(_senders)}", "message": message}),
        st.one_of(TEXT, INTENT_PAYLOADS),
    ),
)


async def check_answer(client: Client, body: str) -> tuple[int, Any]:
    """Post `body`; the answer must be a reply list (200) or the 4xx error shape."""
    response = await client.post(
        HOOK,
        data=body.encode("utf-8", "surrogatepass"),
        headers={"Content-Type": "application/json"},
    )
    payload = json.loads(await response.text())
    declared = response.status == 200 or (400 <= response.status < 500 and _is_error(payload))
    outcome("rest", declared=declared)
    assert declared, (response.status, payload)
    if response.status == 200:
        assert isinstance(payload, list)
        assert all(isinstance(r.get("text"), str) for r in payload)
    return response.status, payload


def _is_error(payload: object) -> bool:
    if not isinstance(payload, dict) or set(payload) != {"error"}:
        return False
    error = payload["error"]
    return (
        isinstance(error, dict)
        and isinstance(error.get("code"), str)
        and isinstance(error.get("message"), str)
    )


@fuzz
@given(body=BODIES)
async def test_any_body_gets_replies_or_a_declared_error(client: Client, body: str) -> None:
    await check_answer(client, body)


@fuzz
@given(
    text=st.text(
        st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=300
    ).filter(lambda t: t.strip())
)
async def test_any_non_empty_message_is_answered(client: Client, text: str) -> None:
    sender = f"valid-{next(_senders)}"
    status, replies = await check_answer(client, json_text({"sender": sender, "message": text}))
    assert status == 200
    assert replies and all(r["recipient_id"] == sender for r in replies)


async def test_an_intent_payload_with_entities_still_works(client: Client) -> None:
    body = {"sender": "buttons", "message": '/order_status{"order_id": "A-1234"}'}
    status, replies = await check_answer(client, json_text(body))
    assert status == 200 and replies
