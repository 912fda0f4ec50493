"""HTTP protections and unsafe-settings refusals."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.config import DEFAULT_SQLITE, AuthSettings, HttpSettings, Settings
from app.main import create_app
from tests.accounts.conftest import collect
from tests.factories import payload

API = "/api/v1"
ORIGIN = "https://evil.example"


def test_oversized_body_is_413_and_writes_nothing(
    settings: Settings, make_client: Callable[..., TestClient], client: TestClient
) -> None:
    small = settings.model_copy(update={"http": HttpSettings(max_body_mb=1, max_json_mb=1)})
    token = make_client("admin").headers["Authorization"]
    with TestClient(create_app(small), raise_server_exceptions=False) as limited:
        body = payload("elevator", name="x" * 150, address="y" * 150)
        body["padding"] = "z" * (1024 * 1024)
        resp = limited.post(f"{API}/assets", json=body, headers={"Authorization": token})
        assert resp.status_code == 413
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "1 MB" in resp.json()["detail"]
    assert collect(client, f"{API}/assets") == []
    assert [c["object_type"] for c in collect(client, f"{API}/changes")].count("asset") == 0


def test_chunked_oversized_body_is_413_and_writes_nothing(
    settings: Settings, make_client: Callable[..., TestClient], client: TestClient
) -> None:
    small = settings.model_copy(update={"http": HttpSettings(max_body_mb=1, max_json_mb=1)})
    token = make_client("admin").headers["Authorization"]
    body = b'{"category": "elevator", "asset_code": "CHUNK", "region_code": "410102", "x": "'

    def chunks() -> Iterator[bytes]:
        yield body
        for _ in range(40):
            yield b"z" * 65536
        yield b'"}'

    with TestClient(create_app(small), raise_server_exceptions=False) as limited:
        resp = limited.post(
            f"{API}/assets",
            content=chunks(),
            headers={"Authorization": token, "Content-Type": "application/json"},
        )
        assert "content-length" not in {k.lower() for k in resp.request.headers}
        assert resp.status_code == 413
        assert resp.headers["content-type"].startswith("application/problem+json")
    assert collect(client, f"{API}/assets") == []


def test_cors_is_off_by_default(client: TestClient) -> None:
    preflight = client.options(
        f"{API}/assets",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "GET"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    resp = client.get(f"{API}/assets", headers={"Origin": ORIGIN})
    assert resp.status_code == 200
    assert "access-control-allow-origin" not in resp.headers


def test_cors_allows_only_configured_origins(settings: Settings) -> None:
    allowed = "https://bureau.example"
    configured = settings.model_copy(update={"http": HttpSettings(cors_origins=[allowed])})
    with TestClient(create_app(configured)) as client:
        ok = client.options(
            f"{API}/assets", headers={"Origin": allowed, "Access-Control-Request-Method": "GET"}
        )
        assert ok.headers["access-control-allow-origin"] == allowed
        other = client.get(f"{API}/health", headers={"Origin": ORIGIN})
        assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize("path", ["/health", "/assets", "/nowhere"])
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    resp = client.get(API + path)
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-frame-options"] == "DENY"
    assert resp.headers["referrer-policy"] == "no-referrer"
    assert resp.headers["cache-control"] == "no-store"
    assert resp.headers["x-request-id"]


def test_request_id_is_echoed(client: TestClient) -> None:
    resp = client.get(f"{API}/me", headers={"X-Request-ID": "req-123"})
    assert resp.headers["x-request-id"] == "req-123"


class TestProductionRefusesUnsafeSettings:
    @pytest.fixture(autouse=True)
    def _clean_env(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for name in ("APP_DATABASE_URL", "APP_ENV", "APP_AUTH__ENABLED"):
            monkeypatch.delenv(name, raising=False)

    def test_auth_off_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="APP_AUTH__ENABLED=false is refused"):
            Settings(
                _env_file=None,  # type: ignore[call-arg]
                env="production",
                database_url="postgresql+psycopg://db/registry",
                auth=AuthSettings(enabled=False),
            )

    def test_implicit_sqlite_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="set APP_DATABASE_URL explicitly"):
            Settings(_env_file=None, env="production")  # type: ignore[call-arg]

    def test_explicit_safe_settings_are_accepted(self) -> None:
        ok = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            database_url="postgresql+psycopg://db/registry",
        )
        assert ok.auth.enabled is True and ok.http.cors_origins == []

    def test_development_defaults_still_work(self) -> None:
        dev = Settings(_env_file=None)  # type: ignore[call-arg]
        assert dev.database_url == DEFAULT_SQLITE and dev.auth.enabled is True

    def test_production_from_the_environment(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("APP_ENV", "production")
        monkeypatch.setenv("APP_AUTH__ENABLED", "false")
        monkeypatch.setenv("APP_DATABASE_URL", "postgresql+psycopg://db/registry")
        with pytest.raises(ValidationError):
            Settings(_env_file=None)  # type: ignore[call-arg]


def test_json_bodies_have_their_own_small_limit(
    settings: Settings, make_client: Callable[..., TestClient], client: TestClient
) -> None:
    """A 3 MB JSON body is refused at once (the JSON limit is 2 MB here); an upload of the same
    size still reaches the import route."""
    limits = HttpSettings(max_body_mb=8, max_json_mb=2)
    token = make_client("admin").headers["Authorization"]
    with TestClient(
        create_app(settings.model_copy(update={"http": limits})), raise_server_exceptions=False
    ) as limited:
        body = payload("elevator")
        body["padding"] = "z" * (3 << 20)
        resp = limited.post(f"{API}/assets", json=body, headers={"Authorization": token})
        assert resp.status_code == 413
        assert "2 MB" in resp.json()["detail"]
        upload = limited.post(
            f"{API}/imports",
            files={"file": ("big.xlsx", b"z" * (3 << 20), "application/octet-stream")},
            headers={"Authorization": token},
        )
        assert upload.status_code == 415, upload.text  # read whole, then refused as not xlsx
    assert collect(client, f"{API}/assets") == []
