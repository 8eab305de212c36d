"""Routing policy: queue choice, agent choice and the wait estimate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from routing import AgentLoad, choose_queue, estimate_wait_minutes, pick_agent

INTENT_QUEUES = {"refund_request": "billing", "shipping_info": "orders", "account_help": "tech"}
NOW = datetime(2025, 3, 4, 12, 0, tzinfo=UTC)


def agent(
    agent_id: int,
    open_tickets: int = 0,
    *,
    online: bool = True,
    capacity: int = 3,
    minutes_ago: int | None = None,
) -> AgentLoad:
    assigned = None if minutes_ago is None else NOW - timedelta(minutes=minutes_ago)
    return AgentLoad(agent_id, online, capacity, open_tickets, assigned)


@pytest.mark.parametrize(
    ("intent", "queue"),
    [
        ("refund_request", "billing"),
        ("shipping_info", "orders"),
        ("account_help", "tech"),
        ("greet", "general"),
        (None, "general"),
    ],
)
def test_choose_queue(intent: str | None, queue: str) -> None:
    assert choose_queue(intent, INTENT_QUEUES, default="general") == queue


def test_choose_queue_uses_the_given_default() -> None:
    assert choose_queue("unknown", {}, default="frontline") == "frontline"


def test_pick_agent_takes_the_least_busy() -> None:
    agents = [agent(1, 2, minutes_ago=50), agent(2, 0, minutes_ago=1), agent(3, 1, minutes_ago=90)]
    assert pick_agent(agents) == 2


def test_pick_agent_skips_offline_and_full_agents() -> None:
    agents = [
        agent(1, 0, online=False),
        agent(2, 3, capacity=3),
        agent(3, 5, capacity=3),
        agent(4, 2, capacity=3),
    ]
    assert pick_agent(agents) == 4


def test_pick_agent_breaks_ties_by_the_oldest_assignment() -> None:
    agents = [agent(1, 1, minutes_ago=5), agent(2, 1, minutes_ago=30), agent(3, 1, minutes_ago=10)]
    assert pick_agent(agents) == 2


def test_pick_agent_prefers_an_agent_never_assigned_on_a_tie() -> None:
    agents = [agent(1, 1, minutes_ago=600), agent(2, 1, minutes_ago=None), agent(3, 2)]
    assert pick_agent(agents) == 2


def test_pick_agent_compares_load_before_waiting_time() -> None:
    agents = [agent(1, 1, minutes_ago=None), agent(2, 0, minutes_ago=1)]
    assert pick_agent(agents) == 2


def test_pick_agent_is_independent_of_the_order_given() -> None:
    agents = [agent(1, 1, minutes_ago=5), agent(2, 1, minutes_ago=30), agent(3, 2)]
    assert pick_agent(agents) == pick_agent(list(reversed(agents))) == 2


@pytest.mark.parametrize(
    "agents",
    [
        [],
        [agent(1, 3), agent(2, 4, capacity=4)],
        [agent(1, 0, online=False), agent(2, 1, online=False)],
        [agent(1, 0, capacity=0)],
    ],
)
def test_pick_agent_returns_none_when_nobody_can_take_it(agents: list[AgentLoad]) -> None:
    assert pick_agent(agents) is None


def test_pick_agent_accepts_an_iterator() -> None:
    assert pick_agent(iter([agent(7, 0)])) == 7


def test_has_room() -> None:
    assert agent(1, 2, capacity=3).has_room
    assert not agent(1, 3, capacity=3).has_room
    assert not agent(1, 0, online=False).has_room


def test_wait_is_at_least_a_minute() -> None:
    assert estimate_wait_minutes(0, [agent(1, 0)], minutes_per_ticket=4) == 1
    assert estimate_wait_minutes(0, [agent(1, 0)], minutes_per_ticket=0) >= 1
    assert estimate_wait_minutes(0, [], minutes_per_ticket=0.01) >= 1


def test_wait_grows_with_the_tickets_ahead() -> None:
    agents = [agent(1, 3), agent(2, 3)]
    waits = [estimate_wait_minutes(n, agents, minutes_per_ticket=4) for n in range(0, 12)]
    assert waits == sorted(waits)
    assert waits[-1] > waits[0]


def test_wait_shrinks_with_more_agents_online() -> None:
    waits = [
        estimate_wait_minutes(10, [agent(i, 3) for i in range(n)], minutes_per_ticket=4)
        for n in range(1, 6)
    ]
    assert waits == sorted(waits, reverse=True)
    assert waits[-1] < waits[0]


def test_offline_agents_do_not_shorten_the_wait() -> None:
    online = [agent(1, 3)]
    with_offline = [*online, agent(2, 0, online=False), agent(3, 0, online=False)]
    assert estimate_wait_minutes(5, with_offline, 4) == estimate_wait_minutes(5, online, 4)


def test_nobody_online_means_a_longer_wait() -> None:
    offline = [agent(1, 0, online=False)]
    busy_online = [agent(1, 3)]
    assert estimate_wait_minutes(2, offline, 4) > estimate_wait_minutes(2, busy_online, 4)


def test_a_free_agent_means_the_shortest_wait() -> None:
    assert estimate_wait_minutes(0, [agent(1, 0)], 4) < estimate_wait_minutes(0, [agent(1, 3)], 4)
