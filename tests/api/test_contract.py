"""The API contract: ids and cursors out of range are 422s, every error is problem+json (500s
included, without a traceback), 404/405 name what is wrong, and titles are Chinese."""

from __future__ import annotations

import base64
import json
import logging
import re
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.factories import create

PROBLEM = "application/problem+json"
CJK = re.compile(r"[\u4e00-\u9fff]")
TOO_BIG = 2**63
MAX_ID = 2**63 - 1


def _int_path_routes() -> list[tuple[str, str, list[str]]]:
    """Every operation of the OpenAPI document with an integer path parameter."""
    out = []
    for path, operations in create_app().openapi()["paths"].items():
        for method, operation in operations.items():
            names = [
                p["name"]
                for p in operation.get("parameters", [])
                if p["in"] == "path" and p["schema"].get("type") == "integer"
            ]
            if names:
                out.append((method.upper(), path, names))
    return out


INT_PATH_ROUTES = _int_path_routes()


def test_the_table_covers_every_route_with_an_id() -> None:
    paths = {path for _, path, _ in INT_PATH_ROUTES}
    assert len(INT_PATH_ROUTES) >= 20
    for expected in (
        "/api/v1/assets/{asset_id}",
        "/api/v1/imports/{batch_id}/rows",
        "/api/v1/plans/{plan_id}/approve",
        "/api/v1/plans/{plan_id}/lines/{line_id}",
        "/api/v1/tokens/{token_id}",
        "/api/v1/accounts/{account_id}/tokens",
        "/api/v1/assets/{asset_id}/renewal",
    ):
        assert expected in paths


def _url(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), 1)), path)


def _problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, (resp.request.url, resp.text)
    assert resp.headers["content-type"].startswith(PROBLEM), resp.headers
    body: dict[str, Any] = resp.json()
    assert body["status"] == status and body["type"].startswith("/problems/")
    assert CJK.search(body["title"]), body
    return body


@pytest.mark.parametrize(("method", "path", "names"), INT_PATH_ROUTES)
@pytest.mark.parametrize("bad", [TOO_BIG, 0, -1, 10**30])
def test_ids_outside_int64_are_422_naming_the_parameter(
    client: TestClient, method: str, path: str, names: list[str], bad: int
) -> None:
    for name in names:
        resp = client.request(method, _url(path, {name: bad}), json={})
        body = _problem(resp, 422)
        assert body["type"] == "/problems/validation"
        assert [e["field"] for e in body["errors"] if e["loc"][0] == "path"] == [name], body


@pytest.mark.parametrize(("method", "path", "names"), INT_PATH_ROUTES)
def test_the_largest_id_is_a_404_not_a_500(
    client: TestClient, method: str, path: str, names: list[str]
) -> None:
    resp = client.request(method, _url(path, dict.fromkeys(names, MAX_ID)), json={})
    assert resp.status_code in (404, 422), (path, resp.text)
    assert resp.headers["content-type"].startswith(PROBLEM)


def _cursor(values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


LIST_URLS = [
    "/api/v1/assets",
    "/api/v1/assets?sort=asset_code",
    "/api/v1/due",
    "/api/v1/due?sort=region",
    "/api/v1/plans",
    "/api/v1/accounts",
    "/api/v1/changes",
    "/api/v1/assets/{asset}/history",
]
BAD_CURSORS = [
    "not base64!",
    "%%%",
    "x" * 600,
    _cursor(["abc"]),
    _cursor(["abc", "def"]),
    _cursor([2**70]),
    _cursor(["2026-01-01", 2**70, 1]),
    _cursor({"id": 1}),
    _cursor([[1]]),
    _cursor([None, None]),
    "e30",  # {}
    "W10",  # []
]


@pytest.mark.parametrize("url", LIST_URLS)
@pytest.mark.parametrize("cursor", BAD_CURSORS)
def test_a_bad_cursor_is_422_on_cursor(client: TestClient, url: str, cursor: str) -> None:
    asset = create(client, "elevator")
    sep = "&" if "?" in url else "?"
    resp = client.get(f"{url.format(asset=asset['id'])}{sep}cursor={cursor}")
    body = _problem(resp, 422)
    assert body.get("field") == "cursor" or any(e["field"] == "cursor" for e in body["errors"])


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/imports?cursor={v}",
        "/api/v1/changes?batch={v}",
        "/api/v1/changes?change_set={v}",
        "/api/v1/plans/1/lines?project_id={v}",
        "/api/v1/plans/1/lines?year={v}",
        "/api/v1/plans/1/projects?year={v}",
        "/api/v1/imports/1/rows?cursor={v}",
    ],
)
def test_query_ids_outside_int64_are_422(client: TestClient, url: str) -> None:
    for bad in (TOO_BIG, 0, -5):
        body = _problem(client.get(url.format(v=bad)), 422)
        name = url.split("?")[1].split("=")[0]
        assert [e["field"] for e in body["errors"]] == [name]


def test_an_unexpected_error_is_a_problem_without_traceback(
    settings: Settings, db: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(settings)
    boom = APIRouter()

    @boom.get("/api/v1/_boom")
    def _boom() -> None:
        raise RuntimeError("secret internal detail /home/app/db.py line 12")

    app.include_router(boom)
    with caplog.at_level(logging.ERROR), TestClient(app, raise_server_exceptions=False) as c:
        resp = c.get("/api/v1/_boom", headers={"X-Request-ID": "req-42"})
    body = _problem(resp, 500)
    assert body["type"] == "/problems/internal" and body["request_id"] == "req-42"
    assert "secret" not in resp.text and "Traceback" not in resp.text
    assert "req-42" in body["detail"]
    assert any(
        r.levelno == logging.ERROR and r.exc_info and "req-42" in r.getMessage()
        for r in caplog.records
    )


def test_405_is_a_problem_with_allow(client: TestClient) -> None:
    resp = client.put("/api/v1/assets/1")
    body = _problem(resp, 405)
    assert body["type"] == "/problems/method-not-allowed"
    allow = {m.strip() for m in resp.headers["allow"].split(",")}
    assert {"GET", "PATCH", "DELETE"} <= allow
    assert "GET" in body["detail"]


def test_unknown_route_is_a_404_problem(client: TestClient) -> None:
    body = _problem(client.get("/api/v1/no-such-thing"), 404)
    assert body["type"] == "/problems/not-found"
    body = _problem(client.get("/nowhere"), 404)
    assert body["instance"] == "/nowhere"


def test_validation_errors_speak_chinese_and_keep_codes(client: TestClient) -> None:
    resp = client.post(
        "/api/v1/assets",
        json={"category": "elevator", "asset_code": "E-1", "region_code": "410102", "colour": 1},
    )
    body = _problem(resp, 422)
    (error,) = [e for e in body["errors"] if e["field"].endswith("colour")]
    assert error["type"] == "extra_forbidden" and CJK.search(error["msg"])
    assert CJK.search(body["detail"]) and "colour" in body["detail"]
    resp = client.get("/api/v1/assets?limit=0")
    (error,) = _problem(resp, 422)["errors"]
    assert error["field"] == "limit" and error["type"] == "greater_than_equal"
    assert error["msg"] == "应不小于 1"


def test_domain_errors_have_chinese_titles(client: TestClient, make_client: Any) -> None:
    body = _problem(client.get("/api/v1/assets/999999"), 404)
    assert body["title"] == "资源不存在" and body["type"] == "/problems/not-found"
    viewer = make_client("viewer")
    from tests.factories import payload

    body = _problem(viewer.post("/api/v1/assets", json=payload()), 403)
    assert body["type"] == "/problems/forbidden"
    anonymous = TestClient(client.app, raise_server_exceptions=False)
    resp = anonymous.get("/api/v1/assets")
    assert _problem(resp, 401)["type"] == "/problems/unauthorized"
    assert resp.headers["www-authenticate"] == "Bearer"
