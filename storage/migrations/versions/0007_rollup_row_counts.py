"""each report rollup counts the per-conversation rows it sums

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 22:40:00

The report refresh adds the difference between a conversation's new and old rows to the
rollups instead of rebuilding the days it touches; a rollup whose count falls to zero is
deleted. The rollups are rebuilt here from the per-conversation rows, with their counts.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLLUPS = (  # rollup, the rows it sums, its keys
    ("report_rollups", "report_conversations", ("day", "queue", "agent_id", "channel", "intent")),
    (
        "report_agent_rollups",
        "report_agent_parts",
        ("day", "queue", "conversation_agent_id", "channel", "intent", "agent_id"),
    ),
)


def upgrade() -> None:
    for rollup, rows, keys in ROLLUPS:
        columns = [c["name"] for c in sa.inspect(op.get_bind()).get_columns(rollup)]
        measures = [c for c in columns if c not in ("id", *keys)]
        with op.batch_alter_table(rollup) as batch:
            batch.add_column(
                sa.Column("row_count", sa.BigInteger(), nullable=False, server_default="0")
            )
        grouped = ", ".join(keys)
        sums = ", ".join(f"SUM({m})" for m in measures)
        op.execute(f"DELETE FROM {rollup}")
        op.execute(
            f"INSERT INTO {rollup} ({grouped}, {', '.join(measures)}, row_count) "
            f"SELECT {grouped}, {sums}, COUNT(*) FROM {rows} GROUP BY {grouped}"
        )


def downgrade() -> None:
    for rollup, _, _ in ROLLUPS:
        with op.batch_alter_table(rollup) as batch:
            batch.drop_column("row_count")
