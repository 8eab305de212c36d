"""pre-aggregated daily rollups the quality reports read

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:40:00
"""

from collections.abc import Sequence

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
