"""on SQLite a conversation waiting for the report refresh has one mark, not one per event

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 19:10:00

The trigger on `events` added a row to `report_dirty` for each event: a turn's five or so, and
under load the refresh read and deleted ten marks a conversation while it held SQLite's write
lock (and every turn with it). On SQLite the refresh reads a conversation's marks and events
and deletes the marks under that lock, so nothing is missed when an event of a conversation
that is already marked adds none. PostgreSQL's refresh runs beside the turns and deletes exactly
the marks it read, so each event keeps its own mark there: nothing changes on PostgreSQL.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ONE_MARK = """
CREATE TRIGGER events_mark_report_dirty AFTER INSERT ON events
WHEN NEW.conversation_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM report_dirty WHERE conversation_id = NEW.conversation_id)
BEGIN
    INSERT INTO report_dirty (conversation_id) VALUES (NEW.conversation_id);
END
"""
MARK_PER_EVENT = """
CREATE TRIGGER events_mark_report_dirty AFTER INSERT ON events
WHEN NEW.conversation_id IS NOT NULL
BEGIN
    INSERT INTO report_dirty (conversation_id) VALUES (NEW.conversation_id);
END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER events_mark_report_dirty")
    op.execute(ONE_MARK)
    op.execute(
        "DELETE FROM report_dirty WHERE id NOT IN "
        "(SELECT min(id) FROM report_dirty GROUP BY conversation_id)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER events_mark_report_dirty")
    op.execute(MARK_PER_EVENT)
