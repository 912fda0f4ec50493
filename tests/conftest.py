"""Test fixtures: a migrated database (SQLite by default, PostgreSQL via APP_TEST_DATABASE_URL),
the app with real commits, and clients authenticated as accounts of different scopes."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import service as accounts_service
from app.config import ROOT, Settings, get_settings
from app.db import make_engine, make_sessionmaker
from app.main import create_app
from app.models import metadata
from app.regions.service import seed_regions

KEEP_TABLES = {"regions", "retired_regions", "alembic_version", "rule_packs"}


def _database_url(tmp: Path) -> str:
    return os.environ.get("APP_TEST_DATABASE_URL") or f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        url = _database_url(Path(tmp))
        cfg = Config(str(ROOT / "alembic.ini"))
        cfg.attributes["database_url"] = url
        command.upgrade(cfg, "head")
        yield url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    factory = make_sessionmaker(eng)
    with factory() as session, session.begin():
        seed_regions(session)
        _sync_rule_packs(session)
    yield eng
    eng.dispose()


def _sync_rule_packs(session: Session) -> None:
    from app.rules import service as rules_service

    sync = getattr(rules_service, "sync_rule_packs", None)
    if sync is not None:
        sync(session)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Iterator[Settings]:
    os.environ["APP_DATABASE_URL"] = database_url
    os.environ["APP_ENV"] = "test"
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def db(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """A sessionmaker on the test database; every table but reference data is emptied afterwards."""
    yield make_sessionmaker(engine)
    with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                conn.execute(delete(table))


@pytest.fixture
def app(settings: Settings, db: sessionmaker[Session]) -> Iterator[TestClient]:
    application = create_app(settings)
    with TestClient(application, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def make_client(app: TestClient, db: sessionmaker[Session]) -> Callable[..., TestClient]:
    """Create an account with a role and scope and return a client that sends its token."""
    counter = iter(range(1_000_000))

    def _make(role: str = "admin", region: str = "", category: str | None = None) -> TestClient:
        with db() as session, session.begin():
            account = accounts_service.create_account(
                session,
                name=f"{role}-{region or 'cn'}-{category or 'all'}-{next(counter)}",
                role=role,
                region_prefix=region,
                category=category,
            )
            token = accounts_service.issue_token(session, account)
        client = TestClient(app.app, raise_server_exceptions=False)
        client.headers["Authorization"] = f"Bearer {token}"
        return client

    return _make


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    """A national admin."""
    return make_client("admin")


@pytest.fixture(autouse=True)
def _uploads_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test stores an upload in the checkout's var/imports."""
    from app.imports import files

    monkeypatch.setattr(files, "STORAGE", tmp_path / "uploads")
