"""The upload form and the row filter take the Chinese words the template and exports use."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.imports.conftest import API, run, sheet, upload


def test_category_by_its_chinese_name(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="Sheet1")
    body = run(client, db, wb, dry_run=False, category="电梯")
    assert body["status"] == "committed" and body["category"] == "elevator", body
    assert body["counts"]["created"] == 1
    items = client.get("/api/v1/assets", params={"category": "电梯"}).json()["items"]
    assert [a["asset_code"] for a in items] == ["E-1"]
    created = client.get(f"{API}/{body['id']}/rows", params={"action": "新增"}).json()["items"]
    assert [r["asset_code"] for r in created] == ["E-1"]


def test_an_unknown_category_word_is_a_422_naming_the_field(client: TestClient) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]])
    resp = upload(client, wb, category="扶梯车")
    assert resp.status_code == 422
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "category" in resp.text
