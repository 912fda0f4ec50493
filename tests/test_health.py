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


def test_large_json_is_gzipped_and_workbooks_are_not(client: TestClient) -> None:
    from tests.factories import create

    for i in range(30):
        create(client, "elevator", asset_code=f"GZ-{i:03d}", name="金水区某小区一号楼电梯" * 3)
    page = client.get("/api/v1/assets?limit=30", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and len(page.json()["items"]) == 30
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["x-request-id"]  # the request context still sets its headers
    plain = client.get("/api/v1/assets?limit=30", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == page.json()
    small = client.get("/api/v1/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers  # below GZIP_MIN_BYTES
    book = client.get("/api/v1/assets/export.xlsx", headers={"Accept-Encoding": "gzip"})
    assert book.status_code == 200 and "content-encoding" not in book.headers
