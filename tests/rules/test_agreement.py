"""The SQL evaluator and the Python evaluator agree on generated assets (this database)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, inspect, select
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.assets.spec import CATEGORIES, choices_for, fields_for
from app.rules.evaluate import asset_status, earliest_of_level, evaluate_asset
from app.rules.models import AssetFlag, category_key, region_key, rule_key
from app.rules.packs import get_registry
from app.rules.queries import flag_view
from app.rules.service import (
    begin_rebuild,
    evaluate_ledger,
    facts_of,
    finish_rebuild,
    insert_flags_by_ids,
)
from app.rules.status import flag_statuses

AS_OF = date(2026, 11, 29)
REGIONS = ["410102", "130102", "310101", "140105", "440106", "110105", "320102", "650102"]
DATES = [
    date(2004, 2, 29),
    date(2006, 11, 29),
    date(2006, 11, 30),
    date(2007, 1, 31),
    date(2007, 2, 1),
    date(2011, 11, 29),
    date(1990, 5, 5),
    date(2015, 6, 1),
    date(2020, 2, 29),
    date(2024, 9, 30),
    date(2026, 11, 29),
    date(2030, 1, 1),
]
SKIP = {
    "asset_code",
    "category",
    "region_code",
    "status",
    "name",
    "address",
    "community",
    "building",
    "unit",
    "owner",
    "operator",
    "unit_cost",
    "plate_no",
    "filling_station",
}


def _values(spec: Any, category: str) -> st.SearchStrategy[Any]:
    if spec.kind == "enum":
        return st.sampled_from(choices_for(spec, category))
    if spec.kind == "bool":
        return st.booleans()
    if spec.kind == "date":
        return st.one_of(st.sampled_from(DATES), st.dates(date(1985, 1, 1), date(2030, 12, 31)))
    if spec.kind == "int":
        return st.sampled_from([1, 3, 4, 5, 6, 8, 15, 20, 499_999, 500_000])
    if spec.kind == "decimal":
        return st.sampled_from([Decimal("10"), Decimal("35"), Decimal("35.5"), Decimal("120.25")])
    return st.sampled_from(["GB 5842-1996", "GB 5842-2006", "GB/T 5842-2022", "GB 5842-2023"])


@st.composite
def assets(draw: st.DrawFn) -> dict[str, Any]:
    category = draw(st.sampled_from(sorted(CATEGORIES)))
    row: dict[str, Any] = {
        "category": category,
        "region_code": draw(st.sampled_from(REGIONS)),
        "status": draw(st.sampled_from(["in_service"] * 4 + ["renewing", "retired"])),
    }
    for spec in fields_for(category):
        if spec.name in SKIP:
            continue
        if draw(st.booleans()):
            row[spec.name] = draw(_values(spec, category))
    if category == "lpg_cylinder":
        row.setdefault("manufactured_on", date(2015, 1, 1))
    row["surveyed_on"] = draw(st.sampled_from([None, date(2026, 10, 15)]))
    return row


def _python_flags(session: Session) -> set[tuple[Any, ...]]:
    out = set()
    registry = get_registry()
    for asset in session.scalars(select(Asset)):
        pack = registry.pack_for_region(asset.region_code)
        flags = evaluate_asset(pack, asset.category, facts_of(asset), AS_OF)
        first = earliest_of_level(flags)
        for f in flags:
            out.add(
                (
                    asset.asset_code,
                    pack.id,
                    f.rule.id,
                    f.level,
                    f.in_scope_on,
                    f.due_on,
                    tuple(f.missing or ()),
                    f.rule.id in first,
                )
            )
    return out


def _sql_flags(session: Session) -> set[tuple[Any, ...]]:
    rows = session.execute(
        select(Asset.asset_code, AssetFlag).join(Asset, Asset.id == AssetFlag.asset_id)
    )
    out = set()
    for code, f in rows:
        # the numbers the due list's indexes lead with stand for the texts
        assert (f.region_key, f.category_key, f.rule_key) == (
            region_key(f.region_code),
            category_key(f.category),
            rule_key(f.rule_id),
        )
        out.add(
            (
                code,
                f.pack_id,
                f.rule_id,
                f.level,
                f.in_scope_on,
                f.due_on,
                tuple(f.missing or ()),  # named once each, in name order, as in Python
                f.earliest,
            )
        )
    return out


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(assets(), min_size=1, max_size=25))
def test_sql_and_python_evaluators_agree(
    db: sessionmaker[Session], batch: list[dict[str, Any]]
) -> None:
    with db() as session, session.begin():
        rows = [{**r, "asset_code": f"H{i:04d}"} for i, r in enumerate(batch)]
        session.execute(insert(Asset), rows)
        evaluate_ledger(session, as_of=AS_OF)
        sql = _sql_flags(session)
        py = _python_flags(session)
        assert sql == py
        # the same flags written an id range at a time (as an import writes its new assets'),
        # by statements built once and bound to each range, and run only for the range's packs
        ids = sorted(session.scalars(select(Asset.id)))
        cut = ids[len(ids) // 2]
        run = begin_rebuild(session, as_of=AS_OF)
        categories = {r["category"] for r in rows}

        def packs(lo: int, hi: int) -> set[str]:
            codes = session.scalars(select(Asset.region_code).where(Asset.id.between(lo, hi)))
            return {get_registry().pack_for_region(c).id for c in codes}

        written = insert_flags_by_ids(
            session, run, ids[0], cut - 1, categories, packs(ids[0], cut - 1)
        )
        written += insert_flags_by_ids(session, run, cut, ids[-1], categories, packs(cut, ids[-1]))
        finish_rebuild(session, run, written)
        assert len(run.by_ids) == 1
        assert written == len(sql)
        assert _sql_flags(session) == sql
        stored = session.scalars(select(Asset)).all()
        statuses = flag_statuses(session, [a.id for a in stored], AS_OF)
        for asset in stored:
            pack = get_registry().pack_for_region(asset.region_code)
            expected = asset_status(
                evaluate_asset(pack, asset.category, facts_of(asset), AS_OF), AS_OF
            )
            assert statuses[asset.id] == expected, asset.asset_code
            # reason and facts are derived on read: the API shows what the evaluator says
            live = {
                (f.rule.id, f.reason, repr(sorted(f.facts.items())))
                for f in evaluate_asset(pack, asset.category, facts_of(asset), AS_OF)
            }
            views = [
                flag_view(f, AS_OF, asset)
                for f in session.scalars(select(AssetFlag).where(AssetFlag.asset_id == asset.id))
            ]
            shown = {(v["rule_id"], v["reason"], repr(sorted(v["facts"].items()))) for v in views}
            assert shown == live, asset.asset_code
        session.execute(delete(AssetFlag))
        session.execute(delete(Asset))


def _grey_pipe(code: str, **extra: Any) -> dict[str, Any]:
    """A grey cast-iron gas pipe in Zhengzhou: one mandatory flag (GAS-GREY-IRON)."""
    return {
        "asset_code": code,
        "category": "gas_pipe",
        "region_code": "410102",
        "material": "grey_cast_iron",
        **extra,
    }


def test_evaluation_of_a_subset_leaves_others(db: sessionmaker[Session]) -> None:
    with db() as session, session.begin():
        session.execute(
            insert(Asset),
            [_grey_pipe("A", last_batch_id=1), _grey_pipe("B", last_batch_id=2)],
        )
        evaluate_ledger(session, as_of=AS_OF)
        before = session.scalars(
            select(AssetFlag.rule_id, AssetFlag.evaluated_at)
            .join(Asset)
            .where(Asset.asset_code == "B")
        ).all()
        summary = evaluate_ledger(session, as_of=AS_OF, where=Asset.last_batch_id == 1)
        after = session.scalars(
            select(AssetFlag.rule_id, AssetFlag.evaluated_at)
            .join(Asset)
            .where(Asset.asset_code == "B")
        ).all()
        # B's flags were not written again (a rewrite stamps the run's time)
        assert before == after
        assert summary.assets == 1
        assert summary.as_of == AS_OF - timedelta(days=0)


def test_large_share_of_a_large_ledger_is_rebuilt_whole(
    db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partial evaluation over most of the ledger takes the whole-ledger path (every asset's
    flags re-made, as of the new date); over a small share it leaves the others alone."""
    from app.rules import service

    monkeypatch.setattr(service, "REBUILD_MIN_ASSETS", 3)
    with db() as session, session.begin():
        session.execute(
            insert(Asset),
            [
                _grey_pipe(code, last_batch_id=batch)
                for code, batch in [("A", 1), ("B", 1), ("C", 2), ("D", 2), ("E", 2)]
            ],
        )
        evaluate_ledger(session, as_of=AS_OF)
        monkeypatch.setattr(service, "REBUILD_SHARE", 0.5)
        later = AS_OF + timedelta(days=1)
        small = evaluate_ledger(session, as_of=later, where=Asset.last_batch_id == 1)
        assert small.assets == 2
        assert set(session.scalars(select(AssetFlag.as_of))) == {AS_OF, later}
        large = evaluate_ledger(session, as_of=later, where=Asset.last_batch_id == 2)
        assert large.assets == 5
        assert set(session.scalars(select(AssetFlag.as_of))) == {later}


def test_whole_ledger_rebuild_restores_indexes_and_foreign_key(
    db: sessionmaker[Session],
) -> None:
    """The whole-ledger path takes the indexes (and on PostgreSQL the foreign key) off while it
    writes; they are all back afterwards, and a failure rolls back to the previous flags."""
    with db() as session, session.begin():
        session.execute(
            insert(Asset),
            [_grey_pipe("A")],
        )
    with db() as session, session.begin():
        evaluate_ledger(session, as_of=AS_OF)
    with db() as session:
        inspector = inspect(session.connection())
        names = {ix["name"] for ix in inspector.get_indexes("asset_flags")}
        assert names == {ix.name for ix in AssetFlag.__table__.indexes}
        fks = inspector.get_foreign_keys("asset_flags")
        assert [fk["referred_table"] for fk in fks] == ["assets"]
        assert fks[0]["options"].get("ondelete") == "CASCADE"
        before = session.scalars(select(AssetFlag.rule_id, AssetFlag.evaluated_at)).all()
        assert before
    with db() as session:
        session.begin()
        evaluate_ledger(session, as_of=AS_OF + timedelta(days=1))
        session.rollback()
    with db() as session:
        assert session.scalars(select(AssetFlag.rule_id, AssetFlag.evaluated_at)).all() == before
        assert {ix["name"] for ix in inspect(session.connection()).get_indexes("asset_flags")} == {
            ix.name for ix in AssetFlag.__table__.indexes
        }
        # deleting an asset still cascades to its flags
        session.execute(delete(Asset))
        session.commit()
        assert session.scalars(select(AssetFlag.rule_id, AssetFlag.evaluated_at)).all() == []


def test_absurd_design_life_counts_as_never(db: sessionmaker[Session]) -> None:
    """A mistyped life (500000 years) must not overflow dates in either evaluator."""
    with db() as session, session.begin():
        session.execute(
            insert(Asset),
            [
                {
                    "asset_code": "LIFE",
                    "category": "water_pump",
                    "region_code": "410102",
                    "setting": "heating",
                    "design_life_years": 500_000,
                    "commissioned_on": date(2010, 1, 1),
                }
            ],
        )
        evaluate_ledger(session, as_of=AS_OF)
        assert _sql_flags(session) == _python_flags(session)
        rules = set(session.scalars(select(AssetFlag.rule_id)))
        assert "PUMP-LIFE" not in rules


def test_asset_edit_during_a_rebuild_waits_instead_of_deadlocking(
    db: sessionmaker[Session],
) -> None:
    """PostgreSQL: the whole-ledger path re-adds the flags' foreign key at the end, which needs a
    lock on assets. An asset edit that started meanwhile (it holds assets and wants asset_flags)
    must wait for the rebuild, not deadlock with it."""
    import threading

    from sqlalchemy import text, update

    from app.rules import service

    with db() as session, session.begin():
        if session.get_bind().dialect.name != "postgresql":
            pytest.skip("SQLite has one writer at a time")
        session.execute(
            insert(Asset),
            [_grey_pipe("A")],
        )
    errors: list[BaseException] = []

    def edit() -> None:
        try:
            with db() as s, s.begin():
                s.execute(text("SET LOCAL lock_timeout = '30s'"))
                s.execute(update(Asset).where(Asset.asset_code == "A").values(name="改"))
                asset = s.scalars(select(Asset).where(Asset.asset_code == "A")).one()
                service.refresh_asset_flags(s, [asset], as_of=AS_OF)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    with db() as rebuild:
        rebuild.begin()
        service._empty_flags_for_rebuild(rebuild, "postgresql")
        editor = threading.Thread(target=edit)
        editor.start()
        editor.join(1.5)
        assert editor.is_alive()  # waiting for the rebuild's locks
        service._finish_rebuild(rebuild, "postgresql")
        rebuild.commit()
    editor.join(30)
    assert not editor.is_alive() and errors == []
    with db() as session:
        assert session.scalar(select(Asset.name).where(Asset.asset_code == "A")) == "改"
        assert session.scalars(select(AssetFlag.rule_id)).all() == ["GAS-GREY-IRON"]
