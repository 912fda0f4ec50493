"""Authentication: missing and bad tokens, last-use bookkeeping, failure limits, quiet logs, CLI."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.accounts import cache as token_cache
from app.accounts.models import ApiToken
from app.cli import main as cli_main
from app.config import AuthSettings, Settings
from app.main import create_app
from tests.accounts.conftest import A

API = "/api/v1"


def bare(app: TestClient, **headers: str) -> TestClient:
    other = TestClient(app.app, raise_server_exceptions=False)
    other.headers.update(headers)
    return other


class TestBearer:
    @pytest.mark.parametrize(
        ("headers", "detail"),
        [
            ({}, "缺少身份令牌"),
            ({"Authorization": "Bearer "}, "缺少身份令牌"),
            ({"Authorization": "Basic dXNlcjpwYXNz"}, "缺少身份令牌"),
            ({"Authorization": "Bearer rr_not-a-real-token"}, "身份令牌无效或已被吊销"),
        ],
    )
    def test_rejected_with_401_problem(
        self, app: TestClient, headers: dict[str, str], detail: str
    ) -> None:
        resp = bare(app, **headers).get(f"{API}/assets")
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"] == "Bearer"
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert resp.json()["detail"].startswith(detail)

    def test_health_needs_no_token(self, app: TestClient) -> None:
        assert bare(app).get(f"{API}/health").status_code == 200


def _last_used(db: sessionmaker[Session]) -> list[datetime | None]:
    with db() as session:
        return list(session.scalars(select(ApiToken.last_used_at).order_by(ApiToken.id)))


class TestLastUsed:
    def test_recorded_at_most_every_few_minutes(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        assert _last_used(db) == [None]
        client.get(f"{API}/me")
        (first,) = _last_used(db)
        assert first is not None
        for _ in range(3):
            client.get(f"{API}/me")
        assert _last_used(db) == [first]  # reads do not turn into writes
        stale = datetime.now(UTC) - timedelta(minutes=6)
        with db() as session, session.begin():
            session.execute(update(ApiToken).values(last_used_at=stale))
        token_cache.forget_all()  # as after token_cache_seconds: the next request looks it up
        client.get(f"{API}/me")
        (again,) = _last_used(db)
        assert again is not None and again.replace(tzinfo=UTC) > stale + timedelta(minutes=5)


@pytest.fixture
def strict_app(settings: Settings, db: sessionmaker[Session]) -> Iterator[TestClient]:
    """An app that allows three failed token checks per minute."""
    strict = settings.model_copy(update={"auth": AuthSettings(max_failures_per_minute=3)})
    with TestClient(create_app(strict), raise_server_exceptions=False) as client:
        yield client


class TestFailureLimit:
    def test_too_many_failures_is_429_but_never_for_a_good_token(
        self, strict_app: TestClient, make_client: Callable[..., TestClient]
    ) -> None:
        good = bare(strict_app, Authorization=make_client().headers["Authorization"])
        assert good.get(f"{API}/me").status_code == 200
        guesser = bare(strict_app, Authorization="Bearer rr_guess")
        assert [guesser.get(f"{API}/me").status_code for _ in range(3)] == [401] * 3
        resp = guesser.get(f"{API}/me")
        assert resp.status_code == 429
        assert resp.json()["type"] == "/problems/too-many-requests"
        assert resp.headers["retry-after"] == "60"
        # same address, locked for failures: the valid token still passes
        assert good.get(f"{API}/me").status_code == 200
        assert bare(strict_app, Authorization="Bearer rr_other").get(f"{API}/me").status_code == 429

    def test_failures_are_counted_per_presented_token_too(
        self, strict_app: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A guesser rotating its address through a trusted proxy still meets the count of the
        token prefix it keeps presenting; a valid token from the same proxy passes."""
        monkeypatch.setattr(strict_app.app.state.settings.http, "trusted_proxies", ["10.0.0.1"])
        statuses = []
        for i in range(4):
            hop = TestClient(strict_app.app, raise_server_exceptions=False, client=("10.0.0.1", 1))
            hop.headers.update(
                {"Authorization": "Bearer rr_same_guess_xx", "X-Forwarded-For": f"203.0.113.{i}"}
            )
            statuses.append(hop.get(f"{API}/me").status_code)
        assert statuses == [401, 401, 401, 429]
        fresh = TestClient(strict_app.app, raise_server_exceptions=False, client=("10.0.0.1", 1))
        fresh.headers.update(
            {"Authorization": "Bearer rr_other_guess", "X-Forwarded-For": "1.2.3.4"}
        )
        assert fresh.get(f"{API}/me").status_code == 401  # another client, another token

    def test_forwarded_for_is_ignored_unless_from_a_trusted_proxy(
        self, strict_app: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Nobody can rotate the header to escape the count, or forge a victim's address."""
        monkeypatch.setattr(strict_app.app.state.settings.http, "trusted_proxies", ["10.0.0.1"])
        for i in range(3):
            client = TestClient(
                strict_app.app, raise_server_exceptions=False, client=("10.9.9.9", 1)
            )
            client.headers.update(
                {"Authorization": f"Bearer rr_guess_{i}_padding", "X-Forwarded-For": f"10.1.1.{i}"}
            )
            assert client.get(f"{API}/me").status_code == 401
        client.headers.update(
            {"Authorization": "Bearer rr_guess_new_padding", "X-Forwarded-For": "10.1.1.200"}
        )
        assert client.get(f"{API}/me").status_code == 429  # counted on the peer address


def test_client_address_trusts_only_configured_proxies() -> None:
    from starlette.requests import Request

    from app.accounts.deps import client_address

    def request(peer: str, forwarded: str) -> Request:
        headers = [(b"x-forwarded-for", forwarded.encode())]
        return Request({"type": "http", "client": (peer, 1), "headers": headers})

    assert client_address(request("127.0.0.1", "1.2.3.4"), []) == "127.0.0.1"
    assert client_address(request("10.0.0.1", "1.2.3.4"), ["10.0.0.0/8"]) == "1.2.3.4"
    # the client's own claims come first; the last hop not a proxy is the client
    assert client_address(request("10.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2"), ["10.0.0.0/8"]) == (
        "1.2.3.4"
    )
    assert client_address(request("192.0.2.7", "1.2.3.4"), ["10.0.0.0/8"]) == "192.0.2.7"
    assert client_address(request("10.0.0.1", "garbage"), ["10.0.0.0/8"]) == "garbage"


class TestFailureWindow:
    def test_successes_do_not_count(
        self, strict_app: TestClient, make_client: Callable[..., TestClient]
    ) -> None:
        good = bare(strict_app, Authorization=make_client().headers["Authorization"])
        assert {good.get(f"{API}/me").status_code for _ in range(10)} == {200}

    def test_each_app_has_its_own_window(self, app: TestClient, strict_app: TestClient) -> None:
        for _ in range(4):
            bare(strict_app).get(f"{API}/me")
        assert bare(strict_app).get(f"{API}/me").status_code == 429
        assert bare(app).get(f"{API}/me").status_code == 401


def test_tokens_never_reach_the_logs(
    settings: Settings,
    db: sessionmaker[Session],
    make_client: Callable[..., TestClient],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make_client("admin").headers["Authorization"].removeprefix("Bearer ")
    noisy = settings.model_copy(update={"database_echo": True})
    with TestClient(create_app(noisy), raise_server_exceptions=False) as client:
        good = bare(client, Authorization=f"Bearer {token}")
        assert good.get(f"{API}/assets").status_code == 200
        assert good.post(f"{API}/assets", json={"category": "elevator"}).status_code == 422
        assert bare(client, Authorization=f"Bearer {token}x").get(f"{API}/me").status_code == 401
    assert "SELECT" in caplog.text  # the SQL log was on, parameters and all
    assert token not in caplog.text
    assert "Bearer" not in caplog.text


class TestCli:
    def test_add_list_tokens_revoke(
        self, app: TestClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli_main(["accounts", "add", "区管理员", "--role", "editor", "--region", A]) == 0
        out = capsys.readouterr().out
        token = out.split("token (shown once): ")[1].strip()
        user = bare(app, Authorization=f"Bearer {token}")
        me = user.get(f"{API}/me").json()
        assert (me["name"], me["role"], me["region_prefix"]) == ("区管理员", "editor", A)
        assert cli_main(["accounts", "list"]) == 0
        assert "区管理员\teditor\t410102" in capsys.readouterr().out
        assert cli_main(["accounts", "tokens", "区管理员"]) == 0
        listing = capsys.readouterr().out
        token_id = int(listing.split("\t")[0])
        assert token[:10] in listing and token not in listing
        assert cli_main(["accounts", "revoke", str(token_id)]) == 0
        assert user.get(f"{API}/me").status_code == 401

    def test_bad_input_is_one_line_error(
        self, app: TestClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli_main(["accounts", "add", "x", "--role", "viewer", "--region", "99"]) == 2
        assert capsys.readouterr().err.strip() == "error: 未知的行政区划 99"
        assert cli_main(["accounts", "tokens", "nobody"]) == 2
        assert cli_main(["accounts", "revoke", "424242"]) == 2


class TestTokenCache:
    def test_a_checked_token_is_not_looked_up_again_within_its_time_to_live(
        self, client: TestClient, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from app.accounts import deps

        lookups: list[str] = []
        real = deps._authenticate

        def counting(session: Session, token_hash: str) -> Any:
            lookups.append(token_hash)
            return real(session, token_hash)

        monkeypatch.setattr(deps, "_authenticate", counting)
        token_cache.forget_all()
        for _ in range(5):
            assert client.get(f"{API}/me").status_code == 200
        assert len(lookups) == 1

    def test_revocation_in_this_process_takes_effect_at_once(
        self, app: TestClient, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert cli_main(["accounts", "add", "缓存测试", "--role", "viewer"]) == 0
        token = capsys.readouterr().out.split("token (shown once): ")[1].strip()
        user = bare(app, Authorization=f"Bearer {token}")
        assert user.get(f"{API}/me").status_code == 200  # now cached
        assert cli_main(["accounts", "tokens", "缓存测试"]) == 0
        token_id = int(capsys.readouterr().out.split("\t")[0])
        assert cli_main(["accounts", "revoke", str(token_id)]) == 0
        assert user.get(f"{API}/me").status_code == 401

    def test_a_revocation_elsewhere_is_seen_after_the_time_to_live(
        self,
        app: TestClient,
        capsys: pytest.CaptureFixture[str],
        db: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        assert cli_main(["accounts", "add", "缓存测试2", "--role", "viewer"]) == 0
        token = capsys.readouterr().out.split("token (shown once): ")[1].strip()
        user = bare(app, Authorization=f"Bearer {token}")
        assert user.get(f"{API}/me").status_code == 200
        with db() as session, session.begin():  # as another process would: no cache to clear
            session.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
        assert user.get(f"{API}/me").status_code == 200  # trusted for its time to live
        later = time.monotonic() + 6
        monkeypatch.setattr(token_cache, "time", SimpleNamespace(monotonic=lambda: later))
        assert user.get(f"{API}/me").status_code == 401
