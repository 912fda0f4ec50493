"""The recorder as other domains call it: diffs, change sets per transaction, bulk entries."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.scope import Principal
from app.audit import queries
from app.audit.models import Change, ChangeSet
from app.audit.recorder import (
    ChangeRow,
    bind_actor,
    diff,
    jsonable,
    open_change_set,
    record_bulk_changes,
    record_change,
)

IMPORTER = Principal(account_id=42, name="导入员", role="editor", region_prefix="41")


def test_diff_keeps_changed_fields_only() -> None:
    before = {"name": "a", "floors": 6, "rated_speed_mps": Decimal("1.5000")}
    after = {"name": "b", "floors": 6, "rated_speed_mps": Decimal("1.5")}
    assert diff(before, after) == ({"name": "a"}, {"name": "b"})
    assert diff({"name": "a", "floors": 6}, {"floors": None}) == ({"floors": 6}, {"floors": None})
    assert diff({"x": 1}, {"x": 1}) == ({}, {})


def test_diff_of_create_and_delete_lists_the_set_fields() -> None:
    assert diff(None, {"a": 1, "b": None}) == (None, {"a": 1})
    assert diff({"a": 1, "b": None}, None) == ({"a": 1}, None)


def test_jsonable() -> None:
    value = {
        "on": date(2020, 1, 2),
        "at": datetime(2020, 1, 2, 3, 4, 5),  # noqa: DTZ001
        "kw": Decimal("37.5000"),
        "big": Decimal("2E+3"),
        "nested": [{"d": Decimal("0.0000")}],
        "n": None,
    }
    assert jsonable(value) == {
        "on": "2020-01-02",
        "at": "2020-01-02T03:04:05",
        "kw": "37.5",
        "big": "2000",
        "nested": [{"d": "0"}],
        "n": None,
    }


def _one(session: Session, **kw: object) -> bool:
    base: dict[str, object] = {
        "action": "update",
        "object_type": "plan",
        "object_id": 1,
        "region_code": "410102",
    }
    return record_change(session, **{**base, **kw})  # type: ignore[arg-type]


def test_one_change_set_per_transaction(db: sessionmaker[Session]) -> None:
    with db() as session:
        with session.begin():
            assert _one(session, before={"s": "draft"}, after={"s": "submitted"})
            assert _one(session, object_id=2, before=None, after={"s": "draft"})
            assert not _one(session, object_id=3, before={"s": "x"}, after={"s": "x"})
        with session.begin():
            assert _one(session, object_id=4, action="delete", before={"s": "draft"})
        sets = session.execute(
            select(Change.change_set_id, Change.object_id).order_by(Change.id)
        ).all()
        headers = session.scalars(select(ChangeSet).order_by(ChangeSet.id)).all()
    assert [r.object_id for r in sets] == ["1", "2", "4"]
    assert sets[0].change_set_id == sets[1].change_set_id != sets[2].change_set_id
    assert [(h.actor_id, h.actor_name, h.kind, h.request_id) for h in headers] == [
        (None, "system", "cli", None)
    ] * 2


def test_rolled_back_transaction_leaves_nothing(db: sessionmaker[Session]) -> None:
    with db() as session:
        session.begin()
        _one(session, after={"s": "draft"}, before=None)
        session.rollback()
        with session.begin():  # a later transaction must not reuse the rolled-back set
            _one(session, object_id=9, after={"s": "draft"}, before=None)
        (row,) = session.execute(select(Change.change_set_id, Change.object_id)).all()
        assert session.get(ChangeSet, row.change_set_id) is not None
        assert session.scalar(select(func.count()).select_from(ChangeSet)) == 1


def test_bound_actor_and_reason_are_used(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        bind_actor(session, IMPORTER, "年度普查")
        session.info["request_id"] = "req-1"
        _one(session, after={"s": "draft"}, before=None)
        header = session.scalars(select(ChangeSet)).one()
    assert (header.actor_id, header.actor_name, header.reason) == (42, "导入员", "年度普查")
    assert (header.kind, header.request_id) == ("api", "req-1")


def test_bulk_import_is_one_change_set_with_an_entry_per_asset(
    db: sessionmaker[Session],
) -> None:
    n = 12_345  # more than two bulk chunks
    rows: list[ChangeRow] = [
        {
            "action": "create" if i % 2 else "update",
            "object_type": "asset",
            "object_id": i,
            "region_code": "410102" if i % 3 else "440106",
            "category": "elevator",
            "before": None if i % 2 else {"floors": 5, "name": "x"},
            "after": {"floors": 6, "name": "x", "commissioned_on": date(2001, 1, 1)},
        }
        for i in range(n)
    ]
    rows.append({**rows[0], "object_id": "noop", "after": {"floors": 5}})  # changes nothing
    with db() as session, session.begin():
        change_set = open_change_set(session, IMPORTER, kind="import", batch_id=7)
        assert record_bulk_changes(session, change_set, iter(rows)) == n
        record_change(
            session,
            action="commit",
            object_type="import_batch",
            object_id=7,
            region_code="41",
            after={"created": n // 2},
        )
    with db() as session:
        assert session.scalar(select(func.count()).select_from(ChangeSet)) == 1
        header = session.get(ChangeSet, change_set)
        assert header is not None and (header.kind, header.batch_id) == ("import", 7)
        assert session.scalar(select(func.count()).select_from(Change)) == n + 1
        items, _ = queries.object_history(session, "asset", 4, limit=10, cursor=None)
        (entry,) = items
        assert entry["change_set_id"] == change_set and entry["batch_id"] == 7
        assert entry["before"] == {"floors": 5, "commissioned_on": None}
        assert entry["after"] == {
            "floors": 6,
            "commissioned_on": "2001-01-01",
        }
        henan = Principal(account_id=None, name="v", role="viewer", region_prefix="41")
        page, _ = queries.list_changes(
            session, henan, queries.ChangeFilters(batch=7), limit=500, cursor=None
        )
        assert {e["region_code"] for e in page} == {"410102", "41"}


def test_change_set_opened_in_a_rolled_back_savepoint_is_not_reused(
    db: sessionmaker[Session],
) -> None:
    with db() as session, session.begin():
        savepoint = session.begin_nested()
        _one(session, object_id=1, before=None, after={"s": "draft"})
        savepoint.rollback()
        _one(session, object_id=2, before=None, after={"s": "draft"})
        with session.begin_nested():
            _one(session, object_id=3, before=None, after={"s": "draft"})
    with db() as session:
        rows = session.execute(select(Change.change_set_id, Change.object_id)).all()
        assert sorted(r.object_id for r in rows) == ["2", "3"]
        assert len({r.change_set_id for r in rows}) == 1  # 3 joins the outer transaction's set
        assert session.scalar(select(func.count()).select_from(ChangeSet)) == 1
