"""pre-aggregated daily rollups the quality reports read

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:40:00

Per-conversation report rows and per-agent parts, their daily rollups, the satisfaction model in
force, and `report_dirty`: a trigger on `events` marks each conversation whose events change, in
the same transaction, so the report refresh recomputes exactly those. Every conversation already
in the event log is marked at upgrade, so the first refresh builds everything.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MEASURES = (
    "conversations", "handed_off", "contained", "resolved", "ratings", "satisfied",
    "tickets_resolved", "first_response_ms", "first_response_n", "resolution_ms", "resolution_n",
    "sla_met", "sla_total", "predicted_micro", "handoffs", "transfers", "reopens", "messages_in",
    "fallbacks", "kb_answers", "surveys", "ratings_refused",
)  # fmt: skip
AGENT_MEASURES = (
    "assigned", "resolved", "handle_ms", "handle_n", "first_response_ms", "first_response_n",
    "reply_ms", "reply_n", "resolution_ms", "resolution_n", "reopened", "transfers", "sla_met",
    "ratings", "satisfied",
)  # fmt: skip

SQLITE_TRIGGER = """
CREATE TRIGGER events_mark_report_dirty AFTER INSERT ON events
WHEN NEW.conversation_id IS NOT NULL
BEGIN
    INSERT INTO report_dirty (conversation_id) VALUES (NEW.conversation_id);
END
"""
POSTGRES_FUNCTION = """
CREATE FUNCTION helpline_mark_report_dirty() RETURNS trigger AS $$
BEGIN
    IF NEW.conversation_id IS NOT NULL THEN
        INSERT INTO report_dirty (conversation_id) VALUES (NEW.conversation_id);
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = """
CREATE TRIGGER events_mark_report_dirty AFTER INSERT ON events
FOR EACH ROW EXECUTE FUNCTION helpline_mark_report_dirty()
"""


def _measures(names: Sequence[str]) -> list[sa.Column]:
    return [sa.Column(name, sa.BigInteger(), nullable=False) for name in names]


def _dimensions(agent_column: str) -> list[sa.Column]:
    return [
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("queue", sa.String(length=64), nullable=True),
        sa.Column(agent_column, sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("intent", sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "report_dirty",
        sa.Column("id", ID, nullable=False),
        sa.Column("conversation_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_dirty")),
    )
    op.create_index(
        op.f("ix_report_dirty_conversation_id"), "report_dirty", ["conversation_id"], unique=False
    )
    op.create_table(
        "report_conversations",
        sa.Column("conversation_id", sa.BigInteger(), autoincrement=False, nullable=False),
        *_dimensions("agent_id"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("resolution_s", sa.Float(), nullable=True),
        sa.Column("customer_messages", sa.Integer(), nullable=False),
        sa.Column("sentiment_start", sa.Float(), nullable=True),
        sa.Column("sentiment_end", sa.Float(), nullable=True),
        *_measures(MEASURES),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_report_conversations")),
    )
    op.create_index(
        op.f("ix_report_conversations_day"), "report_conversations", ["day"], unique=False
    )
    op.create_table(
        "report_agent_parts",
        sa.Column("conversation_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("agent_id", sa.BigInteger(), autoincrement=False, nullable=False),
        *_dimensions("conversation_agent_id"),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        *_measures(AGENT_MEASURES),
        sa.PrimaryKeyConstraint("conversation_id", "agent_id", name=op.f("pk_report_agent_parts")),
    )
    op.create_index(op.f("ix_report_agent_parts_day"), "report_agent_parts", ["day"], unique=False)
    op.create_table(
        "report_rollups",
        sa.Column("id", ID, nullable=False),
        *_dimensions("agent_id"),
        *_measures(MEASURES),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_rollups")),
    )
    op.create_index(op.f("ix_report_rollups_day"), "report_rollups", ["day"], unique=False)
    op.create_table(
        "report_agent_rollups",
        sa.Column("id", ID, nullable=False),
        *_dimensions("conversation_agent_id"),
        sa.Column("agent_id", sa.BigInteger(), nullable=False),
        *_measures(AGENT_MEASURES),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_agent_rollups")),
    )
    op.create_index(
        op.f("ix_report_agent_rollups_day"), "report_agent_rollups", ["day"], unique=False
    )
    op.create_table(
        "report_model",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("learned_from", sa.Integer(), nullable=False),
        sa.Column("rated_at_fit", sa.Integer(), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_model")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_FUNCTION)
        op.execute(POSTGRES_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)
    op.execute(
        "INSERT INTO report_dirty (conversation_id) "
        "SELECT DISTINCT conversation_id FROM events WHERE conversation_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_mark_report_dirty" + (
        " ON events" if op.get_bind().dialect.name == "postgresql" else ""
    ))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS helpline_mark_report_dirty()")
    for table in (
        "report_model",
        "report_agent_rollups",
        "report_rollups",
        "report_agent_parts",
        "report_conversations",
        "report_dirty",
    ):
        op.drop_table(table)
