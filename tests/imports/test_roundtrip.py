"""Template → fill → import; export → re-import = unchanged; export → edit → re-import = 1 update;
rejected rows come back as an error workbook ready to fix."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from tests.factories import create
from tests.imports.conftest import API, run, sheet, xlsx_bytes

ASSETS = "/api/v1/assets"


def workbook(resp: Any) -> openpyxl.Workbook:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(resp.content))


def test_template_has_a_sheet_per_category_with_units_names_dropdowns_and_notes(
    client: TestClient,
) -> None:
    wb = workbook(client.get("/api/v1/templates/survey.xlsx"))
    assert wb.sheetnames[:6] == ["电梯", "水泵", "锅炉", "燃气管道", "液化石油气钢瓶", "环卫车辆"]
    assert "填表说明" in wb.sheetnames
    ws = wb["燃气管道"]
    headers = [c.value for c in ws[1]]
    assert "长度(米)" in headers and "设备编号" in headers
    names = [c.value for c in ws[2]]
    assert names[headers.index("长度(米)")] == "length_m"
    assert ws.row_dimensions[2].hidden
    assert str(ws["A3"].value).startswith("示例")
    col = openpyxl.utils.get_column_letter(headers.index("管材") + 1)
    assert any(col in str(dv.sqref) for dv in ws.data_validations.dataValidation)
    notes = " ".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "2005年3月" in notes and "必填" in notes
    one = workbook(client.get("/api/v1/templates/survey.xlsx", params={"category": "boiler"}))
    assert one.sheetnames[0] == "锅炉" and "电梯" not in one.sheetnames


def test_filled_template_imports_and_skips_the_example(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    wb = workbook(client.get("/api/v1/templates/survey.xlsx", params={"category": "gas_pipe"}))
    ws = wb["燃气管道"]
    headers = [c.value for c in ws[1]]
    row = {
        "设备编号": "GP-1",
        "行政区划代码": "410102",
        "管材": "灰口铸铁",
        "长度(米)": 88,
        "投入使用日期": "1998-05",
        "设备类别": "燃气管道",
    }
    ws.append([row.get(h) for h in headers])
    body = run(client, db, xlsx_bytes(wb), dry_run=False)
    assert body["counts"]["created"] == 1, body
    assert body["counts"]["skipped"] >= 1
    items = client.get(ASSETS, params={"category": "gas_pipe"}).json()["items"]
    assert [a["asset_code"] for a in items] == ["GP-1"]
    assert items[0]["commissioned_on"] == "1998-05-01"


def _ledger(db: sessionmaker[Session]) -> dict[str, tuple[Any, Any]]:
    with db() as s:
        return {a.asset_code: (a.updated_at, a.last_batch_id) for a in s.scalars(select(Asset))}


def test_export_reimports_unchanged_and_one_edit_is_one_update(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    for category in (
        "elevator",
        "gas_pipe",
        "lpg_cylinder",
        "boiler",
        "water_pump",
        "sanitation_vehicle",
    ):
        create(client, category)
    create(client, "gas_pipe", length_m="0.1234", assessment_result="hazard", severe_corrosion=True)
    create(client, "elevator", rated_speed_mps="1.75", owners_agree=False, status="retired")
    before = _ledger(db)
    export = client.get(f"{ASSETS}/export.xlsx")
    body = run(client, db, export.content, dry_run=False)
    assert body["status"] == "committed", body
    assert body["counts"] == {
        "created": 0,
        "updated": 0,
        "unchanged": 8,
        "kept": 0,
        "rejected": 0,
        "skipped": 0,
    }
    assert _ledger(db) == before

    wb = workbook(export)
    ws = wb["燃气管道"]
    assert str(ws["A1"].value).startswith("设备台账（燃气管道）")  # the title row
    headers = [c.value for c in ws[2]]
    ws.cell(row=4, column=headers.index("长度(米)") + 1, value=999)
    body = run(client, db, xlsx_bytes(wb), dry_run=False)
    assert (body["counts"]["updated"], body["counts"]["unchanged"]) == (1, 7), body
    after = _ledger(db)
    changed = [code for code in before if after[code] != before[code]]
    assert len(changed) == 1
    assert after[changed[0]][1] == body["id"]
    preview = client.get(f"{API}/{body['id']}/rows", params={"action": "update"}).json()["items"]
    assert preview[0]["values"]["changes"]["length_m"][1] == "999"


def test_export_is_scoped_and_filtered(client: TestClient, make_client: Any) -> None:
    create(client, "elevator", region_code="410102")
    create(client, "elevator", region_code="130102")
    create(client, "gas_pipe", region_code="410102")
    henan = make_client("viewer", "41")
    wb = workbook(henan.get(f"{ASSETS}/export.xlsx", params={"category": "elevator"}))
    assert wb.sheetnames[0] == "电梯"
    regions = [r[2] for r in wb["电梯"].iter_rows(min_row=4, values_only=True)]
    assert regions == ["410102"]


def test_errors_workbook_marks_bad_cells_and_can_be_fixed_and_reuploaded(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    wb = sheet(
        [
            ["设备编号", "行政区划代码", "管材", "长度（米）", "备注"],
            ["G-1", "410102", "钢", 10, "ok"],
            ["G-2", "410102", "竹子", "十米", "bad"],
        ],
        title="燃气管道",
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["rejected"] == 1
    rows = client.get(f"{API}/{body['id']}/rows", params={"action": "reject"}).json()["items"]
    assert rows[0]["row"] == 3 and {e["field"] for e in rows[0]["errors"]} == {
        "material",
        "length_m",
    }
    errors = workbook(client.get(f"{API}/{body['id']}/errors.xlsx"))
    ws = errors["燃气管道"]
    header = [c.value for c in ws[1]]
    assert header == ["设备编号", "错误说明", "行政区划代码", "管材", "长度（米）", "备注"]
    assert [c.value for c in ws[2]] == ["G-2", ws["B2"].value, "410102", "竹子", "十米", "bad"]
    assert "管材" in ws["B2"].value and "第3行" in ws["B2"].value
    assert ws["D2"].fill.fgColor.rgb.endswith("FFC7CE")
    assert ws["D2"].comment is not None and "竹子" in ws["D2"].comment.text
    assert ws["A2"].comment is None
    ws["D2"] = "钢"
    ws["E2"] = 10
    fixed = run(client, db, xlsx_bytes(errors), dry_run=False)
    assert fixed["counts"]["created"] == 1 and fixed["counts"]["rejected"] == 0, fixed
    assert any("错误说明" in w for w in fixed["warnings"])
