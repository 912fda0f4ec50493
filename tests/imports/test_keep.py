"""No surprise reversals: an import does not move a renewed or retired asset back to 在用, nor
overwrite a change made after its sheet's 普查日期, unless the uploader chooses to overwrite.
Those rows are listed (action `keep`, with the reason) in the dry run and the commit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.imports.models import ImportBatch
from tests.imports.conftest import API, run, sheet, wait

HEADER = ["设备编号", "行政区划代码", "设备名称", "状态", "普查日期"]


def survey(rows: list[list[Any]]) -> openpyxl.Workbook:
    return sheet([HEADER, *rows], title="电梯")


def asset(db: sessionmaker[Session], code: str) -> Asset:
    with db() as s:
        found = s.scalars(select(Asset).where(Asset.asset_code == code)).one()
        s.expunge(found)
        return found


def kept_rows(client: TestClient, batch_id: int, action: str = "keep") -> list[dict[str, Any]]:
    body = client.get(f"{API}/{batch_id}/rows", params={"action": action}).json()
    return body["items"]  # type: ignore[no-any-return]


@pytest.fixture
def surveyed(client: TestClient, db: sessionmaker[Session]) -> dict[str, Any]:
    """Three elevators imported from a survey of 2026-10-15."""
    body = run(
        client,
        db,
        survey(
            [
                ["E-1", "410102", "一号梯", "在用", "2026-10-15"],
                ["E-2", "410102", "二号梯", "在用", "2026-10-15"],
                ["E-3", "410102", "三号梯", "在用", "2026-10-15"],
            ]
        ),
        dry_run=False,
    )
    assert body["status"] == "committed" and body["counts"]["created"] == 3, body
    return body


def test_a_renewed_asset_is_not_moved_back_to_in_service(
    client: TestClient, db: sessionmaker[Session], surveyed: dict[str, Any]
) -> None:
    e1 = asset(db, "E-1")
    assert client.patch(f"/api/v1/assets/{e1.id}", json={"status": "renewed"}).status_code == 200
    old = survey(
        [
            ["E-1", "410102", "一号梯", "在用", "2026-10-15"],
            ["E-2", "410102", "二号梯", "在用", "2026-10-15"],
        ]
    )
    dry = run(client, db, old, dry_run=True)
    assert dry["status"] == "validated"
    assert dry["counts"]["kept"] == 1 and dry["counts"]["updated"] == 0, dry["counts"]
    assert dry["overwrite"] is False
    assert any("电梯!2" in w and "overwrite=true" in w for w in dry["warnings"]), dry["warnings"]
    [row] = kept_rows(client, dry["id"])
    assert row["asset_code"] == "E-1" and row["row"] == 2
    assert "已更新" in row["values"]["kept"] and "在用" in row["values"]["kept"]
    assert row["values"]["changes"]["status"] == ["renewed", "in_service"]
    # the counts' name and the Chinese label filter the same rows
    assert kept_rows(client, dry["id"], "kept") == kept_rows(client, dry["id"], "保留") == [row]

    done = client.post(f"{API}/{dry['id']}/commit")
    assert done.status_code == 202, done.text
    body = wait(client, db, dry["id"])
    assert body["status"] == "committed" and body["counts"]["kept"] == 1, body
    assert asset(db, "E-1").status == "renewed"


def test_the_uploader_can_choose_to_overwrite(
    client: TestClient, db: sessionmaker[Session], surveyed: dict[str, Any]
) -> None:
    e3 = asset(db, "E-3")
    assert client.patch(f"/api/v1/assets/{e3.id}", json={"status": "retired"}).status_code == 200
    old = survey([["E-3", "410102", "三号梯", "在用", "2026-10-15"]])
    dry = run(client, db, old, dry_run=True)
    assert dry["counts"]["kept"] == 1
    done = client.post(f"{API}/{dry['id']}/commit", params={"overwrite": "true"})
    assert done.status_code == 202, done.text
    body = wait(client, db, dry["id"])
    assert body["status"] == "committed", body
    assert body["overwrite"] is True
    assert body["counts"]["kept"] == 0 and body["counts"]["updated"] == 1, body["counts"]
    assert asset(db, "E-3").status == "in_service"
    # chosen at upload, without a dry run
    assert client.patch(f"/api/v1/assets/{e3.id}", json={"status": "retired"}).status_code == 200
    body = run(client, db, old, dry_run=False, overwrite=True)
    assert body["counts"]["updated"] == 1 and asset(db, "E-3").status == "in_service"


def test_a_change_after_the_survey_date_is_kept(
    client: TestClient, db: sessionmaker[Session], surveyed: dict[str, Any]
) -> None:
    e2 = asset(db, "E-2")
    fixed = client.patch(f"/api/v1/assets/{e2.id}", json={"name": "二号梯（东）"})
    assert fixed.status_code == 200, fixed.text
    with db() as s:  # imported on 2026-11-01, corrected on 2026-11-20 (after the survey)
        batch = surveyed["id"]
        imported = datetime(2026, 11, 1, 2, tzinfo=UTC)
        s.execute(update(ImportBatch).where(ImportBatch.id == batch).values(finished_at=imported))
        corrected = datetime(2026, 11, 20, 4, tzinfo=UTC)
        s.execute(update(Asset).where(Asset.id == e2.id).values(updated_at=corrected))
        s.commit()
    stale = survey([["E-2", "410102", "二号梯（旧）", "在用", "2026-10-15"]])
    body = run(client, db, stale, dry_run=False)
    assert body["status"] == "committed"
    assert body["counts"]["kept"] == 1 and body["counts"]["updated"] == 0, body["counts"]
    [row] = kept_rows(client, body["id"])
    assert "2026-11-20" in row["values"]["kept"] and "2026-10-15" in row["values"]["kept"]
    assert row["values"]["changes"]["name"] == ["二号梯（东）", "二号梯（旧）"]
    assert asset(db, "E-2").name == "二号梯（东）"
    # a survey made after the correction updates it
    newer = survey([["E-2", "410102", "二号梯（新）", "在用", "2026-11-25"]])
    body = run(client, db, newer, dry_run=False)
    assert body["counts"]["updated"] == 1 and body["counts"]["kept"] == 0, body["counts"]
    assert asset(db, "E-2").name == "二号梯（新）"


def test_a_corrected_copy_of_the_same_survey_updates_what_the_import_wrote(
    client: TestClient, db: sessionmaker[Session], surveyed: dict[str, Any]
) -> None:
    corrected = survey(
        [
            ["E-1", "410102", "一号梯（改）", "在用", "2026-10-15"],
            ["E-2", "410102", "二号梯", "已更新", "2026-10-15"],
        ]
    )
    body = run(client, db, corrected, dry_run=False)
    assert body["counts"]["updated"] == 2 and body["counts"]["kept"] == 0, body["counts"]
    assert body["warnings"] == []
    assert asset(db, "E-1").name == "一号梯（改）"
    assert asset(db, "E-2").status == "renewed"
    # and back again in the same survey's next copy: the import wrote the renewal, but the
    # sheet is no older than the survey that did, so the uploader's correction goes through
    # only when chosen
    back = survey([["E-2", "410102", "二号梯", "在用", "2026-10-15"]])
    body = run(client, db, back, dry_run=False)
    assert body["counts"]["kept"] == 1
    assert asset(db, "E-2").status == "renewed"


def test_a_sheet_without_survey_dates_or_status_is_never_kept(
    client: TestClient, db: sessionmaker[Session], surveyed: dict[str, Any]
) -> None:
    e1 = asset(db, "E-1")
    assert client.patch(f"/api/v1/assets/{e1.id}", json={"status": "renewed"}).status_code == 200
    names = sheet([["设备编号", "行政区划代码", "设备名称"], ["E-1", "410102", "一号梯（新）"]])
    names.active.title = "电梯"
    body = run(client, db, names, dry_run=False)
    assert body["counts"]["updated"] == 1 and body["counts"]["kept"] == 0, body["counts"]
    found = asset(db, "E-1")
    assert found.name == "一号梯（新）" and found.status == "renewed"
