"""The API docs work with no internet, Authorize sends a bearer token, and the document speaks
Chinese: every operation has a Chinese summary and every parameter a description."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

CJK = re.compile(r"[\u4e00-\u9fff]")
EXTERNAL = re.compile(r"""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", re.I)
ASSET = re.compile(r"""(?:src|href)\s*=\s*['"]([^'"]+)['"]|url\s*:\s*['"]([^'"]+)['"]""")


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_everything_from_the_service(app: TestClient, page: str) -> None:
    resp = app.get(page)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.text
    assert not EXTERNAL.search(html), EXTERNAL.findall(html)
    assets = [a or b for a, b in ASSET.findall(html)]
    scripts = [a for a in assets if a.endswith((".js", ".css", ".png"))]
    assert scripts, html
    for url in scripts:
        got = app.get(url)
        assert got.status_code == 200, url
        assert len(got.content) > 1000, url
    assert any(a.endswith("/api/v1/openapi.json") for a in assets) or "/api/v1/openapi.json" in html
    assert app.get("/api/v1/openapi.json").status_code == 200


def test_swagger_ui_has_no_online_validator(app: TestClient) -> None:
    assert '"validatorUrl": null' in app.get("/docs").text


def _operations(app: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    paths = app.get("/api/v1/openapi.json").json()["paths"]
    return [(m, p, op) for p, ops in paths.items() for m, op in ops.items()]


def test_bearer_scheme_lets_authorize_work(app: TestClient) -> None:
    doc = app.get("/api/v1/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    assert doc["security"] == [{"bearerAuth": []}]
    assert doc["paths"]["/api/v1/health"]["get"]["security"] == []


def test_every_operation_has_a_chinese_summary_and_described_parameters(app: TestClient) -> None:
    missing = []
    for method, path, op in _operations(app):
        if not CJK.search(op.get("summary", "")):
            missing.append(f"{method} {path}: summary")
        for param in op.get("parameters", []):
            if not CJK.search(param.get("description", "")):
                missing.append(f"{method} {path}: {param['name']}")
    assert not missing, missing


def test_errors_are_documented_as_problem_json(app: TestClient) -> None:
    doc = app.get("/api/v1/openapi.json").json()
    assert {"Problem", "ValidationProblem"} <= set(doc["components"]["schemas"])
    for method, path, op in _operations(app):
        responses = op["responses"]
        codes = {c for c in responses if c.startswith(("4", "5"))}
        for code in codes:
            assert list(responses[code]["content"]) == ["application/problem+json"], (path, code)
        if path != "/api/v1/health":
            assert {"401", "403", "422"} <= codes, (method, path)
        if "{" in path:
            assert "404" in codes, (method, path)
        if method in ("post", "patch", "delete"):
            assert {"409", "413"} <= codes, (method, path)
    upload = doc["paths"]["/api/v1/imports"]["post"]["responses"]
    assert "415" in upload


def test_constraints_the_server_enforces_are_in_the_schema(app: TestClient) -> None:
    doc = app.get("/api/v1/openapi.json").json()
    params = {p["name"]: p for p in doc["paths"]["/api/v1/assets"]["get"]["parameters"]}
    assert params["cursor"]["schema"]["anyOf"][0]["pattern"]
    assert params["region"]["schema"]["anyOf"][0]["pattern"] == r"^\d{1,6}$"
    assert "电梯" in params["category"]["schema"]["anyOf"][0]["enum"]
    path = doc["paths"]["/api/v1/assets/{asset_id}"]["get"]["parameters"][0]["schema"]
    assert path["minimum"] == 1 and path["maximum"] == 2**63 - 1
    schemas = doc["components"]["schemas"]
    for name in ("ElevatorCreate", "PlanCreate", "LinePatch", "AccountCreate", "RenewalCreate"):
        assert schemas[name]["additionalProperties"] is False, name
    elevator = schemas["ElevatorCreate"]["properties"]["region_code"]
    assert elevator.get("pattern") or elevator.get("anyOf"), elevator
