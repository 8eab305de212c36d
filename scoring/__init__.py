"""Scoring: service-quality metrics computed from plain event records."""

from scoring.conversations import (
    BotPerformance,
    ConversationRow,
    ReportFilter,
    bot_performance,
    conversation_rows,
)
from scoring.quality import EventRecord, QualityReport, QualityRow, csat, quality_report
from scoring.report import Report, build_report

__all__ = [
    "BotPerformance",
    "ConversationRow",
    "EventRecord",
    "QualityReport",
    "QualityRow",
    "Report",
    "ReportFilter",
    "bot_performance",
    "build_report",
    "conversation_rows",
    "csat",
    "quality_report",
]
