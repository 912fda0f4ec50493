"""PostgreSQL: an import of mostly new rows is applied and flagged while it is parsed
(ApplyWhileParsing). Its ledger, flags, counts, previews and history are those the staged path
gives; a failure part-way leaves the ledger, its flags and its indexes as they were."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.audit.models import Change, ChangeSet
from app.imports import eager, jobs, staging, worker
from app.imports.models import ImportRow
from app.rules import service as rules_service
from app.rules.models import AssetFlag
from tests.factories import create
from tests.imports.conftest import run, sheet

HEADER = ["管段编号", "行政区划代码", "管材", "投入使用日期", "管段长度(米)"]


@pytest.fixture(autouse=True)
def small_steps(db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    with db() as s:
        if s.get_bind().dialect.name != "postgresql":
            pytest.skip("applying while parsing is a PostgreSQL path")
    monkeypatch.setattr(jobs, "BULK_MIN_ROWS", 4)
    monkeypatch.setattr(eager, "STEP_ROWS", 3)
    monkeypatch.setattr(eager, "FLAG_STEP_ROWS", 3)
    monkeypatch.setattr(staging, "CHUNK", 2)


def _pipes(n: int, material: str = "灰口铸铁") -> list[list[Any]]:
    return [HEADER] + [
        [f"P-{i:03d}", "410102" if i % 2 else "130102", material, date(1990 + i % 30, 1, 1), 100]
        for i in range(n)
    ]


def _flags(db: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with db() as s:
        rows = s.execute(
            select(
                Asset.asset_code,
                AssetFlag.rule_id,
                AssetFlag.level,
                AssetFlag.due_on,
                AssetFlag.in_scope_on,
                AssetFlag.earliest,
                AssetFlag.region_code,
                AssetFlag.pack_id,
            ).join(Asset, Asset.id == AssetFlag.asset_id)
        ).all()
    return sorted(tuple(r) for r in rows)


def _shape(db: sessionmaker[Session]) -> tuple[Any, ...]:
    with db() as s:
        inspector = inspect(s.connection())
        return (
            sorted(str(ix["name"]) for ix in inspector.get_indexes("assets")),
            sorted(str(ix["name"]) for ix in inspector.get_indexes("asset_flags")),
            [fk["referred_table"] for fk in inspector.get_foreign_keys("assets")],
            [fk["referred_table"] for fk in inspector.get_foreign_keys("asset_flags")],
        )


def _flag_fk_checked(db: sessionmaker[Session], wait_s: float = 30.0) -> bool:
    """The flags' foreign key is validated: the worker does it after the commit it reported, so
    wait for it (a loaded machine may take a while)."""
    deadline = time.monotonic() + wait_s
    while True:
        with db() as s:
            checked: bool = s.scalar(
                text("SELECT convalidated FROM pg_constraint WHERE conname = :name"),
                {"name": rules_service.FLAG_FK_NAME},
            )
        if checked or time.monotonic() > deadline:
            return checked
        time.sleep(0.05)


def test_rows_applied_while_parsing_match_the_staged_path(
    client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = _shape(db)
    kept = create(client, "gas_pipe", asset_code="KEEP", material="grey_cast_iron")
    changed = create(client, "gas_pipe", asset_code="P-004", material="grey_cast_iron")
    steps: list[object] = []
    real_step = eager.ApplyWhileParsing._step

    def counting(self: Any, group: Any, span: Any) -> None:
        steps.append(span)
        real_step(self, group, span)

    monkeypatch.setattr(eager.ApplyWhileParsing, "_step", counting)
    rows = _pipes(20)
    rows.insert(5, ["P-BAD", "999999", "灰口铸铁", date(1990, 1, 1), 1])  # rejected
    body = run(client, db, sheet(rows, title="燃气管道"), dry_run=False)
    assert body["status"] == "committed", body
    counts = body["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["rejected"]) == (
        19,
        1,
        0,
        1,
    )
    assert len(steps) >= 5  # applied in steps of 3 rows, while parsing went on
    assert _flag_fk_checked(db)  # added NOT VALID, checked after the commit
    written = _flags(db)
    assert {code for code, *_ in written} >= {"KEEP", "P-000", "P-004", "P-019"}
    # what the whole-ledger evaluation writes is what was written while parsing
    with db() as s, s.begin():
        rules_service.evaluate_ledger(s)
    assert _flags(db) == written
    assert _shape(db) == shape
    with db() as s:
        actions = {
            r.action for r in s.scalars(select(ImportRow).where(ImportRow.batch_id == body["id"]))
        }
        assert actions == {"create", "update", "reject"}
        logged = s.scalars(
            select(Change)
            .join(ChangeSet, ChangeSet.id == Change.change_set_id)
            .where(ChangeSet.batch_id == body["id"], Change.object_type == "asset")
        ).all()
        assert [int(c.object_id) for c in logged] == [changed["id"]]
        assert logged[0].after["region_code"] == "130102"
        assert s.scalar(select(Asset.last_batch_id).where(Asset.asset_code == "KEEP")) is None
    assert kept["id"]
    again = run(client, db, sheet(rows, title="燃气管道"), dry_run=False)
    assert (again["counts"]["unchanged"], again["counts"]["rejected"]) == (20, 1)


def test_a_failure_while_applying_leaves_everything_as_it_was(
    client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    shape = _shape(db)
    create(client, "gas_pipe", asset_code="KEEP", material="grey_cast_iron")
    before = _flags(db)
    assert before
    calls = []
    real_apply = staging.Stage.apply
    real_insert = rules_service.insert_flags_by_ids

    def failing_apply(*args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 3:  # in the writer thread, while rows are still being parsed
            raise RuntimeError("disk full")
        real_apply(*args, **kwargs)

    def failing_flags(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("no space left")

    for target, name, broken in (
        (staging.Stage, "apply", failing_apply),
        (rules_service, "insert_flags_by_ids", failing_flags),
    ):
        with monkeypatch.context() as patch:
            patch.setattr(target, name, broken)
            body = run(client, db, sheet(_pipes(20), title="燃气管道"), dry_run=False)
        assert body["status"] == "failed", body
        assert "disk full" in body["error"] or "no space left" in body["error"]
        with db() as s:
            assert s.scalars(select(Asset.asset_code)).all() == ["KEEP"]
        assert _flags(db) == before
        assert _shape(db) == shape
    assert real_insert is rules_service.insert_flags_by_ids


def test_a_category_new_to_the_ledger_goes_straight_into_it(
    client: TestClient, db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger has no gas pipes: the rows are copied into assets without staging or diff,
    with the defaults, stamps, counts, previews and flags the staged path gives them."""
    shape = _shape(db)
    elevator = create(client, "elevator", asset_code="E-1")
    staged: list[object] = []
    real_copy = staging.Stage.copy

    def copying(self: Any, group: Any, rows: Any) -> None:
        staged.append(group.category)
        real_copy(self, group, rows)

    monkeypatch.setattr(staging.Stage, "copy", copying)
    rows = _pipes(11)
    rows[3][2] = None  # material left blank
    rows.insert(5, ["P-BAD", "999999", "灰口铸铁", date(1990, 1, 1), 1])  # rejected
    rows.insert(7, ["P-002", "410102", "灰口铸铁", date(1990, 1, 1), 1])  # repeated: rejected
    body = run(client, db, sheet(rows, title="燃气管道"), dry_run=False)
    assert body["status"] == "committed", body
    counts = body["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"], counts["rejected"]) == (
        11,
        0,
        0,
        2,
    )
    assert staged == []  # nothing went through the staging table
    written = _flags(db)
    assert {code for code, *_ in written} >= {"P-000", "P-010"}
    with db() as s, s.begin():
        rules_service.evaluate_ledger(s)
    assert _flags(db) == written
    assert _shape(db) == shape
    with db() as s:
        pipes = s.scalars(select(Asset).where(Asset.category == "gas_pipe")).all()
        assert len(pipes) == 11
        assert {(a.status, a.last_batch_id) for a in pipes} == {("in_service", body["id"])}
        assert all(a.surveyed_on is not None and a.created_at is not None for a in pipes)
        previews = s.scalars(
            select(ImportRow)
            .where(ImportRow.batch_id == body["id"], ImportRow.action == "create")
            .order_by(ImportRow.row)
        ).all()
        assert previews[0].asset_code == "P-000"
        assert len(previews) == 11
        assert s.get(Asset, elevator["id"]) is not None
    again = run(client, db, sheet(rows, title="燃气管道"), dry_run=False)
    assert (again["counts"]["unchanged"], again["counts"]["rejected"]) == (11, 2)


def test_a_flag_key_left_unchecked_is_checked_when_a_worker_starts(
    db: sessionmaker[Session],
) -> None:
    """A worker that stopped between an import's commit and its settle left the flags' foreign
    key NOT VALID (still enforced for new rows): the next worker start checks it."""
    with db() as s, s.begin():
        s.execute(text(f"ALTER TABLE asset_flags DROP CONSTRAINT {rules_service.FLAG_FK_NAME}"))
        s.execute(
            text(
                f"ALTER TABLE asset_flags ADD CONSTRAINT {rules_service.FLAG_FK_NAME} "
                "FOREIGN KEY (asset_id) REFERENCES assets (id) ON DELETE CASCADE NOT VALID"
            )
        )
    assert not _flag_fk_checked(db, wait_s=0)
    worker.recover(db)
    assert _flag_fk_checked(db)
