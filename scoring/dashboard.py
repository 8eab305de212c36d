"""The quality dashboard's figures from grouped sums of conversation facts.

Whoever holds the facts (a list in memory, or daily rollup tables in a database) answers the
same groupings (`CONVERSATION_GROUPS`, `AGENT_GROUPS`) with summed measures; `dashboard` turns
those sums into every number, table and trend the reports show. Each conversation counts in one
queue, one agent (the last one assigned), one channel, one intent (its first understood one) and
one day (when it started); agent tables count each agent's own part in the conversations.

The agent score is one number made of four parts, each 0-100 and shown beside it:
CSAT (weight 0.4), SLA met (0.2), resolution rate (0.2) and tickets not reopened (0.2). A part
the agent has no data for is left out and the other weights are scaled up to sum to 1; without
any part there is no score."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from scoring.facts import AGENT_MEASURES, MEASURES, ConversationFacts, Measures, add_into, zero

Key = tuple[Any, ...]
Grouped = dict[Key, Measures]
CONVERSATION_GROUPS: dict[str, tuple[str, ...]] = {
    "all": (),
    "queue": ("queue",),
    "agent": ("agent_id",),
    "intent": ("intent",),
    "day": ("day",),
    "day_intent": ("day", "intent"),
    "day_channel": ("day", "channel"),
}
AGENT_GROUPS: dict[str, tuple[str, ...]] = {
    "agent": ("agent_id",),
    "agent_queue": ("agent_id", "queue"),
    "agent_intent": ("agent_id", "intent"),
}
DIMENSIONS = ("day", "queue", "agent_id", "channel", "intent")
SCORE_WEIGHTS = {"csat": 0.4, "sla_met": 0.2, "resolution_rate": 0.2, "not_reopened": 0.2}
WEEKLY_AFTER_DAYS = 31  # longer periods trend by week
TOP_SERIES = 5  # intents shown by name in the volume trend; the rest add up to "other"
NOT_UNDERSTOOD = "(not understood)"


@dataclass(frozen=True)
class Sums:
    """The answers of one store to every grouping the dashboard needs."""

    conversations: dict[str, Grouped]  # CONVERSATION_GROUPS name -> key -> summed MEASURES
    agents: dict[str, Grouped]  # AGENT_GROUPS name -> key -> summed AGENT_MEASURES


def dims(facts: ConversationFacts) -> dict[str, Any]:
    row = facts.row
    return {
        "day": facts.day,
        "queue": row.queue,
        "agent_id": row.agent_id,
        "channel": row.channel,
        "intent": row.intent,
    }


def sums_in_memory(
    facts: Iterable[ConversationFacts], predicted_micro: Callable[[ConversationFacts], int]
) -> Sums:
    """Group facts held in memory the way a store's rollups are grouped."""
    conversations: dict[str, Grouped] = {name: {} for name in CONVERSATION_GROUPS}
    agents: dict[str, Grouped] = {name: {} for name in AGENT_GROUPS}
    for item in facts:
        where = dims(item)
        measures = {**item.measures, "predicted_micro": predicted_micro(item)}
        for name, keys in CONVERSATION_GROUPS.items():
            _add(conversations[name], tuple(where[k] for k in keys), measures, MEASURES)
        for agent, part in item.agents.items():
            mine = {**where, "agent_id": agent}
            for name, keys in AGENT_GROUPS.items():
                _add(agents[name], tuple(mine[k] for k in keys), part, AGENT_MEASURES)
    return Sums(conversations, agents)


def _add(into: Grouped, key: Key, part: Measures, names: tuple[str, ...]) -> None:
    add_into(into.setdefault(key, zero(names)), part)


def dashboard(sums: Sums, names: Mapping[int, str], days: int | None) -> dict[str, Any]:
    """Everything the page, the HTML report and the JSON export show; `days` is the period's
    length (None: all time), which sets the trend's step."""
    conv, agents = sums.conversations, sums.agents
    total = conv["all"].get((), zero())
    return {
        "summary": {
            **quality("All", total),
            "conversations": total["conversations"],
            "containment": share(total["contained"], total["conversations"]),
            "handed_off": total["handed_off"],
            "handoff_rate": share(total["handed_off"], total["conversations"]),
            "sla_met": share(total["sla_met"], total["sla_total"]),
            "response_rate": share(total["ratings"], total["surveys"]),
            "ratings_refused": total["ratings_refused"],
            "kb_answer_rate": share(total["kb_answers"], total["messages_in"]),
            "fallback_rate": share(total["fallbacks"], total["messages_in"]),
        },
        "agents": _agent_rows(conv["agent"], agents["agent"], names),
        "queues": [
            quality(str(key[0]), m)
            for key, m in sorted(conv["queue"].items(), key=_text_key)
            if key[0] is not None
        ],
        "handoff_intents": _handoff_intents(conv["intent"]),
        "performance": performance(sums, names),
        "trends": trends(conv, days),
    }


def _text_key(item: tuple[Key, Measures]) -> str:
    return "" if item[0][0] is None else str(item[0][0])


def quality(name: str, m: Measures, *, agent_id: int | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "agent_id": agent_id,
        "predicted": predicted(m),
        "tickets_handled": m.get("tickets_resolved", m.get("resolved", 0)),
        "ratings": m["ratings"],
        "csat": share(m["satisfied"], m["ratings"]),
        "first_response_avg_s": average_s(m["first_response_ms"], m["first_response_n"]),
        "resolution_avg_s": average_s(m["resolution_ms"], m["resolution_n"]),
    }


def predicted(m: Measures) -> float | None:
    if "predicted_micro" not in m or not m["conversations"]:
        return None
    return round(100 * m["predicted_micro"] / 1_000_000 / m["conversations"], 1)


def share(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def average_s(total_ms: int, count: int) -> float | None:
    return round(total_ms / count / 1000, 1) if count else None


def _agent_rows(
    by_conv: Grouped, by_part: Grouped, names: Mapping[int, str]
) -> list[dict[str, Any]]:
    rows = []
    for (agent,), part in by_part.items():
        measured = part["resolved"] or part["ratings"] or part["first_response_n"]
        if not measured and not part["resolution_n"]:
            continue
        row = quality(names.get(agent, f"#{agent}"), part, agent_id=agent)
        row["predicted"] = predicted(by_conv.get((agent,), zero()))
        rows.append(row)
    return sorted(rows, key=lambda r: r["name"])


def _handoff_intents(by_intent: Grouped) -> dict[str, int]:
    counts = {
        (key[0] or NOT_UNDERSTOOD): m["handed_off"]
        for key, m in by_intent.items()
        if m["handed_off"]
    }
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def performance(sums: Sums, names: Mapping[int, str]) -> list[dict[str, Any]]:
    """Per agent: the parts of their performance, their CSAT against peers on the same queues
    and on the same intents, and the score made of the parts."""
    conv, agents = sums.conversations, sums.agents
    rows = []
    for (agent,), p in agents["agent"].items():
        if not p["assigned"]:
            continue
        parts = {
            "tickets_assigned": p["assigned"],
            "tickets_resolved": p["resolved"],
            "resolution_rate": share(p["resolved"], p["assigned"]),
            "first_response_avg_s": average_s(p["first_response_ms"], p["first_response_n"]),
            "response_avg_s": average_s(p["reply_ms"], p["reply_n"]),
            "handle_avg_s": average_s(p["handle_ms"], p["handle_n"]),
            "reopen_rate": share(p["reopened"], p["resolved"]),
            "transfers": p["transfers"],
            "sla_met": share(p["sla_met"], p["resolved"]),
            "ratings": p["ratings"],
            "csat": share(p["satisfied"], p["ratings"]),
            "csat_vs_peers": vs_peers(agent, p, agents["agent_queue"], conv["queue"]),
            "csat_vs_intent_peers": vs_peers(agent, p, agents["agent_intent"], conv["intent"]),
        }
        rows.append(
            {
                "name": names.get(agent, f"#{agent}"),
                "agent_id": agent,
                **parts,
                "score": score(parts),
            }
        )
    return sorted(rows, key=lambda r: r["name"])


def vs_peers(agent: int, own: Measures, by_agent_group: Grouped, by_group: Grouped) -> float | None:
    """Points the agent's CSAT is above (or below) what the same groups (queues or intents)
    get overall, each group weighted by the agent's ratings in it."""
    if not own["ratings"]:
        return None
    expected = 0.0
    for (who, group), part in by_agent_group.items():
        if who != agent or not part["ratings"]:
            continue
        overall = by_group.get((group,), zero())
        expected += part["ratings"] * 100.0 * overall["satisfied"] / max(overall["ratings"], 1)
    return round(100.0 * own["satisfied"] / own["ratings"] - expected / own["ratings"], 1)


def score(parts: Mapping[str, Any]) -> float | None:
    """The agent score: see the module docstring for how it is made."""
    values: dict[str, float | None] = {
        "csat": parts["csat"],
        "sla_met": parts["sla_met"],
        "resolution_rate": parts["resolution_rate"],
        "not_reopened": None if parts["reopen_rate"] is None else 100.0 - parts["reopen_rate"],
    }
    known = {k: v for k, v in values.items() if v is not None}
    weight = sum(SCORE_WEIGHTS[k] for k in known)
    if not known:
        return None
    return round(sum(SCORE_WEIGHTS[k] * v for k, v in known.items()) / weight, 1)


def trends(conv: Mapping[str, Grouped], days: int | None) -> dict[str, Any]:
    """Per day (or per week for long periods): CSAT, predicted satisfaction, SLA met and
    containment, and volume by intent and by channel."""
    span = days if days is not None else _span(conv["day"])
    step = bucket_of(span)
    by_step: dict[date, Measures] = defaultdict(zero)
    for (day,), m in conv["day"].items():
        add_into(by_step[step(day)], m)
    steps = sorted(by_step)
    return {
        "step": "week" if span > WEEKLY_AFTER_DAYS else "day",
        "labels": [s.isoformat() for s in steps],
        "csat": [share(by_step[s]["satisfied"], by_step[s]["ratings"]) for s in steps],
        "predicted": [predicted(by_step[s]) for s in steps],
        "sla_met": [share(by_step[s]["sla_met"], by_step[s]["sla_total"]) for s in steps],
        "containment": [share(by_step[s]["contained"], by_step[s]["conversations"]) for s in steps],
        "volume_by_intent": _volumes(conv["day_intent"], steps, step, top=TOP_SERIES),
        "volume_by_channel": _volumes(conv["day_channel"], steps, step, top=None),
    }


def _span(by_day: Grouped) -> int:
    found = [key[0] for key in by_day]
    return (max(found) - min(found)).days + 1 if found else 0


def bucket_of(span: int) -> Callable[[date], date]:
    if span > WEEKLY_AFTER_DAYS:
        return lambda day: day - timedelta(days=day.weekday())
    return lambda day: day


def _volumes(
    grouped: Grouped, steps: list[date], step: Callable[[date], date], top: int | None
) -> dict[str, list[int]]:
    series: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for (day, label), m in grouped.items():
        series[label or NOT_UNDERSTOOD][step(day)] += m["conversations"]
    ranked = sorted(series, key=lambda s: (-sum(series[s].values()), s))
    named = ranked if top is None else ranked[:top]
    result = {s: [series[s].get(d, 0) for d in steps] for s in named}
    rest = [s for s in ranked if s not in named]
    if rest:
        result["other"] = [sum(series[s].get(d, 0) for s in rest) for d in steps]
    return result
