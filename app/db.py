"""Declarative base, engine construction for SQLite and PostgreSQL, and the session dependency."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import (
    BigInteger,
    DateTime,
    Integer,
    MetaData,
    Numeric,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BigId = BigInteger().with_variant(Integer, "sqlite")
"""64-bit ids on PostgreSQL; SQLite needs INTEGER PRIMARY KEY for its rowid alias."""


def utcnow() -> datetime:
    """Timezone-aware now, the only clock the service uses for timestamps."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware timestamps on both databases (SQLite returns naive values, written in UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    """Declarative base with a stable naming convention (constraint names map errors to 409s)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012
        datetime: UtcDateTime(),
        Decimal: Numeric(18, 4),
    }


class TimestampMixin:
    """created_at / updated_at, always timezone-aware."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def database_kind(url: str) -> str:
    """'sqlite' or 'postgresql' from a SQLAlchemy URL."""
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def _strict_json(value: Any) -> str:
    """JSON for a JSON column. NaN and Infinity are refused on both databases alike: PostgreSQL
    rejects them, and SQLite would otherwise store what PostgreSQL cannot."""
    return json.dumps(value, allow_nan=False)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if database_kind(url) == "sqlite":
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False},
            json_serializer=_strict_json,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    url = (
        url.replace("postgresql://", "postgresql+psycopg://", 1)
        if "+" not in url.split(":")[0]
        else url
    )
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        json_serializer=_strict_json,
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, committed before the response is sent; rolled back on error."""
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    with factory() as session, session.begin():
        session.info["request_id"] = getattr(request.state, "request_id", None)
        yield session


DbSession = Annotated[Session, Depends(get_session, scope="function")]
