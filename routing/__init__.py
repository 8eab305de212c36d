"""Routing policy: pure functions from plain data (queues, agent loads, rules, clocks) to
decisions."""

from routing.policy import (
    STRATEGIES,
    AgentLoad,
    TicketNeeds,
    can_serve,
    choose_queue,
    estimate_wait_minutes,
    pick_agent,
    rank_agents,
)
from routing.rules import (
    PRIORITIES,
    Match,
    PriorityRule,
    QueueChoice,
    QueueRule,
    TicketFacts,
    priority_for,
    priority_rank,
    raised,
    route_queue,
)
from routing.sla import BusinessHours, SlaPolicy, SlaTargets, add_business_minutes

__all__ = [
    "PRIORITIES",
    "STRATEGIES",
    "AgentLoad",
    "BusinessHours",
    "Match",
    "PriorityRule",
    "QueueChoice",
    "QueueRule",
    "SlaPolicy",
    "SlaTargets",
    "TicketFacts",
    "TicketNeeds",
    "add_business_minutes",
    "can_serve",
    "choose_queue",
    "estimate_wait_minutes",
    "pick_agent",
    "priority_for",
    "priority_rank",
    "raised",
    "rank_agents",
    "route_queue",
]
