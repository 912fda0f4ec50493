"""Health, problem+json basics, security headers, authentication."""

from __future__ import annotations

from fastapi.testclient import TestClient


def test_health_reports_database_and_revision(app: TestClient) -> None:
    body = app.get("/api/v1/health").json()
    assert body["status"] == "ok"
    assert body["database"] in ("sqlite", "postgresql")
    assert body["schema_revision"]


def test_missing_token_is_401_problem(app: TestClient) -> None:
    resp = app.get("/api/v1/assets")
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert resp.headers["www-authenticate"] == "Bearer"


def test_bad_token_is_401(app: TestClient) -> None:
    resp = app.get("/api/v1/assets", headers={"Authorization": "Bearer rr_nope"})
    assert resp.status_code == 401


def test_security_headers_and_request_id(client: TestClient) -> None:
    resp = client.get("/api/v1/me")
    assert resp.status_code == 200
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["x-request-id"]
    assert "access-control-allow-origin" not in resp.headers


def test_unknown_route_is_problem(client: TestClient) -> None:
    resp = client.get("/api/v1/nowhere")
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith("application/problem+json")
