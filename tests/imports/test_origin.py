"""An imported asset's history begins with the import that created it, from the ledger alone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.audit.models import Change
from tests.factories import create
from tests.imports.conftest import run, sheet


def history(client: TestClient, asset_id: int) -> dict:  # type: ignore[type-arg]
    resp = client.get(f"/api/v1/assets/{asset_id}/history")
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_history_of_an_imported_asset_names_its_batch_file_uploader_and_time(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    header = ["设备编号", "行政区划代码", "设备名称"]
    first = run(
        client,
        db,
        sheet([header, ["E-1", "410102", "一号梯"], ["E-2", "410102", "二号梯"]], title="电梯"),
        name="金水区电梯普查.xlsx",
        dry_run=False,
    )
    assert first["status"] == "committed"
    with db() as s:
        e1 = s.scalars(select(Asset).where(Asset.asset_code == "E-1")).one()
        logged = s.scalar(
            select(func.count()).select_from(Change).where(Change.object_type == "asset")
        )
    assert logged == 0  # the import wrote no change entry per created asset
    body = history(client, e1.id)
    assert body["items"] == []
    origin = body["origin"]
    assert origin["batch_id"] == first["id"]
    assert origin["file_name"] == "金水区电梯普查.xlsx"
    assert origin["uploaded_by"] == first["uploaded_by"]
    assert origin["text"].startswith(f"由导入批次 {first['id']}（金水区电梯普查.xlsx，")
    assert origin["text"].endswith("）创建")

    # a later import updates it: the history shows the update, and still begins with the first
    second = run(
        client,
        db,
        sheet([header, ["E-1", "410102", "一号梯（东）"]], title="电梯"),
        name="复查.xlsx",
        dry_run=False,
    )
    assert second["counts"]["updated"] == 1
    body = history(client, e1.id)
    assert [c["batch_id"] for c in body["items"]] == [second["id"]]
    assert body["origin"]["batch_id"] == first["id"]


def test_an_asset_registered_by_hand_has_no_import_origin(client: TestClient) -> None:
    made = create(client, "elevator", asset_code="E-9")
    body = history(client, made["id"])
    assert body["origin"] is None
    assert [c["action"] for c in body["items"]] == ["create"]
