"""asset_flags no longer store reason and facts (derived from the rule and the asset on read)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.drop_column("facts")
        batch_op.drop_column("reason")


def downgrade() -> None:
    # the columns come back empty: re-evaluate the ledger after downgrading
    # (`python -m app evaluate`) to fill them
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reason", sa.String(length=400), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("facts", sa.JSON(), nullable=False, server_default="{}"))
