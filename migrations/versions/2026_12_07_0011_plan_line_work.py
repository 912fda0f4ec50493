"""Plan lines say what they pay for: renewal or assessment, the contingent renewal, advisory.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plan_lines") as batch:
        batch.add_column(
            sa.Column("work", sa.String(length=12), server_default="renewal", nullable=False)
        )
        batch.add_column(sa.Column("contingent_amount", sa.Numeric(), nullable=True))
        batch.add_column(
            sa.Column("advisory", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_lines") as batch:
        batch.drop_column("advisory")
        batch.drop_column("contingent_amount")
        batch.drop_column("work")
