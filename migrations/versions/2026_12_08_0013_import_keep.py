"""import_keep: an import's choice to overwrite kept rows, and the count of rows it kept

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(
            sa.Column("overwrite", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("kept", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("kept")
        batch.drop_column("overwrite")
