"""The shape of a Telegram update, checked before python-telegram-bot reads it: `Update.de_json`
trusts its input, so a field of the wrong type would fail deep inside it or in our handlers."""

from __future__ import annotations

from typing import Any

from actions.errors import InvalidInput

Fields = dict[str, type]
_USER: Fields = {"id": int, "first_name": str, "last_name": str, "username": str}
_CHAT: Fields = {"id": int, "type": str, "first_name": str, "title": str}
_MESSAGE: Fields = {
    "message_id": int,
    "date": int,
    "chat": dict,
    "from": dict,
    "text": str,
    "caption": str,
    "photo": list,
    "document": dict,
    "edit_date": int,
}
_CALLBACK: Fields = {"id": str, "from": dict, "data": str, "message": dict, "chat_instance": str}
_DOCUMENT: Fields = {"file_id": str, "file_unique_id": str, "file_name": str}


def check_update(data: dict[str, Any]) -> None:
    """InvalidInput naming the first field helpline reads that is missing or of the wrong type."""
    for key in ("message", "edited_message"):
        if data.get(key) is not None:
            _message(data[key], key)
    query = data.get("callback_query")
    if query is not None:
        _object(query, "callback_query", _CALLBACK, required=("id", "from"))
        _object(query["from"], "callback_query.from", _USER, required=("id", "first_name"))
        if query.get("message") is not None:
            _message(query["message"], "callback_query.message")


def _message(value: object, where: str) -> None:
    message = _object(value, where, _MESSAGE, required=("message_id", "date", "chat"))
    _object(message["chat"], f"{where}.chat", _CHAT, required=("id", "type"))
    if message.get("from") is not None:
        _object(message["from"], f"{where}.from", _USER, required=("id", "first_name"))
    if message.get("document") is not None:
        _object(message["document"], f"{where}.document", _DOCUMENT, required=("file_id",))
    for number, size in enumerate(message.get("photo") or []):
        _object(size, f"{where}.photo[{number}]", _DOCUMENT, required=("file_id",))


def _object(value: object, where: str, fields: Fields, required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidInput(f"`{where}` must be an object")
    for key in required:
        if value.get(key) is None:
            raise InvalidInput(f"`{where}.{key}` is missing")
    for key, kind in fields.items():
        item = value.get(key)
        if item is not None and (not isinstance(item, kind) or isinstance(item, bool)):
            raise InvalidInput(f"`{where}.{key}` must be of type {kind.__name__}")
    return value
