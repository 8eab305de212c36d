"""Scoring: service-quality metrics computed from plain event records."""

from scoring.quality import EventRecord, QualityReport, QualityRow, csat, quality_report

__all__ = ["EventRecord", "QualityReport", "QualityRow", "csat", "quality_report"]
