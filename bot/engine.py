"""The conversation engine: one customer message in, the turn decided, replies out."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from actions.attachments import ReceivedFile, RefusedFile, attach_files
from actions.conversations import (
    add_message,
    get_conversation,
    latest_question,
    open_conversation,
    set_conversation_status,
    transcript,
)
from actions.csat import record_csat
from actions.errors import InvalidInput
from actions.lifecycle import customer_wrote
from actions.record import BOT
from actions.tickets import TicketFields, handoff
from bot import logs
from bot.live import Hub, unit_of_work
from bot.metrics import Metrics
from bot.ordering import lock_conversation
from bot.rasa.answer import apply_events, record_failure, replies
from bot.rasa.client import ActionServer, ActionServerError
from bot.rasa.local import run_helpline_action
from bot.rasa.tracker import action_request
from bot.settings import HANDOFF_ACTION, HELPLINE_ACTIONS, Settings
from knowledge_base.answer import (
    Answer,
    Clarification,
    answer_from_article,
    article_of_ref,
    article_ref,
    draft_reply,
)
from knowledge_base.index import KnowledgeBaseIndex
from nlu.batcher import EncoderBatcher, parse_batched
from nlu.encoder import Vectors
from nlu.model import NLUModel
from nlu.parse import FALLBACK_INTENT, Parse
from nlu.parse_process import ParseProcess
from routing import TicketFacts, choose_queue, priority_for, route_queue
from storage.database import Database
from storage.files import FileStore
from storage.models import Conversation, Message

MAX_MESSAGE_CHARS = 4000
CHITCHAT = ("greet", "goodbye", "thank_you")
UNCLEAR_BEFORE_HANDOFF = 2
ATTACHMENT_REPLY = "Thanks, I've got your file. Tell me what it is about, or ask for a person."
ACTION_FAILED = "Sorry, I can't do that right now."  # when config.yml has no action_failed
# The intent of the buttons that ask "which article?": /kb_article{"article": "<its article_ref>"}.
KB_CHOICE = "kb_article"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundMessage:
    """A customer's message as a channel adapter hands it over."""

    channel: str
    sender: str
    text: str
    external_id: str | None = None
    display_name: str | None = None
    # Files kept in the store that come with the message; `text` may then be empty (no caption).
    attachments: tuple[ReceivedFile, ...] = ()
    # Files the customer sent that were not kept, and why: noted in the message, told to them.
    refused: tuple[RefusedFile, ...] = ()


@dataclass(frozen=True)
class PendingAction:
    """An action for the action server, called once the customer's message is committed."""

    name: str
    request: dict[str, Any]
    parse: Parse


@dataclass
class Turn:
    conversation_id: int
    message: Message
    replies: list[Message] = field(default_factory=list)
    duplicate: bool = False
    pending_action: PendingAction | None = None


Route = Literal["action", "handoff", "chitchat", "knowledge_base", "article"]


def route_for(settings: Settings, intent: str) -> Route:
    """How the bot answers a message parsed as `intent` while it has the conversation: by the
    intent's action, by handing off, with its chit-chat response, from the knowledge base, or
    from the article the customer chose when the bot asked which one they meant."""
    if intent == KB_CHOICE:
        return "article"
    if intent in settings.actions.intents:
        return "action"
    if intent in settings.dialogue.handoff_intents:
        return "handoff"
    if intent in CHITCHAT and intent in settings.dialogue.responses:
        return "chitchat"
    return "knowledge_base"


def validate_text(text: object) -> str:
    """The message text, or InvalidInput saying what is wrong with it."""
    if not isinstance(text, str):
        raise InvalidInput("the message must be a string")
    if not text.strip():
        raise InvalidInput("the message is empty")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(
            f"the message has {len(text)} characters; at most {MAX_MESSAGE_CHARS} are allowed"
        )
    return text.strip()


class Engine:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        nlu: NLUModel,
        kb: KnowledgeBaseIndex,
        hub: Hub,
        *,
        metrics: Metrics | None = None,
        process: ParseProcess | None = None,
    ) -> None:
        if kb.encoder.name != nlu.intent_encoder.name:
            raise ValueError(
                f"the knowledge base is indexed with {kb.encoder.name}, but the NLU's intents "
                f"come from {nlu.intent_encoder.name}: a message is encoded once, for both"
            )
        self.metrics = metrics or Metrics()
        # The one way messages are encoded and parsed: those handled at the same time share
        # encoder calls (NLU and knowledge base) and one parse, in `process` when given.
        self.encoder = EncoderBatcher(nlu.intent_encoder, process=process)
        self.settings = settings
        self.db = db
        self.nlu = nlu
        self.kb = kb
        self.hub = hub
        # Where the files customers send are kept (channels write there before `handle`).
        self.files = FileStore(settings.resolve(settings.attachments.directory))
        self._queues = settings.queue_for_intent()
        actions = settings.actions
        self.action_server = (
            ActionServer(actions.endpoint, actions.timeout_seconds) if actions.endpoint else None
        )

    def unit_of_work(self) -> Any:
        """A transaction whose changes reach live subscribers once it has committed."""
        return unit_of_work(self.db, self.hub, self.settings.csat.question)

    async def handle(self, inbound: InboundMessage) -> Turn:
        """Store the message, decide the turn and store the replies, all in one transaction.
        Files without a caption are not parsed: their names say nothing about an intent."""
        caption = inbound.text.strip()
        if caption or not (inbound.attachments or inbound.refused):
            caption = validate_text(inbound.text)
        parse, vector = None, None
        if caption:
            with self.metrics.nlu_seconds.time():
                parse, vector = await parse_batched(self.nlu, caption, self.encoder)
        # Drafted before the transaction: on SQLite this process's writers queue one behind
        # the other, and the search should not hold the line (unused if a person answers).
        answer = await self._draft(parse, vector) if parse else None
        self.metrics.messages.labels(inbound.channel).inc()
        async with self.unit_of_work() as session:
            await lock_conversation(session, inbound.channel, inbound.sender)
            conversation = await open_conversation(
                session, inbound.channel, inbound.sender, inbound.display_name
            )
            logs.conversation_id.set(conversation.id)
            message, new = await add_message(
                session,
                conversation,
                "customer",
                _stored_text(caption, inbound),
                external_id=inbound.external_id,
                annotations=_annotations(parse) if parse else None,
                flush=False,  # with the replies: one flush stores the turn's messages
            )
            if not new:
                return await self._replayed(session, conversation, message)
            if inbound.attachments:
                await attach_files(session, conversation, message, inbound.attachments)
            turn = Turn(conversation.id, message)
            for refused in inbound.refused:  # said first, whoever has the conversation
                apology = f"Sorry, I could not take {refused.label}: {refused.reason}."
                await self._say(session, conversation, apology, turn)
            await self._decide(session, conversation, parse, turn, answer)
        if turn.pending_action is not None:
            await self._run_remote_action(turn, turn.pending_action)
        return turn

    async def _decide(
        self,
        session: AsyncSession,
        conversation: Conversation,
        parse: Parse | None,
        turn: Turn,
        answer: Answer | Clarification | None = None,
    ) -> None:
        """`answer` is the knowledge base's draft for the message, if it has one (`_draft`)."""
        reopen_days = self.settings.routing.reopen_within_days
        if conversation.status in ("waiting", "with_agent"):
            await customer_wrote(session, conversation, reopen_within_days=reopen_days)
            return  # a person has the conversation: the bot stays silent and relays
        if conversation.status == "awaiting_rating":
            if parse and await self._rated_by_text(session, conversation, parse.text, turn):
                return
            if await customer_wrote(session, conversation, reopen_within_days=reopen_days):
                return  # the ticket is reopened: a person answers
            await set_conversation_status(session, conversation, "bot", BOT)
        if parse is None:  # files alone: thank for them; a refusal is told by the channel
            if turn.message.attachments:
                reply = self.settings.dialogue.responses.get("attachment", ATTACHMENT_REPLY)
                await self._say(session, conversation, reply, turn)
            return
        intent = parse.intent.name
        route = route_for(self.settings, intent)
        topical = intent not in (*CHITCHAT, "human_handoff", FALLBACK_INTENT, KB_CHOICE)
        if topical and route == "knowledge_base":
            conversation.last_intent = intent  # flushed with the reply: one UPDATE, not two
        await self._reply(session, conversation, route, parse, turn, answer)
        if topical and route != "knowledge_base":
            conversation.last_intent = intent  # last: an action or a handoff reads the one before

    async def _reply(  # noqa: PLR0917 (the turn's state, as _decide has it)
        self,
        session: AsyncSession,
        conversation: Conversation,
        route: Route,
        parse: Parse,
        turn: Turn,
        answer: Answer | Clarification | None,
    ) -> None:
        """The bot's reply to a message it has parsed, the way `route` says."""
        intent = parse.intent.name
        if route == "action":
            action = self.settings.actions.intents[intent]
            await self._run_action(session, conversation, action, parse, turn)
        elif route == "handoff":
            await self._handoff(session, conversation, intent, turn, parse)
        elif route == "chitchat":
            await self._say(session, conversation, self.settings.dialogue.responses[intent], turn)
        elif route == "article":
            await self._answer_from_choice(session, conversation, parse, turn)
        else:
            await self._answer_or_rephrase(session, conversation, parse, turn, answer)

    async def _run_action(
        self,
        session: AsyncSession,
        conversation: Conversation,
        action: str,
        parse: Parse,
        turn: Turn,
    ) -> None:
        """The intent's action: helpline's own now, the action server's after this commit."""
        responses = self.settings.dialogue.responses
        if action == HANDOFF_ACTION:
            await self._handoff(session, conversation, parse.intent.name, turn, parse)
        elif action in HELPLINE_ACTIONS:
            outcome = await run_helpline_action(session, self.settings, conversation, action, parse)
            for reply in outcome.replies:
                await self._say(session, conversation, reply.text, turn, extras=reply.extras)
        elif not self.settings.actions.remote(action, responses):
            await self._say(session, conversation, responses[action.removeprefix("utter_")], turn)
        else:
            await session.flush()  # the message's id goes in the tracker
            request = await action_request(
                session, self.settings, conversation, action, parse=parse, message=turn.message
            )
            turn.pending_action = PendingAction(action, request, parse)

    async def _run_remote_action(self, turn: Turn, pending: PendingAction) -> None:
        """Call the action server outside any transaction, then store its answer. When it
        fails the failure is recorded and the customer gets an apology and a person."""
        assert self.action_server is not None  # settings require an endpoint for remote actions
        try:
            answer = await self.action_server.run(pending.request)
        except ActionServerError as error:
            log.warning("conversation %s: %s", turn.conversation_id, error)
            async with self.unit_of_work() as session:
                conversation = await get_conversation(session, turn.conversation_id)
                record_failure(session, conversation, error)
                sorry = self.settings.dialogue.responses.get("action_failed", ACTION_FAILED)
                await self._say(session, conversation, sorry, turn)
                intent = pending.parse.intent.name
                await self._handoff(session, conversation, intent, turn, pending.parse)
            return
        async with self.unit_of_work() as session:
            conversation = await get_conversation(session, turn.conversation_id)
            shown = replies(answer, self.settings.dialogue.responses)
            for reply in shown.replies:
                await self._say(session, conversation, reply.text, turn, extras=reply.extras)
            apply_events(session, conversation, pending.name, answer, shown)

    async def ask_for_rating(self, session: AsyncSession, conversation_id: int) -> Message:
        """After resolution: the survey question, shown as rating buttons where the channel can."""
        conversation = await get_conversation(session, conversation_id)
        message, _ = await add_message(
            session,
            conversation,
            "bot",
            self.settings.csat.question,
            extras={"csat_request": True},
        )
        return message

    async def _draft(self, parse: Parse, vector: Vectors | None) -> Answer | Clarification | None:
        """The knowledge base's answer to a message the bot answers from it, when the best
        article is confident enough for the message's intent, else its best articles to ask
        about (`knowledge_base.clarify_threshold`); `vector` is the message's encoding from
        the parse (None when it was not encoded)."""
        if route_for(self.settings, parse.intent.name) != "knowledge_base":
            return None
        kb = self.settings.knowledge_base
        threshold = kb.threshold_for(parse.intent.name)
        with self.metrics.kb_seconds.time():
            if vector is None:  # a direct trigger was not encoded by the NLU
                vector = (await self.encoder.encode([parse.text]))[0]
            return await asyncio.to_thread(
                draft_reply,
                parse.text,
                self.kb,
                threshold,
                kb.clarify_threshold,
                query_vector=vector,
            )

    async def _answer_or_rephrase(
        self,
        session: AsyncSession,
        conversation: Conversation,
        parse: Parse,
        turn: Turn,
        answer: Answer | Clarification | None,
    ) -> None:
        """Answer; or, twice unsure in a row, hand off; or ask which article is meant (a
        `Clarification`); or ask to rephrase."""
        if isinstance(answer, Answer):
            conversation.unclear_count = 0
            citations = [{"title": c.title, "url": c.url} for c in answer.citations]
            await self._say(
                session,
                conversation,
                answer.text,
                turn,
                extras={"citations": citations, "confidence": answer.confidence},
            )
            return
        conversation.unclear_count += 1
        if conversation.unclear_count >= UNCLEAR_BEFORE_HANDOFF:
            conversation.unclear_count = 0
            await self._handoff(session, conversation, parse.intent.name, turn, parse)
            return
        dialogue = self.settings.dialogue
        if isinstance(answer, Clarification):
            buttons = [
                {"title": c.title, "payload": choice_payload(c.article_id)} for c in answer.choices
            ]
            extras = {"buttons": buttons, "confidence": answer.confidence}
            await self._say(session, conversation, dialogue.clarify, turn, extras=extras)
            return
        rephrase = dialogue.responses["rephrase"]
        buttons = [b.model_dump() for b in dialogue.buttons]
        await self._say(session, conversation, rephrase, turn, extras={"buttons": buttons})

    async def _answer_from_choice(
        self, session: AsyncSession, conversation: Conversation, parse: Parse, turn: Turn
    ) -> None:
        """The customer chose an article the bot offered: answer their question from it. An
        article that is gone (or a made-up payload) is unclear, as any message the knowledge
        base cannot answer."""
        ref = next((e.value for e in parse.entities if e.entity == "article"), None)
        chosen = article_of_ref(self.kb, ref) if ref is not None else None
        answer = None
        if chosen is not None:
            question = await latest_question(session, conversation.id, KB_CHOICE)
            title = self.kb.articles[chosen].title
            answer = answer_from_article(question or title, self.kb, chosen)
        await self._answer_or_rephrase(session, conversation, parse, turn, answer)

    async def _handoff(
        self,
        session: AsyncSession,
        conversation: Conversation,
        intent: str,
        turn: Turn,
        parse: Parse,
    ) -> None:
        text = parse.text
        topic = intent if intent in self._queues else conversation.last_intent
        facts = TicketFacts(
            intent=topic,
            language=parse.language,
            tier=conversation.customer.tier,
            channel=conversation.channel,
            sentiment=parse.sentiment.label,
            text=text,
        )
        by_intent = choose_queue(topic, self._queues, self.settings.routing.default_queue)
        route = route_queue(facts, self.settings.queue_rules(), by_intent)
        queue = route.queue
        priority = priority_for(facts, self.settings.priority_rules())
        result = await handoff(
            session,
            conversation,
            queue,
            subject=text,
            category=topic,
            minutes_per_ticket=self.settings.routing.minutes_per_waiting_ticket,
            fields=TicketFields(priority=priority, language=parse.language, skills=route.skills),
        )
        wait = result.wait_minutes
        reply = self.settings.dialogue.responses["handoff"].format(
            queue=queue,
            ticket=result.ticket.id,
            wait=f"{wait} minute" if wait == 1 else f"{wait} minutes",
        )
        await self._say(session, conversation, reply, turn)

    async def _rated_by_text(
        self,
        session: AsyncSession,
        conversation: Conversation,
        text: str,
        turn: Turn,
    ) -> bool:
        """On channels without buttons the customer answers the survey with a digit."""
        if text not in {"1", "2", "3", "4", "5"}:
            return False
        await record_csat(session, conversation, int(text))
        await self._say(session, conversation, self.settings.csat.thanks, turn)
        return True

    async def _say(
        self,
        session: AsyncSession,
        conversation: Conversation,
        text: str,
        turn: Turn,
        extras: dict[str, Any] | None = None,
    ) -> None:
        message, _ = await add_message(
            session, conversation, "bot", text, extras=extras, flush=False
        )
        turn.replies.append(message)

    async def _replayed(
        self, session: AsyncSession, conversation: Conversation, message: Message
    ) -> Turn:
        """A message seen before: answer with the replies it got the first time, store nothing."""
        later = [m for m in await transcript(session, conversation.id) if m.id > message.id]
        replies = []
        for reply in later:
            if reply.sender == "customer":
                break
            if reply.sender == "bot":
                replies.append(reply)
        return Turn(conversation.id, message, replies, duplicate=True)


def choice_payload(article_id: str) -> str:
    """The payload of the button that chooses an article (parsed as a direct trigger)."""
    return f"/{KB_CHOICE}" + json.dumps({"article": article_ref(article_id)}, separators=(",", ":"))


def _stored_text(caption: str, inbound: InboundMessage) -> str:
    """The caption, else the files' names; then what was refused."""
    names = ", ".join(f.filename for f in inbound.attachments)
    notes = [f"({r.label} was not accepted: {r.reason})" for r in inbound.refused]
    return "\n".join(part for part in (caption or names, *notes) if part)


def _annotations(parse: Parse) -> dict[str, Any]:
    return {
        "intent": parse.intent.name,
        "confidence": round(parse.intent.confidence, 4),
        "entities": [{"entity": e.entity, "value": e.value} for e in parse.entities],
        "sentiment": {"label": parse.sentiment.label, "score": parse.sentiment.score},
    }
