"""The OpenAPI document says what the server does: every JSON answer has a documented shape, the
shapes of answers built as dicts hold for real answers (no undocumented key), rule errors carry
an error code like validation errors, and a region given by name is resolved, not pattern-matched.
The whole API is fuzzed against the document by `.ci/api-contract` (schemathesis)."""

from __future__ import annotations

from datetime import date
from typing import Any

import jsonschema_rs
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.assets.spec import INT_MAX
from app.config import Settings
from app.kit.params import XLSX
from app.plans.costs import load_cost_model
from tests.factories import create, payload
from tests.plans.helpers import API, due_asset, make_plan

PROBLEM = "application/problem+json"


def _document(client: TestClient) -> dict[str, Any]:
    doc: dict[str, Any] = client.get("/api/v1/openapi.json").json()
    return doc


def test_every_json_answer_has_a_documented_shape(app: TestClient) -> None:
    untyped = []
    for path, operations in _document(app)["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                typed = schema is None or {"$ref", "properties", "items"} & set(schema)
                if code.startswith("2") and not typed:
                    untyped.append(f"{method.upper()} {path} {code}: {schema}")
    assert untyped == []


def _shape(doc: dict[str, Any], path: str, method: str = "get") -> str:
    response = doc["paths"][path][method]["responses"]["200"]
    ref: str = response["content"]["application/json"]["schema"]["$ref"]
    return ref.rsplit("/", 1)[1]


def _holds(doc: dict[str, Any], name: str, body: Any) -> None:
    """The answer validates against the document's schema `name` (as schemathesis checks it:
    JSON types exact, no key the schema does not list)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema_rs.Draft202012Validator(schema).validate(body)


def test_dict_answers_match_their_documented_shapes(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    doc = _document(client)
    assert _shape(doc, "/api/v1/health") == "Health"
    assert _shape(doc, "/api/v1/me") == "MeRead"
    assert _shape(doc, "/api/v1/stats") == "Stats"
    assert _shape(doc, "/api/v1/plans/{plan_id}/progress") == "ProgressRead"
    assert _shape(doc, "/api/v1/assets/{asset_id}/renewal", "post") == "RenewalRead"
    assert doc["components"]["schemas"]["Stats"]["additionalProperties"] is False
    _holds(doc, "Health", client.get("/api/v1/health").json())
    _holds(doc, "MeRead", client.get("/api/v1/me").json())

    due_asset(client, db, cost="40", due_on=date(2027, 12, 31))
    create(client, "gas_pipe", length_m="300", commissioned_on="1990-01-01")
    for _ in range(3):
        create(client, "sanitation_vehicle", region_code="140105", emission_stage=3)
    stats = client.get("/api/v1/stats", params={"as_of": "2026-03-01"}).json()
    assert stats["rows"]
    _holds(doc, "Stats", stats)

    plan = make_plan(client)
    renewed = create(client, "elevator", commissioned_on="1990-01-01")
    body = {"status": "renewed", "renewed_on": "2026-05-01", "cost": 42.5}
    resp = client.post(f"/api/v1/assets/{renewed['id']}/renewal", json=body)
    assert resp.status_code == 200, resp.text
    _holds(doc, "RenewalRead", resp.json())
    _holds(doc, "ProgressRead", client.get(f"{API}/{plan['id']}/progress").json())
    shanxi = make_plan(client, region="14", first_year=2025, last_year=2027, as_of="2025-03-01")
    progress = client.get(f"{API}/{shanxi['id']}/progress").json()
    assert progress["targets"]
    _holds(doc, "ProgressRead", progress)


def test_downloads_are_documented_beside_json(app: TestClient) -> None:
    doc = _document(app)
    for path in ("/api/v1/stats", "/api/v1/due"):
        content = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv", XLSX} <= set(content), path


def test_a_rule_error_names_its_code_like_a_validation_error(client: TestClient) -> None:
    resp = client.post(API, json={"first_year": 2026, "last_year": 2026, "budgets": {}})
    assert resp.status_code == 422 and resp.headers["content-type"].startswith(PROBLEM)
    (error,) = resp.json()["errors"]
    assert error == {
        "loc": ["body", "budgets"],
        "field": "budgets",
        "msg": error["msg"],
        "type": "value_error",
    }
    resp = client.post("/api/v1/assets", json=payload(), headers={"X-Change-Reason": "%FF"})
    (error,) = resp.json()["errors"]
    assert (resp.status_code, error["field"], error["type"]) == (
        422,
        "X-Change-Reason",
        "value_error",
    )


def test_a_region_name_is_resolved_and_an_unknown_one_is_a_422(client: TestClient) -> None:
    named = create(client, region_code="郑州市中原区")
    assert named["region_code"] == "410102"
    for text in ("abc", "Zhongyuan", "41-01-02"):
        resp = client.post("/api/v1/assets", json=payload(region_code=text))
        assert resp.status_code == 422, resp.text
        (error,) = resp.json()["errors"]
        assert (error["field"], error["type"]) == ("region_code", "unknown_region"), text
    for digits in ("41010", "4101020"):
        resp = client.post("/api/v1/assets", json=payload(region_code=digits))
        assert resp.status_code == 422, resp.text
        (error,) = resp.json()["errors"]
        assert error["type"] == "string_pattern_mismatch", digits


def test_uploads_can_be_stored_outside_the_checkout(monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setenv("APP_IMPORTS__STORAGE_DIR", str(tmp_path / "uploads"))
    assert Settings().imports.storage_dir == tmp_path / "uploads"


def test_integers_beyond_their_column_are_422s_naming_the_field(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """Found by the contract run: these were 500s (SQLite overflow; PostgreSQL INTEGER)."""
    for category, field in (("elevator", "floors"), ("sanitation_vehicle", "mileage_km")):
        for value in (INT_MAX + 1, 2**63, 2**70):
            resp = client.post("/api/v1/assets", json=payload(category, **{field: value}))
            assert resp.status_code == 422, resp.text
            (error,) = resp.json()["errors"]
            assert error["field"].endswith(field) and error["type"] == "less_than_equal"
    assert client.post("/api/v1/assets", json=payload(floors=INT_MAX)).status_code == 201
    due_asset(client, db, cost="40", due_on=date(2027, 12, 31))
    plan = make_plan(client)
    line = client.get(f"{API}/{plan['id']}/lines").json()["items"][0]
    url = f"{API}/{plan['id']}/lines/{line['id']}"
    for body in ({"project_id": 2**70}, {"project_id": 0}, {"year": 2**70}):
        resp = client.patch(url, json=body)
        assert resp.status_code == 422, resp.text
        assert [e["field"] for e in resp.json()["errors"]] == list(body)


def test_funding_sources_are_listed_in_the_document(app: TestClient) -> None:
    channels = list(load_cost_model().funding_channels)
    schemas = _document(app)["components"]["schemas"]
    for name in ("LinePatch", "ProjectPatch"):
        (text, null) = schemas[name]["properties"]["funding_source"]["anyOf"]
        assert text["enum"] == channels and null == {"type": "null"}, name


MULTIPART = {"Content-Type": "multipart/form-data; boundary=XyZ"}


def _multipart(disposition: str) -> bytes:
    """A one-file upload written by hand (httpx would escape the file name)."""
    head = f'--XyZ\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n\r\n'
    return head.encode() + b"PK\x03\x04\r\n--XyZ--\r\n"


def test_a_nul_character_anywhere_in_the_input_is_a_422_naming_where(client: TestClient) -> None:
    """Found by the contract run on PostgreSQL, whose text cannot hold NUL: these were 500s."""
    cases: list[tuple[str, str, dict[str, Any], list[Any]]] = [
        ("get", "/api/v1/regions", {"params": {"q": "中原\x00区"}}, ["query", "q"]),
        ("get", "/api/v1/assets", {"params": {"q": "\x00"}}, ["query", "q"]),
        (
            "post",
            "/api/v1/assets",
            {"json": payload("boiler", operator="a\x00b")},
            ["body", "operator"],
        ),
        (
            "post",
            "/api/v1/accounts",
            {"json": {"name": "x\x00", "role": "viewer"}},
            ["body", "name"],
        ),
        (
            "post",
            API,
            {"json": {"first_year": 2026, "last_year": 2026, "unit_costs": {"a\x00": 1}}},
            ["body", "unit_costs", "a\x00"],
        ),
        (
            "post",
            "/api/v1/imports",
            {"content": _multipart('filename="a\x00.xlsx"'), "headers": MULTIPART},
            ["body", "file"],
        ),
        ("get", "/api/v1/rule-packs/H%00A", {}, ["path", "pack_id"]),
    ]
    for method, url, kwargs, loc in cases:
        resp = client.request(method, url, **kwargs)
        assert resp.status_code == 422, (url, resp.text)
        assert resp.headers["content-type"].startswith(PROBLEM)
        (error,) = resp.json()["errors"]
        assert (error["loc"], error["type"]) == (loc, "nul_character"), url
    resp = client.post(
        "/api/v1/assets", json=payload(), headers={"X-Change-Reason": "%E6%9B%B4%00"}
    )
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "X-Change-Reason"
