"""A whole report for a filter: quality per agent and queue, bot performance, the conversations."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scoring.conversations import (
    BotPerformance,
    ConversationRow,
    ReportFilter,
    bot_performance,
    conversation_rows,
)
from scoring.quality import EventRecord, QualityReport, quality_report


@dataclass(frozen=True)
class Report:
    filter: ReportFilter
    quality: QualityReport
    bot: BotPerformance
    conversations: list[ConversationRow]


def build_report(events: Iterable[EventRecord], report_filter: ReportFilter) -> Report:
    """Every number of the report comes from the same filtered set of conversations."""
    records = list(events)
    rows = [r for r in conversation_rows(records) if report_filter.admits(r)]
    chosen = {r.conversation_id for r in rows}
    return Report(
        filter=report_filter,
        quality=quality_report(e for e in records if e.conversation_id in chosen),
        bot=bot_performance(rows),
        conversations=rows,
    )
