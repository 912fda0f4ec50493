"""Write side of the change log: every change is recorded in the caller's transaction.

How other domains record their changes
--------------------------------------
A change set is the header (actor, time, request id, kind, reason, import batch); each object it
touched is one change row with the before/after of the *changed fields only*. Both are written in
the session's own transaction, so a request that fails leaves neither data nor log behind.

One object (a plan created, a plan line changed, an account deactivated)::

    from app.audit.recorder import record_change

    record_change(session, action="create", object_type="plan", object_id=plan.id,
                  region_code=plan.region_prefix, category=None,
                  before=None, after={"fiscal_year": 2027, "status": "draft"})

Pass full snapshots: ``before``/``after`` are reduced to the fields that differ (keys of
``after`` define what is compared; None values are dropped for create and delete), and an update
that changes nothing records nothing. Dates, datetimes and Decimals are stored as ISO strings and
plain decimal strings. Inside a request the actor (account id + name), the request id and the
reason (header ``X-Change-Reason``) come from ``session.info`` (bound by ``get_principal``); the
first record of a transaction opens the change set, later ones join it.

An import commit (100,000 rows = one change set, entries written with Core executemany)::

    from app.audit.recorder import open_change_set, record_bulk_changes, record_change

    cs = open_change_set(session, actor, kind="import", reason=batch.note, batch_id=batch.id)
    record_bulk_changes(session, cs, (
        {"action": "create", "object_type": "asset", "object_id": asset_id,
         "region_code": row["region_code"], "category": row["category"], "after": row}
        for asset_id, row in created))
    record_change(session, action="commit", object_type="import_batch", object_id=batch.id,
                  region_code=batch.region_prefix, after={"created": n_created, ...})

``actor`` is any object with ``account_id`` and ``name`` (a ``Principal``); a background job
passes the account that started the batch, the CLI may pass ``SYSTEM``.

A rule-pack load::

    open_change_set(session, kind="rule_pack_load")
    record_change(session, action="load", object_type="rule_pack", object_id=pack.id,
                  region_code=pack.province_code or "", before={"version": old},
                  after={"version": new})
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NotRequired, Protocol, TypedDict, cast

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, SessionTransaction

from app.accounts.scope import SYSTEM
from app.audit.models import Change, ChangeSet

ACTOR_KEY = "audit.actor"
REASON_KEY = "audit.reason"
CURRENT_KEY = "audit.change_set"
BULK_CHUNK = 5000
CHANGES = cast(Table, Change.__table__)


class Actor(Protocol):
    """Who acts: an account id (None for the operator) and a display name."""

    @property
    def account_id(self) -> int | None: ...

    @property
    def name(self) -> str: ...


class ChangeRow(TypedDict):
    """One entry for record_bulk_changes."""

    action: str
    object_type: str
    object_id: int | str
    region_code: str
    category: NotRequired[str | None]
    before: NotRequired[Mapping[str, Any] | None]
    after: NotRequired[Mapping[str, Any] | None]


def bind_actor(session: Session, actor: Actor, reason: str | None = None) -> None:
    """Make `actor` and `reason` the defaults of every change recorded in this session."""
    session.info[ACTOR_KEY] = actor
    session.info[REASON_KEY] = reason


def open_change_set(
    session: Session,
    actor: Actor | None = None,
    kind: str | None = None,
    reason: str | None = None,
    batch_id: int | None = None,
) -> int:
    """Start a change set in the current transaction; later records in it join this set."""
    who: Actor = actor or session.info.get(ACTOR_KEY) or SYSTEM
    request_id = session.info.get("request_id")
    change_set = ChangeSet(
        request_id=request_id,
        actor_id=who.account_id,
        actor_name=who.name,
        kind=kind or ("api" if request_id else "cli"),
        reason=reason if reason is not None else session.info.get(REASON_KEY),
        batch_id=batch_id,
    )
    session.add(change_set)
    session.flush()
    session.info[CURRENT_KEY] = (_innermost(session), change_set.id)
    return change_set.id


def _innermost(session: Session) -> SessionTransaction | None:
    return session.get_nested_transaction() or session.get_transaction()


def _still_open(session: Session, opened_in: SessionTransaction) -> bool:
    """Whether the transaction (or savepoint) a change set was written in still holds it."""
    current = _innermost(session)
    while current is not None:
        if current is opened_in:
            return True
        current = current.parent
    return False


def current_change_set(
    session: Session, actor: Actor | None = None, reason: str | None = None
) -> int:
    """The change set of the current transaction, opened on first use."""
    current = session.info.get(CURRENT_KEY)
    if current is not None and _still_open(session, current[0]):
        return int(current[1])
    return open_change_set(session, actor, reason=reason)


_PLAIN = frozenset({str, int, bool, float, type(None)})


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: dates as ISO strings, Decimals as plain decimal strings."""
    if type(value) in _PLAIN:
        return value
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value.is_finite() else str(value)
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    if isinstance(value, Mapping):
        return _plain_dict(value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    return value


def _plain_dict(items: Iterable[tuple[Any, Any]]) -> dict[str, Any]:
    return {str(k): v if type(v) in _PLAIN else jsonable(v) for k, v in items}


def diff(
    before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The changed fields only: after's keys whose value differs; set fields for create/delete."""
    if before is None or after is None:
        old = None if before is None else _plain_dict(i for i in before.items() if i[1] is not None)
        new = None if after is None else _plain_dict(i for i in after.items() if i[1] is not None)
        return old, new
    changed = [k for k, v in after.items() if before.get(k) != v]
    return (
        _plain_dict((k, before.get(k)) for k in changed),
        _plain_dict((k, after[k]) for k in changed),
    )


def _entry(change_set_id: int, row: ChangeRow) -> dict[str, Any] | None:
    """The changes-table row for one entry, or None for an update that changed nothing."""
    given_before, given_after = row.get("before"), row.get("after")
    before, after = diff(given_before, given_after)
    if given_before is not None and given_after is not None and not after:
        return None
    return {
        "change_set_id": change_set_id,
        "action": row["action"],
        "object_type": row["object_type"],
        "object_id": str(row["object_id"]),
        "region_code": row["region_code"],
        "category": row.get("category"),
        "before": before,
        "after": after,
    }


def record_change(
    session: Session,
    *,
    action: str,
    object_type: str,
    object_id: int | str,
    region_code: str,
    category: str | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
    reason: str | None = None,
) -> bool:
    """Record one object's change in the current change set; False when nothing changed."""
    row: ChangeRow = {
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "region_code": region_code,
        "category": category,
        "before": before,
        "after": after,
    }
    probe = _entry(0, row)
    if probe is None:
        return False
    probe["change_set_id"] = current_change_set(session, actor, reason)
    session.execute(insert(CHANGES), [probe])
    return True


def _copy(session: Session, entries: list[dict[str, Any]]) -> None:
    """PostgreSQL COPY into changes, on the session's own connection and transaction."""
    columns = [c.name for c in CHANGES.columns if c.name != "id"]
    dbapi = session.connection().connection.driver_connection
    assert dbapi is not None
    with (
        dbapi.cursor() as cursor,
        cursor.copy(f"COPY changes ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        for entry in entries:
            copy.write_row([_copy_value(entry[c]) for c in columns])


def _copy_value(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict) else value


def _write(session: Session, entries: list[dict[str, Any]]) -> None:
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, entries)
    else:
        session.execute(insert(CHANGES), entries)


def record_bulk_changes(session: Session, change_set_id: int, rows: Iterable[ChangeRow]) -> int:
    """Record many entries in one change set (COPY on PostgreSQL, executemany on SQLite)."""
    written = 0
    chunk: list[dict[str, Any]] = []
    for row in rows:
        entry = _entry(change_set_id, row)
        if entry is None:
            continue
        chunk.append(entry)
        if len(chunk) >= BULK_CHUNK:
            _write(session, chunk)
            written += len(chunk)
            chunk = []
    if chunk:
        _write(session, chunk)
        written += len(chunk)
    return written
