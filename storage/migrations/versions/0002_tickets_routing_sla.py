"""tickets: priority, tags, language, skills, SLA clocks; agents: skills, languages; queues:
strategy, hand-back, SLA policy; customers: tier; the demo shop's orders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 05:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_OBJECT = sa.text("'{}'")
EMPTY_LIST = sa.text("'[]'")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("estimated_delivery", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("number", name=op.f("uq_orders_number")),
    )
    op.create_index(op.f("ix_orders_customer_id"), "orders", ["customer_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("skills", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT))
        batch.add_column(sa.Column("languages", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("queues") as batch:
        batch.add_column(
            sa.Column("strategy", sa.String(length=16), nullable=False, server_default="least_busy")
        )
        batch.add_column(
            sa.Column("offline_hand_back", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("sla", sa.JSON(), nullable=True))
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("tier", sa.String(length=16), nullable=True))
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default=EMPTY_LIST))
        batch.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("skills", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        for clock in ("first_response", "next_response", "resolution"):
            batch.add_column(sa.Column(f"{clock}_due_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("sla_marks", sa.JSON(), nullable=False, server_default=EMPTY_OBJECT)
        )
        batch.create_index(batch.f("ix_tickets_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_orders_customer_id"), table_name="orders")
    op.drop_table("orders")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_index(batch.f("ix_tickets_status"))
        for column in (
            "sla_marks",
            "resolution_due_at",
            "next_response_due_at",
            "first_response_due_at",
            "closed_at",
            "skills",
            "language",
            "tags",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("tier")
    with op.batch_alter_table("queues") as batch:
        for column in ("sla", "offline_hand_back", "strategy"):
            batch.drop_column(column)
    with op.batch_alter_table("users") as batch:
        for column in ("last_assigned_at", "languages", "skills"):
            batch.drop_column(column)
