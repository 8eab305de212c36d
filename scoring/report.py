"""A whole report for a filter: quality per agent and queue, bot performance, the conversations,
and predicted satisfaction for each of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from statistics import mean

from scoring.agents import AgentPerformance, agent_performance
from scoring.conversations import (
    BotPerformance,
    ConversationRow,
    ReportFilter,
    bot_performance,
    conversation_rows,
)
from scoring.quality import EventRecord, QualityReport, quality_report
from scoring.satisfaction import Prediction, SatisfactionModel, fit_model


@dataclass(frozen=True)
class Report:
    filter: ReportFilter
    quality: QualityReport
    bot: BotPerformance
    conversations: list[ConversationRow]
    model: SatisfactionModel
    predictions: dict[int, Prediction]  # conversation id -> prediction
    agents: dict[int, AgentPerformance]  # agent id -> the parts of their performance

    def predicted(
        self, key: Callable[[ConversationRow], Hashable] | None = None
    ) -> dict[Hashable, float]:
        """Average predicted satisfaction (% likely satisfied), overall (key None -> "all") or
        grouped by `key`."""
        groups: dict[Hashable, list[float]] = defaultdict(list)
        for row in self.conversations:
            group = "all" if key is None else key(row)
            if group is not None:
                groups[group].append(self.predictions[row.conversation_id].probability)
        return {group: round(100 * mean(values), 1) for group, values in groups.items()}


def build_report(events: Iterable[EventRecord], report_filter: ReportFilter) -> Report:
    """Every number of the report comes from the same filtered set of conversations; the
    satisfaction model learns from every rated conversation, filtered or not."""
    records = list(events)
    everything = conversation_rows(records)
    model = fit_model(everything)
    rows = [r for r in everything if report_filter.admits(r)]
    chosen = {r.conversation_id for r in rows}
    events_chosen = [e for e in records if e.conversation_id in chosen]
    return Report(
        filter=report_filter,
        quality=quality_report(events_chosen),
        bot=bot_performance(rows),
        conversations=rows,
        model=model,
        predictions={r.conversation_id: model.predict(r) for r in rows},
        agents=agent_performance(events_chosen),
    )
