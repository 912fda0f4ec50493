"""Who may import what, rejected-row policy (partial vs all_or_nothing), and batch visibility."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.imports.conftest import API, run, sheet, upload

ASSETS = "/api/v1/assets"


def two_rows_one_bad() -> Any:
    return sheet(
        [
            ["设备编号", "行政区划代码", "使用场所"],
            ["E-1", "410102", "住宅"],
            ["E-2", "410102", "火星"],
        ],
        title="电梯",
    )


def codes(client: TestClient) -> set[str]:
    return {a["asset_code"] for a in client.get(ASSETS, params={"limit": 500}).json()["items"]}


def test_partial_mode_commits_valid_rows_and_keeps_rejects(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    body = run(client, db, two_rows_one_bad(), dry_run=False)
    assert body["status"] == "committed"
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (1, 1)
    assert codes(client) == {"E-1"}
    log = client.get("/api/v1/changes", params={"batch": body["id"]}).json()["items"]
    assert [(c["action"], c["object_type"]) for c in log] == [("commit", "import_batch")]


def test_all_or_nothing_writes_nothing_when_a_row_is_rejected(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    body = run(client, db, two_rows_one_bad(), dry_run=False, mode="all_or_nothing")
    assert body["status"] == "failed"
    assert "all_or_nothing" in body["error"]
    assert body["counts"]["rejected"] == 1
    assert codes(client) == set()
    assert client.get(f"{API}/{body['id']}/errors.xlsx").status_code == 200


def test_rows_outside_the_uploaders_scope_are_rejected(
    make_client: Any, db: sessionmaker[Session]
) -> None:
    editor = make_client("editor", "4101")
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"], ["E-2", "130102"]], title="电梯")
    body = run(editor, db, wb, dry_run=False)
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (1, 1)
    error = body["errors"][0]
    assert error["row"] == 3 and error["field"] == "region_code"
    assert "130102" in error["message"] and "4101" in error["message"]
    admin = make_client("admin")
    assert codes(admin) == {"E-1"}


def test_category_scoped_editor_cannot_import_other_categories(
    make_client: Any, db: sessionmaker[Session]
) -> None:
    gas = make_client("editor", "41", "gas_pipe")
    wb = sheet(
        [
            ["设备类别", "设备编号", "行政区划代码"],
            ["燃气管道", "G-1", "410102"],
            ["电梯", "E-1", "410102"],
        ]
    )
    body = run(gas, db, wb, dry_run=False)
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (1, 1)
    assert "权限" in body["errors"][0]["message"]


def test_viewers_cannot_import(make_client: Any) -> None:
    viewer = make_client("viewer")
    resp = upload(viewer, two_rows_one_bad())
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")


def test_batches_are_visible_inside_the_uploaders_scope_only(
    make_client: Any, db: sessionmaker[Session]
) -> None:
    zhengzhou = make_client("editor", "4101")
    body = run(
        zhengzhou, db, sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="电梯")
    )
    henan, hebei, admin = (
        make_client("viewer", "41"),
        make_client("editor", "13"),
        make_client("admin"),
    )
    assert henan.get(f"{API}/{body['id']}").status_code == 200
    assert hebei.get(f"{API}/{body['id']}").status_code == 404
    assert hebei.get(f"{API}/{body['id']}/errors.xlsx").status_code == 404
    assert hebei.post(f"{API}/{body['id']}/commit").status_code == 404
    assert [b["id"] for b in admin.get(API).json()["items"]] == [body["id"]]
    assert hebei.get(API).json()["items"] == []
    assert henan.post(f"{API}/{body['id']}/commit").status_code == 403


def test_batch_reports_progress_and_uploader(client: TestClient, db: sessionmaker[Session]) -> None:
    body = run(client, db, two_rows_one_bad())
    assert body["progress"] == {"rows_done": 2, "rows_total": 2, "percent": 100}
    assert body["uploaded_by"].startswith("admin")
    assert len(body["sha256"]) == 64
    assert body["sheets"][0]["name"] == "电梯" and body["sheets"][0]["header_row"] == 1
