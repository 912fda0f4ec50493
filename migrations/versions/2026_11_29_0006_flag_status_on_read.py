"""assets.flag_status is derived from the stored flags on read, no longer stored

Keeping a stored copy meant rewriting every asset row after each evaluation (about 20 s of a
million-row import). Downgrade adds the column back empty; `python -m app evaluate` on the
older release fills it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("flag_status")


def downgrade() -> None:
    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flag_status", sa.String(length=16), nullable=True))
