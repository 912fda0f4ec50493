"""Jobs: a failure mid-commit leaves the ledger as it was; stuck batches are recovered; the CLI."""

from __future__ import annotations

import io
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.scope import SYSTEM
from app.assets.models import Asset
from app.audit.models import Change, ChangeSet
from app.cli import main as cli_main
from app.config import get_settings
from app.db import utcnow
from app.imports import files, worker
from app.imports import service as import_service
from app.imports.models import ImportBatch, ImportRow
from app.rules import service as rules_service
from tests.factories import create
from tests.imports.conftest import API, run, sheet, wait, xlsx_bytes


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


def test_uncommitted_dry_runs_expire_and_leftover_files_go(
    client: TestClient, db: sessionmaker[Session], storage: Path
) -> None:
    """A dry run nobody commits keeps its workbook for dry_run_keep_days, then expires: the file
    is deleted, the batch is failed with the reason, a commit is a 409. Partial uploads and
    folders of finished batches are deleted once an hour old; younger ones are left alone."""
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="电梯")
    old = run(client, db, wb)
    fresh = run(client, db, sheet([["设备编号", "行政区划代码"], ["E-2", "410102"]], title="电梯"))
    assert (old["status"], fresh["status"]) == ("validated", "validated")
    with db() as s, s.begin():
        s.execute(
            update(ImportBatch)
            .where(ImportBatch.id == old["id"])
            .values(finished_at=utcnow() - timedelta(days=8))
        )
    hour_ago = time.time() - 2 * 3600
    stale_part = storage / "upload-0123.part"
    stale_part.write_bytes(b"x")
    os.utime(stale_part, (hour_ago, hour_ago))
    new_part = storage / "upload-4567.part"
    new_part.write_bytes(b"x")
    orphan = storage / "999999"
    orphan.mkdir()
    os.utime(orphan, (hour_ago, hour_ago))

    assert worker.purge_stale(db, keep_days=7) == [old["id"]]

    expired = client.get(f"{API}/{old['id']}").json()
    assert expired["status"] == "failed" and "已过期" in expired["error"]
    assert not files.path_of(old["id"]).exists()
    assert client.post(f"{API}/{old['id']}/commit").status_code == 409
    assert files.path_of(fresh["id"]).exists()
    assert (stale_part.exists(), new_part.exists(), orphan.exists()) == (False, True, False)
    # the fresh dry run still commits
    assert client.post(f"{API}/{fresh['id']}/commit").status_code == 202
    assert wait(client, db, fresh["id"])["status"] == "committed"


def test_imported_updates_appear_in_the_assets_history(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """An import that changes an asset records the changed fields in its history, in the
    commit's change set (kind import, the batch, the uploader); unchanged rows record nothing."""
    lift = create(client, "elevator", name="1号楼电梯", floors=18)
    rows = [
        ["设备编号", "行政区划代码", "设备名称", "层站数"],
        [lift["asset_code"], "410102", "1号楼1单元电梯", 18],
        ["E-NEW", "410102", "新电梯", 6],
    ]
    body = run(client, db, sheet(rows, title="电梯"), dry_run=False)
    assert (body["counts"]["created"], body["counts"]["updated"]) == (1, 1)
    history = client.get(f"/api/v1/assets/{lift['id']}/history").json()["items"]
    latest = history[0]
    assert (latest["action"], latest["kind"], latest["batch_id"]) == (
        "update",
        "import",
        body["id"],
    )
    assert latest["before"] == {"name": "1号楼电梯"}
    assert latest["after"] == {"name": "1号楼1单元电梯"}
    me = client.get("/api/v1/me").json()
    assert latest["actor_id"] == me["account_id"]
    commits = client.get("/api/v1/changes", params={"object_type": "import_batch"}).json()
    assert commits["items"][0]["object_id"] == str(body["id"])
    again = run(client, db, sheet(rows, title="电梯"), dry_run=False)
    assert again["counts"]["unchanged"] == 2
    assert len(client.get(f"/api/v1/assets/{lift['id']}/history").json()["items"]) == len(history)


def test_every_updated_asset_of_a_large_import_is_logged(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """More updated rows than one fetch and one write chunk: the change entries are read and
    written in chunks on the import's own connection, one per changed asset."""
    n = 12_000
    header = ["设备编号", "行政区划代码", "设备名称"]
    first = [header] + [[f"E-{i:05d}", "410102", "旧名"] for i in range(n)]
    run(client, db, sheet(first, title="电梯"), dry_run=False)
    second = [header] + [[f"E-{i:05d}", "410102", "新名" if i % 2 else "旧名"] for i in range(n)]
    body = run(client, db, sheet(second, title="电梯"), dry_run=False)
    assert (body["counts"]["updated"], body["counts"]["unchanged"]) == (n // 2, n // 2)
    with db() as s:
        entries = s.scalars(
            select(Change)
            .join(ChangeSet, ChangeSet.id == Change.change_set_id)
            .where(ChangeSet.batch_id == body["id"], Change.object_type == "asset")
        ).all()
    assert len(entries) == n // 2
    assert {(e.action, str(e.before), str(e.after)) for e in entries} == {
        ("update", str({"name": "旧名"}), str({"name": "新名"}))
    }


def test_a_bulk_first_import_puts_the_ledgers_indexes_back(
    client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An import that creates most of the ledger writes it without the secondary indexes and the
    region foreign key (PostgreSQL) and rebuilds them; a failure after that rolls everything
    back, indexes included; a later small import takes the ordinary path."""
    from sqlalchemy import inspect

    from app.imports import jobs

    monkeypatch.setattr(jobs, "BULK_MIN_ROWS", 2)
    # the staged path (test_eager covers applying while parsing)
    monkeypatch.setattr(jobs, "_apply_while_parsing", lambda *_a: False)
    create(client, "elevator", asset_code="E-OLD", name="旧")

    def shape(s: Session) -> tuple[set[str | None], list[str]]:
        inspector = inspect(s.connection())
        names = {ix["name"] for ix in inspector.get_indexes("assets")}
        return names, [fk["referred_table"] for fk in inspector.get_foreign_keys("assets")]

    with db() as s:
        expected = shape(s)
    assert expected[0] >= {ix.name for ix in Asset.__table__.indexes}
    assert expected[1] == ["regions"]
    rows = [["设备编号", "行政区划代码", "设备名称"]] + [
        [f"E-{i}", "410102", f"电梯{i}"] for i in range(6)
    ]
    real_evaluate = rules_service.evaluate_ledger

    def explode(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(rules_service, "evaluate_ledger", explode)
    failed = run(client, db, sheet(rows, title="电梯"), dry_run=False)
    assert failed["status"] == "failed"
    with db() as s:
        assert s.scalars(select(Asset.asset_code)).all() == ["E-OLD"]
        assert shape(s) == expected
    monkeypatch.setattr(rules_service, "evaluate_ledger", real_evaluate)
    body = run(client, db, sheet(rows, title="电梯"), dry_run=False)
    assert (body["status"], body["counts"]["created"]) == ("committed", 6)
    with db() as s:
        assert shape(s) == expected
        codes = s.scalars(select(Asset.asset_code).order_by(Asset.id)).all()
        assert codes == ["E-OLD"] + [f"E-{i}" for i in range(6)]
        assert s.scalar(select(func.count()).where(Asset.last_batch_id == body["id"])) == 6
    # the due list and the asset list read the rebuilt indexes
    listed = client.get("/api/v1/assets", params={"category": "elevator", "limit": 50}).json()
    assert len(listed["items"]) == 7
    again = run(
        client, db, sheet([*rows[:2], ["E-NEW", "410102", "新"]], title="电梯"), dry_run=False
    )
    assert (again["counts"]["created"], again["counts"]["unchanged"]) == (1, 1)


def test_progress_never_passes_100_percent(client: TestClient, db: sessionmaker[Session]) -> None:
    """The row total is an estimate from the sheet's dimension; a sheet longer than it says
    raises the total as rows are read."""
    wb = sheet(
        [["设备编号", "行政区划代码"], *([f"E-{i}", "410102"] for i in range(30))], title="电梯"
    )
    with db() as s, s.begin():  # queued without waking a worker; the dimension says 5 rows
        batch = import_service.upload_batch(
            s, SYSTEM, io.BytesIO(xlsx_bytes(wb)), "s.xlsx", get_settings().imports
        )
        batch.rows_total = 5
        batch_id = batch.id
    seen: list[tuple[int, int]] = []

    def stored(_done: int, _total: int) -> None:
        with db() as s:
            row = s.execute(
                select(ImportBatch.rows_done, ImportBatch.rows_total).where(
                    ImportBatch.id == batch_id
                )
            ).one()
        seen.append((row.rows_done, row.rows_total))

    assert worker.claim_next(db, batch_id) == batch_id
    worker.run_batch(db, batch_id, stored)
    assert seen and seen[-1][0] == 30, seen
    assert all(done <= total for done, total in seen), seen
    body = client.get(f"{API}/{batch_id}").json()
    assert body["progress"] == {"rows_done": 30, "rows_total": 30, "percent": 100}
