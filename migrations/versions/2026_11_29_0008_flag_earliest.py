"""asset_flags.earliest marks each asset's first-due flag per level; an index of unknown flags
by region (both for /stats)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("earliest", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # the same choice as app.rules.evaluate.earliest_of_level: first due, then lower rule id
    op.execute(
        "UPDATE asset_flags SET earliest = (id = ("
        "SELECT f.id FROM asset_flags f WHERE f.asset_id = asset_flags.asset_id "
        "AND f.level = asset_flags.level ORDER BY f.due_on, f.rule_id LIMIT 1)) "
        "WHERE level IN ('mandatory', 'assess', 'encouraged') AND due_on IS NOT NULL"
    )
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.alter_column("earliest", server_default=None)
        batch_op.create_index(
            "ix_asset_flags_unknown_region_code",
            ["region_code", "category", "rule_id"],
            unique=False,
            postgresql_where=sa.text("level = 'unknown'"),
            sqlite_where=sa.text("level = 'unknown'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_flags_unknown_region_code")
        batch_op.drop_column("earliest")
