"""Rules from config.yml, as plain data: which queue a ticket goes to and which priority it gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

PRIORITIES = ("low", "normal", "high", "urgent")


@dataclass(frozen=True)
class TicketFacts:
    """What is known about a ticket when it is created."""

    intent: str | None = None
    language: str | None = None
    tier: str | None = None
    channel: str | None = None
    sentiment: str | None = None  # negative | neutral | positive
    text: str = ""


@dataclass(frozen=True)
class Match:
    """Conditions of a rule; an empty list matches anything, every list given must match."""

    intents: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tiers: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()

    def matches(self, facts: TicketFacts) -> bool:
        checks = (
            (self.intents, facts.intent),
            (self.languages, facts.language),
            (self.tiers, facts.tier),
            (self.channels, facts.channel),
            (self.sentiments, facts.sentiment),
        )
        if any(wanted and value not in wanted for wanted, value in checks):
            return False
        text = facts.text.casefold()
        return not self.keywords or any(k.casefold() in text for k in self.keywords)


@dataclass(frozen=True)
class QueueRule:
    queue: str
    when: Match
    skills: Mapping[str, int] = field(default_factory=dict)  # extra skills the ticket needs


@dataclass(frozen=True)
class PriorityRule:
    priority: str
    when: Match


@dataclass(frozen=True)
class QueueChoice:
    queue: str
    skills: Mapping[str, int] = field(default_factory=dict)


def route_queue(facts: TicketFacts, rules: Sequence[QueueRule], default: str) -> QueueChoice:
    """The first rule that matches decides the queue (and extra skills); else the default."""
    for rule in rules:
        if rule.when.matches(facts):
            return QueueChoice(rule.queue, dict(rule.skills))
    return QueueChoice(default)


def priority_for(facts: TicketFacts, rules: Iterable[PriorityRule], default: str = "normal") -> str:
    """The highest priority among the rules that match; the default when none does."""
    found = [rule.priority for rule in rules if rule.when.matches(facts)]
    return max(found, key=priority_rank) if found else default


def priority_rank(priority: str) -> int:
    """0 for low up to 3 for urgent; unknown values count as normal."""
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


def raised(priority: str) -> str:
    """One step up, urgent stays urgent."""
    return PRIORITIES[min(priority_rank(priority) + 1, len(PRIORITIES) - 1)]
