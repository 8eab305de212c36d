"""A realistic demo history, made through the real engine and actions with a simulated clock:
customers ask, the bot answers or hands off, agents take, reply and resolve, customers rate.
Ratings follow a known rule (waits and the outcome matter), so the scorer has something to learn."""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from actions.conversations import get_conversation
from actions.csat import record_csat
from actions.errors import Conflict
from actions.tickets import active_ticket, agent_reply, resolve_ticket, take_ticket
from actions.users import create_user
from bot.engine import Engine, InboundMessage
from nlu.training_data import TrainingData
from storage.models import AgentQueue, ChannelIdentity, Queue, User, clock, utcnow

SENDER_PREFIX = "sim-"
QUESTIONS = (
    "shipping_info",
    "returns_info",
    "order_status",
    "payment_methods",
    "product_info",
    "account_help",
)
PROBLEMS = ("billing_issue", "refund_request", "damaged_item", "technical_issue", "human_handoff")
HAPPY = ("Thanks, that helps a lot!", "Great, thank you so much.", "Perfect, all sorted.")
UNHAPPY = ("This took far too long.", "Still not fixed, this is annoying.", "Not happy with this.")
NEUTRAL = ("OK.", "I see.", "Let me check and come back.")


class RealDataError(Exception):
    """The database holds real conversations; a simulation would mix invented ones in."""


@dataclass
class Simulated:
    conversations: int = 0
    handoffs: int = 0
    ratings: int = 0


@dataclass
class SimClock:
    """The simulated time: actions read it through storage's clock while a conversation runs."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += timedelta(minutes=minutes)


@dataclass
class World:
    engine: Engine
    rng: random.Random
    examples: dict[str, list[str]]
    agents: list[User]
    skill: dict[int, float]  # agent id -> how much better than average their customers feel
    result: Simulated


async def holds_real_conversations(engine: Engine) -> bool:
    async with engine.db.session() as session:
        real = await session.scalar(
            select(func.count())
            .select_from(ChannelIdentity)
            .where(~ChannelIdentity.external_user_id.startswith(SENDER_PREFIX))
        )
    return bool(real)


async def simulate(
    engine: Engine,
    data: TrainingData,
    *,
    days: int,
    conversations: int,
    seed: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> Simulated:
    rng = random.Random(seed)  # noqa: S311 (invented demo data, not a secret)
    examples = {i: [e.text for e in data.examples if e.intent == i] for i in data.intents}
    agents = await _agents(engine)
    skill = {agent.id: rng.uniform(-0.6, 0.6) for agent in agents}
    world = World(engine, rng, examples, agents, skill, Simulated())
    end = utcnow()
    starts = sorted(end - timedelta(days=rng.uniform(0, days)) for _ in range(conversations))
    for number, start in enumerate(starts, 1):
        sim = SimClock(start)
        with clock(sim):
            await _conversation(world, number, sim)
        world.result.conversations += 1
        if progress is not None:
            progress(number, conversations)
    return world.result


async def _conversation(world: World, number: int, sim: SimClock) -> None:
    engine, rng, examples, result = world.engine, world.rng, world.examples, world.result
    sender, channel = f"{SENDER_PREFIX}{number}", rng.choices(["web", "telegram"], [4, 1])[0]
    intent = rng.choice(PROBLEMS) if rng.random() < 0.35 else rng.choice(QUESTIONS)
    pool = examples.get(intent) or examples[next(iter(examples))]
    turn = await engine.handle(InboundMessage(channel, sender, rng.choice(pool), f"{number}-1"))
    async with engine.db.session() as session:
        ticket = await active_ticket(session, turn.conversation_id)
    if ticket is None:
        return
    result.handoffs += 1
    candidates = [
        a for a in world.agents if ticket.queue_id in {q.id for q in a.queues}
    ] or world.agents
    agent = rng.choice(candidates)
    wait_minutes = rng.expovariate(1 / 12)
    sim.advance(wait_minutes)
    async with engine.unit_of_work() as session:
        ticket = await active_ticket(session, turn.conversation_id)
        assert ticket is not None  # nobody else touches simulated tickets
        me = await session.get(User, agent.id)  # this session's own copy of the agent
        assert me is not None  # agents are never deleted
        await take_ticket(session, ticket, me)
        await agent_reply(session, ticket, me, "Thanks for waiting, I'm looking into it now.")
    solved = rng.random() < 0.85 + world.skill[agent.id] / 4
    logit = (
        1.2
        + 2.0 * world.skill[agent.id]
        - 0.9 * math.log1p(wait_minutes)
        + (1.5 if solved else -1.5)
    )
    satisfied = rng.random() < 1 / (1 + math.exp(-logit))
    sim.advance(rng.expovariate(1 / 6))
    # how the customer sounds follows how they feel, but not always
    tone = HAPPY if satisfied else UNHAPPY
    mood = rng.choice(tone) if rng.random() < 0.7 else rng.choice(NEUTRAL)
    await engine.handle(InboundMessage(channel, sender, mood, f"{number}-2"))
    sim.advance(rng.expovariate(1 / 15))
    async with engine.unit_of_work() as session:
        ticket = await active_ticket(session, turn.conversation_id)
        if ticket is None:
            return
        me = await session.get(User, agent.id)
        assert me is not None  # agents are never deleted
        await resolve_ticket(session, ticket, me)
        await engine.ask_for_rating(session, ticket.conversation_id)
    if rng.random() < 0.45:
        sim.advance(rng.uniform(1, 30))
        rating = rng.choice([4, 5]) if satisfied else rng.choice([1, 2, 2, 3])
        async with engine.unit_of_work() as session:
            try:
                await record_csat(
                    session, await get_conversation(session, turn.conversation_id), rating
                )
                result.ratings += 1
            except Conflict:
                pass  # the conversation was picked up again meanwhile; no rating asked


async def _agents(engine: Engine) -> list[User]:
    """The deployment's agents, or four simulated ones in every queue when there are none."""
    async with engine.unit_of_work() as session:
        agents = list(await session.scalars(select(User).where(User.role == "agent")))
        if not agents:
            names = [q.name for q in await session.scalars(select(Queue))]
            for n in range(1, 5):
                agents.append(
                    await create_user(
                        session,
                        f"{SENDER_PREFIX}agent-{n}",
                        f"Simulated Agent {n}",
                        "agent",
                        secrets.token_urlsafe(12),
                        names,
                    )
                )
        member = select(AgentQueue.user_id)
        return [a for a in agents if a.id in set(await session.scalars(member))] or agents
