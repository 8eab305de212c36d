"""Knowledge gaps for supervisors: the customer questions the bot could not answer (the
knowledge base abstained, or the NLU fell back), grouped by similar meaning, with counts, last
seen and an example; filtered by period; exported as CSV."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import groupby

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.engine import KB_CHOICE
from bot.settings import Settings
from bot.web import keys
from bot.web.auth import REPORT_ROLES
from bot.web.render import render
from bot.web.staff import staff
from knowledge_base.embedding_cache import EmbeddingCache
from knowledge_base.gaps import Gap, Question, group_questions
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Vectors
from nlu.parse import FALLBACK_INTENT
from storage.models import Message, utcnow

routes = web.RouteTableDef()
PERIODS = {"7d": 7, "30d": 30, "90d": 90, "all": None}
PERIOD_NAMES = (("7d", "Last 7 days"), ("30d", "Last 30 days"), ("90d", "Last 90 days"),
                ("all", "All time"))  # fmt: skip
RATING_ANSWERS = frozenset({"1", "2", "3", "4", "5"})
CACHE_LIMIT = 50_000  # question vectors kept between page loads (1.5 kB each)
_question_vectors = EmbeddingCache()


@routes.get("/kb/gaps")
async def gaps_page(request: web.Request) -> web.Response:
    period, gaps = await _gaps(request)
    rows = [
        {
            "example": g.example,
            "count": g.count,
            "last_seen": g.last_seen.strftime("%Y-%m-%d %H:%M UTC"),
            "abstained": g.kinds.get("abstained", 0),
            "fallback": g.kinds.get("fallback", 0),
            "others": [q.text for q in g.questions if q.text != g.example][:4],
        }
        for g in gaps
    ]
    context = {"gaps": rows, "period": period, "periods": PERIOD_NAMES, "active_page": "kb-admin"}
    return render(request, "kb_gaps.html", context)


@routes.get("/kb/gaps.csv")
async def gaps_csv(request: web.Request) -> web.Response:
    _, gaps = await _gaps(request)
    return web.Response(
        text=gaps_as_csv(gaps),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="helpline-knowledge-gaps.csv"'},
    )


def gaps_as_csv(gaps: list[Gap]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["example", "count", "last_seen", "abstained", "fallback", "questions"])
    for g in gaps:
        writer.writerow(
            [
                _cell(g.example),
                g.count,
                g.last_seen.isoformat(),
                g.kinds.get("abstained", 0),
                g.kinds.get("fallback", 0),
                _cell(" | ".join(q.text for q in g.questions)),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Customers write the text: never let a spreadsheet read it as a formula."""
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else text


async def _gaps(request: web.Request) -> tuple[str, list[Gap]]:
    period = request.query.get("period", "30d")
    if period not in PERIODS:
        period = "30d"
    days = PERIODS[period]
    since = None if days is None else utcnow() - timedelta(days=days)
    components = request.app[keys.COMPONENTS]
    async with components.db.session() as session:
        await staff(session, request, REPORT_ROLES)
        questions = await unanswered_questions(session, components.settings, since)
    gaps = await asyncio.to_thread(group_questions, questions, _encoder(components.kb))
    return period, gaps


def _encoder(kb: KnowledgeBaseIndex) -> Callable[[list[str]], Vectors]:
    """Encode with the vectors of questions seen before kept in memory (a page load encodes
    only new questions); the memory is let go past CACHE_LIMIT questions."""
    global _question_vectors  # noqa: PLW0603 (one cache per process, shared by the requests)
    if len(_question_vectors) > CACHE_LIMIT:
        _question_vectors = EmbeddingCache()
    cache = _question_vectors
    return lambda texts: cache.encode(kb.encoder, texts)[0]


async def unanswered_questions(
    session: AsyncSession, settings: Settings, since: datetime | None
) -> list[Question]:
    """Customer messages since `since` whose bot reply did not answer them: the rephrase prompt
    (the knowledge base abstained or the NLU fell back), an NLU fallback answered without a
    citation, or the hand-off the bot makes after asking to rephrase."""
    query = select(Message).where(Message.sender.in_(("customer", "bot")))
    if since is not None:
        query = query.where(Message.created_at >= since)
    rows = list(await session.scalars(query.order_by(Message.conversation_id, Message.id)))
    # The bot's "I'm not sure" replies: the rephrase prompt, and the offer of articles to choose.
    unsure = {settings.dialogue.responses["rephrase"], settings.dialogue.clarify}
    questions: list[Question] = []
    for asked, reply, unsure_before in _exchanges(rows, unsure):
        kind = _gap_kind(asked, reply, unsure, unsure_before, settings)
        if kind is not None:
            questions.append(Question(asked.text, asked.created_at, kind, asked.conversation_id))
    return questions


def _exchanges(rows: list[Message], unsure: set[str]) -> list[tuple[Message, Message, bool]]:
    """(customer message, the bot's first reply, whether the bot's reply before that one was
    one of the `unsure` prompts) for every customer message the bot replied to."""
    found: list[tuple[Message, Message, bool]] = []
    for _, messages in groupby(rows, key=lambda m: m.conversation_id):
        pending: Message | None = None
        previous_reply = ""
        for message in messages:
            if message.sender == "customer":
                pending = message
                continue
            if pending is not None:
                found.append((pending, message, previous_reply in unsure))
                pending = None
            previous_reply = message.text
    return found


def _gap_kind(
    asked: Message, reply: Message, unsure: set[str], unsure_before: bool, settings: Settings
) -> str | None:
    if (reply.extras or {}).get("citations") or asked.text.strip() in RATING_ANSWERS:
        return None
    if asked.intent == KB_CHOICE:  # a button the bot offered: the question came before it
        return None
    kind = "fallback" if asked.intent == FALLBACK_INTENT else "abstained"
    if reply.text in unsure or asked.intent == FALLBACK_INTENT:
        return kind
    asked_for_person = asked.intent in settings.dialogue.handoff_intents
    canned = reply.text in settings.dialogue.responses.values()  # greetings, thanks...
    if unsure_before and not asked_for_person and not canned:
        return kind  # unsure once already (rephrase or choose): the bot handed over
    return None
