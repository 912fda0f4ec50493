"""asset_flags: no surrogate id (a flag is its asset and rule); the due list's indexes lead with
numbers for the region, category and rule

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

import zlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the categories as of this revision, in name order (app.rules.models.category_key)
CATEGORIES = sorted(
    ["elevator", "water_pump", "boiler", "gas_pipe", "lpg_cylinder", "sanitation_vehicle"]
)
OLD_INDEXES = {
    "ix_asset_flags_asset_id": ["asset_id"],
    "ix_asset_flags_region_code_due_on_asset_id": ["region_code", "due_on", "asset_id"],
    "ix_asset_flags_category_due_on_asset_id": ["category", "due_on", "asset_id"],
    "ix_asset_flags_rule_id_due_on_asset_id": ["rule_id", "due_on", "asset_id"],
}
NEW_INDEXES = {
    "ix_asset_flags_region_key_due_on_asset_id": ["region_key", "due_on", "asset_id"],
    "ix_asset_flags_category_key_due_on_asset_id": ["category_key", "due_on", "asset_id"],
    "ix_asset_flags_rule_key_due_on_asset_id": ["rule_key", "due_on", "asset_id"],
}


def _case(column: str, keys: dict[str, int]) -> str:
    if not keys:
        return "-1"
    whens = " ".join(f"WHEN '{value}' THEN {key}" for value, key in keys.items())
    return f"CASE {column} {whens} ELSE -1 END"


def upgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        # first, so that the UPDATE below does not maintain them
        for name in OLD_INDEXES:
            batch_op.drop_index(name)
        batch_op.add_column(sa.Column("region_key", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("category_key", sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column("rule_key", sa.Integer(), nullable=True))
    conn = op.get_bind()
    rules = [r for (r,) in conn.execute(sa.text("SELECT DISTINCT rule_id FROM asset_flags"))]
    rule_keys = {r: zlib.crc32(r.encode()) & 0x7FFFFFFF for r in rules if "'" not in r}
    conn.execute(
        sa.text(
            "UPDATE asset_flags SET region_key = CAST(region_code AS INTEGER), "
            f"category_key = {_case('category', {c: i for i, c in enumerate(CATEGORIES)})}, "
            f"rule_key = {_case('rule_id', rule_keys)}"
        )
    )
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.alter_column("region_key", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("category_key", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.alter_column("rule_key", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("id")
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_asset_flags_asset_id_rule_id", ["asset_id", "rule_id"], unique=True
        )
        for name, columns in NEW_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        batch_op.drop_index("ix_asset_flags_asset_id_rule_id")
        for name in NEW_INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_column("rule_key")
        batch_op.drop_column("category_key")
        batch_op.drop_column("region_key")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE asset_flags ADD COLUMN id BIGSERIAL")
        op.create_primary_key(op.f("pk_asset_flags"), "asset_flags", ["id"])
    else:
        with op.batch_alter_table("asset_flags", schema=None, recreate="always") as batch_op:
            # INTEGER PRIMARY KEY: the copied rows are numbered as they are copied
            batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False))
            batch_op.create_primary_key(op.f("pk_asset_flags"), ["id"])
    with op.batch_alter_table("asset_flags", schema=None) as batch_op:
        for name, columns in OLD_INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
