"""Jobs: a failure mid-commit leaves the ledger as it was; stuck batches are recovered; the CLI."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.cli import main as cli_main
from app.db import utcnow
from app.imports import worker
from app.imports.models import ImportBatch, ImportRow
from app.rules import service as rules_service
from tests.factories import create
from tests.imports.conftest import run, sheet, xlsx_bytes


def ledger(db: sessionmaker[Session]) -> list[tuple[str, Any, Any]]:
    with db() as s:
        return [
            (a.asset_code, a.updated_at, a.name)
            for a in s.scalars(select(Asset).order_by(Asset.id))
        ]


def test_failure_during_commit_leaves_the_ledger_as_it_was(
    client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    create(client, "elevator", asset_code="E-1", name="旧名称")
    before = ledger(db)

    def explode(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rules_service, "evaluate_ledger", explode)
    wb = sheet(
        [
            ["设备编号", "行政区划代码", "设备名称"],
            ["E-1", "410102", "新名称"],
            ["E-2", "410102", "x"],
        ],
        title="电梯",
    )
    body = run(client, db, wb, dry_run=False)
    assert body["status"] == "failed"
    assert "disk full" in body["error"]
    assert ledger(db) == before
    with db() as s:
        assert s.scalar(select(func.count()).select_from(ImportRow)) == 0


def test_batches_left_running_by_a_dead_worker_are_failed(db: sessionmaker[Session]) -> None:
    with db() as s, s.begin():
        dead = ImportBatch(
            file_name="a.xlsx",
            sha256="0" * 64,
            size_bytes=1,
            uploaded_by="x",
            status="running",
            worker=f"{worker.HOST}:999999999:1",
            heartbeat_at=utcnow(),
        )
        stale = ImportBatch(
            file_name="b.xlsx",
            sha256="0" * 64,
            size_bytes=1,
            uploaded_by="x",
            status="running",
            worker="elsewhere:1:1",
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
        live = ImportBatch(
            file_name="c.xlsx",
            sha256="0" * 64,
            size_bytes=1,
            uploaded_by="x",
            status="running",
            worker=f"{worker.HOST}:{os.getpid()}:1",
            heartbeat_at=utcnow(),
        )
        s.add_all([dead, stale, live])
    assert worker.recover(db) == 2
    with db() as s:
        statuses = dict(s.execute(select(ImportBatch.file_name, ImportBatch.status)).all())
    assert statuses == {"a.xlsx": "failed", "b.xlsx": "failed", "c.xlsx": "running"}


def test_a_batch_is_claimed_once(client: TestClient, db: sessionmaker[Session]) -> None:
    from tests.imports.conftest import upload

    monkey_batch = upload(
        client, sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="电梯")
    )
    batch_id = monkey_batch.json()["id"]
    first = worker.claim_next(db, batch_id)
    second = worker.claim_next(db, batch_id)
    assert (first, second) in ((batch_id, None), (None, None))


def test_cli_import_with_dry_run_and_commit(
    settings: Any, db: sessionmaker[Session], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "survey.xlsx"
    wb = sheet(
        [
            ["设备编号", "行政区划代码", "管材"],
            ["G-1", "410102", "灰铸铁"],
            ["G-2", "410102", "木"],
        ],
        title="燃气管道",
    )
    path.write_bytes(xlsx_bytes(wb))
    assert cli_main(["import", str(path), "--dry-run"]) == 0
    out = capsys.readouterr()
    assert "validated" in out.out and "created 1" in out.out and "rejected 1" in out.out
    assert "rows" in out.err  # progress bar
    assert cli_main(["import", str(path), "--mode", "all_or_nothing"]) == 1
    assert cli_main(["import", str(path)]) == 0
    assert "committed" in capsys.readouterr().out
    with db() as s:
        assert s.scalars(select(Asset.asset_code)).all() == ["G-1"]
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"not a workbook")
    assert cli_main(["import", str(bad)]) == 2
