"""Typed keys of what the application and each request carry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from bot.components import Components

COMPONENTS: web.AppKey[Components] = web.AppKey("components")
