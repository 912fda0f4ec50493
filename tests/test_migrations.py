"""Migrations keep the data they do not change: SQLite rebuilds a table to alter it, and a
rebuilt parent table must not cascade-delete its children (always run on a scratch SQLite file,
whichever database the rest of the suite uses)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from app.config import ROOT
from app.rules.models import category_key, region_key, rule_key


def test_sqlite_upgrade_and_downgrade_keep_flags_and_references(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.attributes["database_url"] = url
    command.upgrade(cfg, "0005")
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO regions VALUES ('410102', '中原区', 'district', NULL, '41', '')")
        )
        conn.execute(
            text(
                "INSERT INTO assets (category, asset_code, region_code, status, length_m, "
                "flag_status, created_at, updated_at) VALUES ('gas_pipe', 'P1', '410102', "
                "'in_service', 12.5, 'mandatory', '2026-01-01', '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO asset_flags (asset_id, category, region_code, pack_id, pack_version, "
                "rule_id, level, due_on, reason, facts, as_of, evaluated_at) VALUES (1, "
                "'gas_pipe', '410102', 'HA', '1', 'GAS-GREY-IRON', 'mandatory', '2025-12-31', "
                "'r', '{}', '2026-01-01', '2026-01-01')"
            )
        )
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT length_m, in_service, earliest FROM asset_flags WHERE asset_id = 1")
        ).one()
        assert (float(row.length_m), bool(row.in_service), bool(row.earliest)) == (12.5, True, True)
        keys = conn.execute(
            text("SELECT region_key, category_key, rule_key FROM asset_flags WHERE asset_id = 1")
        ).one()
        assert tuple(keys) == (
            region_key("410102"),
            category_key("gas_pipe"),
            rule_key("GAS-GREY-IRON"),
        )
        fks = conn.execute(text("PRAGMA foreign_key_list(asset_flags)")).fetchall()
        assert [fk[2] for fk in fks] == ["assets"]
    command.downgrade(cfg, "0005")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM asset_flags")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM assets")).scalar() == 1
    engine.dispose()
