"""Queue and priority rules, skills and languages in the choice of an agent."""

from __future__ import annotations

from datetime import UTC, datetime

from routing import (
    AgentLoad,
    Match,
    PriorityRule,
    QueueRule,
    TicketFacts,
    TicketNeeds,
    pick_agent,
    priority_for,
    raised,
    route_queue,
)

RULES = [
    QueueRule("vip", Match(tiers=("vip",))),
    QueueRule(
        "billing", Match(intents=("refund_request",), keywords=("chargeback",)), {"billing": 2}
    ),
    QueueRule("spanish", Match(languages=("es",), channels=("telegram",))),
    QueueRule("billing", Match(intents=("refund_request",))),
]


def test_the_first_matching_rule_decides_the_queue() -> None:
    assert (
        route_queue(TicketFacts(intent="refund_request", tier="vip"), RULES, "general").queue
        == "vip"
    )
    hard = route_queue(TicketFacts(intent="refund_request", text="A CHARGEBACK!"), RULES, "general")
    assert (hard.queue, dict(hard.skills)) == ("billing", {"billing": 2})
    assert route_queue(TicketFacts(intent="refund_request"), RULES, "general").queue == "billing"
    assert (
        route_queue(TicketFacts(language="es", channel="telegram"), RULES, "general").queue
        == "spanish"
    )
    assert (
        route_queue(TicketFacts(language="es", channel="web"), RULES, "general").queue == "general"
    )


def test_the_highest_matching_priority_wins() -> None:
    rules = [
        PriorityRule("high", Match(sentiments=("negative",))),
        PriorityRule("urgent", Match(keywords=("lawyer", "fraud"))),
        PriorityRule("low", Match(intents=("feedback",))),
    ]
    assert priority_for(TicketFacts(sentiment="negative"), rules) == "high"
    assert priority_for(TicketFacts(sentiment="negative", text="Fraud!"), rules) == "urgent"
    assert priority_for(TicketFacts(intent="feedback"), rules) == "low"
    assert priority_for(TicketFacts(), rules) == "normal"
    assert [raised(p) for p in ("low", "normal", "high", "urgent")] == [
        "normal",
        "high",
        "urgent",
        "urgent",
    ]


def test_agents_need_the_language_and_the_skill_level() -> None:
    agents = [
        AgentLoad(1, True, 3, 0, skills={"billing": 1}, languages=frozenset({"en"})),
        AgentLoad(2, True, 3, 2, skills={"billing": 3}, languages=frozenset({"en", "es"})),
        AgentLoad(3, True, 3, 1),  # no languages listed: takes any
    ]
    assert pick_agent(agents, TicketNeeds(language="es")) == 3
    assert pick_agent(agents, TicketNeeds(language="es", skills={"billing": 1})) == 2
    assert pick_agent(agents, TicketNeeds(skills={"billing": 4})) is None
    assert pick_agent(agents) == 1


def test_round_robin_takes_whoever_waited_longest_whatever_their_load() -> None:
    agents = [
        AgentLoad(1, True, 5, 0, datetime(2026, 1, 2, tzinfo=UTC)),
        AgentLoad(2, True, 5, 4, datetime(2026, 1, 1, tzinfo=UTC)),
    ]
    assert pick_agent(agents, strategy="least_busy") == 1
    assert pick_agent(agents, strategy="round_robin") == 2
