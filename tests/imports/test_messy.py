"""Real district workbooks: titles, merged cells, notes, variants, names instead of codes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.imports.conftest import API, run, sheet

ASSETS = "/api/v1/assets"


def assets(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    items = client.get(ASSETS, params={"limit": 500, **params}).json()["items"]
    return {a["asset_code"]: a for a in items}


def messy_gas_workbook() -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "燃气管道"
    ws["A1"] = "XX区老旧燃气管道普查台账(2026年)"
    ws.merge_cells("A1:J1")
    ws["A2"] = "填报单位: XX燃气公司"
    ws.append([])
    ws.append(
        [
            "序号",
            "管段编号",
            " 行政区划 代码 ",
            "管材",
            "长度（米）",
            "投用时间",
            "压力级制",
            "严重锈蚀",
            "管径(mm)",
            "备注",
        ]
    )
    rows = [
        [1, "P-001", "410102", "灰铸铁", "1,200米", "2005", "中压", "√", "φ108×4", ""],
        [2, "P-002", 410102, "灰口铸铁", 350, "2005-03", "低压", "×", 100, "无"],
        [3, " P-003 ", "410102", "球墨铸铁", "0.5km", "2005年3月", "次高压", "否", 200, ""],
        [4, "P-004", "410102", "钢", 12.5, "2005.3.1", "高压", "是", 50, ""],
        [5, "P-005", "410102", "PE", "12", "2005/3/1", "低压", "N", 63, ""],
        [6, "P-006", "410102", "pe管", "8", "2005年3月1日", "低压", "Y", 63, ""],
        [7, "P-007", "410102", "钢管", "8", date(2005, 3, 1), "低压", 0, 63, ""],
        [8, "P-008", "410102", "钢质", "8", 38412, "低压", 1, 63, ""],
    ]
    for row in rows:
        ws.append(row)
    ws.append([])
    ws.append(["填表人：张三", None, None, "审核人：李四"])
    ws.append(["注：长度单位为米"])
    return wb


def test_messy_layout_imports_every_data_row(client: TestClient, db: sessionmaker[Session]) -> None:
    body = run(client, db, messy_gas_workbook(), dry_run=False)
    assert body["status"] == "committed", body
    counts = body["counts"]
    assert counts["rejected"] == 1  # φ108×4 is an outside diameter, not DN
    assert counts["created"] == 7
    assert counts["skipped"] == 3  # blank row, 填表人 row, 注 row
    assert body["errors"][0] == {
        "sheet": "燃气管道",
        "row": 5,
        "column": "管径(mm)",
        "field": "diameter_mm",
        "value": "φ108×4",
        "message": body["errors"][0]["message"],
    }
    assert any("序号" in w and "备注" in w for w in body["warnings"])
    got = assets(client, category="gas_pipe")
    assert set(got) == {f"P-00{i}" for i in range(2, 9)}
    assert got["P-002"]["material"] == "grey_cast_iron"
    assert got["P-003"]["material"] == "ductile_iron"
    assert Decimal(got["P-003"]["length_m"]) == 500
    assert got["P-006"]["material"] == "pe"
    assert got["P-002"]["commissioned_on"] == "2005-03-01"
    assert {got[f"P-00{i}"]["commissioned_on"] for i in range(3, 9)} == {"2005-03-01"}
    assert got["P-002"]["severe_corrosion"] is False
    assert got["P-004"]["severe_corrosion"] is True
    assert got["P-006"]["severe_corrosion"] is True
    assert got["P-002"]["pressure_class"] == "low"
    assert got["P-002"]["region_code"] == "410102"


def test_one_sheet_per_category(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet(
        [
            ["注册代码", "行政区划代码", "使用场所", "投入使用日期"],
            ["31104101002005000001", "410102", "住宅", "2004"],
        ],
        title="电梯",
    )
    sheet(
        [
            ["设备编号", "区划代码", "使用场所", "额定功率(kW)"],
            ["WP-1", "410102", "二次供水", "7.5kW"],
        ],
        title="水泵",
        wb=wb,
    )
    sheet(
        [
            ["车牌号码", "行政区划代码", "燃料", "排放标准", "注册登记日期"],
            ["豫A12345", "410102", "柴油", "国Ⅲ", "2010-05"],
        ],
        title="环卫车辆",
        wb=wb,
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["created"] == 3, body
    elevator = assets(client, category="elevator")["31104101002005000001"]
    assert elevator["building_use"] == "residential"
    pump = assets(client, category="water_pump")["WP-1"]
    assert pump["setting"] == "secondary_supply"
    assert Decimal(pump["rated_power_kw"]) == Decimal("7.5")
    truck = assets(client, category="sanitation_vehicle")["豫A12345"]
    assert truck["emission_stage"] == 3
    assert truck["fuel"] == "diesel"


def test_category_column_in_one_sheet(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet(
        [
            ["设备类别", "设备编号", "行政区划代码", "使用场所", "出厂日期", "管材"],
            ["电梯", "E-1", "410102", "住宅", "", ""],
            ["水泵", "W-1", "410102", "自来水厂", "", ""],
            ["钢瓶", "C-1", "410102", "", "2010-01", ""],
            ["钢瓶", "C-2", "410102", "", "", ""],
            ["燃气管道", "G-1", "410102", "", "", "灰铸铁"],
            ["路灯", "L-1", "410102", "", "", ""],
        ],
        title="汇总",
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["created"] == 4, body
    assert assets(client, category="elevator")["E-1"]["building_use"] == "residential"
    assert assets(client, category="water_pump")["W-1"]["setting"] == "water_plant"
    assert assets(client, category="gas_pipe")["G-1"]["material"] == "grey_cast_iron"
    messages = {(e["row"], e["field"]): e["message"] for e in body["errors"]}
    assert "必填" in messages[(5, "manufactured_on")]
    assert "路灯" in messages[(7, "category")]


def test_region_names_instead_of_codes(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet(
        [
            ["设备编号", "省", "市", "区(县)", "使用场所"],
            ["E-1", "河南省", "郑州市", "中原区", "住宅"],
            ["E-2", "河南", "郑州", "中原", "住宅"],
            ["E-3", "", "", "朝阳区", "住宅"],
            ["E-4", "北京市", "", "朝阳区", "住宅"],
            ["E-5", "河南省", "郑州市", "不存在区", "住宅"],
        ],
        title="电梯",
    )
    body = run(client, db, wb, dry_run=False)
    got = assets(client, category="elevator")
    assert got["E-1"]["region_code"] == "410102"
    assert got["E-2"]["region_code"] == "410102"
    assert got["E-4"]["region_code"] == "110105"
    errors = {e["row"]: e for e in body["errors"]}
    assert "不唯一" in errors[4]["message"]
    assert "110105" in errors[4]["message"] and "220104" in errors[4]["message"]
    assert "无法识别" in errors[6]["message"]
    assert errors[4]["column"] == "省/市/区(县)"


def test_duplicate_codes_in_one_file(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"], ["E-1", "410102"]], title="电梯")
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["created"] == 1
    assert "重复" in body["errors"][0]["message"] and "第 2 行" in body["errors"][0]["message"]


def test_formulas_use_cached_values_and_uncalculated_ones_are_row_errors(
    client: TestClient, db: sessionmaker[Session], tmp_path: Any
) -> None:
    import xlsxwriter

    path = tmp_path / "f.xlsx"
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("燃气管道")
    ws.write_row(0, 0, ["管段编号", "行政区划代码", "长度(米)"])
    ws.write_row(1, 0, ["G-1", "410102"])
    ws.write_formula(1, 2, "=100+20", None, 120)
    book.close()
    body = run(client, db, path.read_bytes(), dry_run=False)
    assert body["counts"]["created"] == 1
    assert Decimal(assets(client, category="gas_pipe")["G-1"]["length_m"]) == 120

    wb = sheet(
        [["管段编号", "行政区划代码", "长度(米)"], ["G-2", "410102", "=100+20"]], title="燃气管道"
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["rejected"] == 1
    assert "公式" in body["errors"][0]["message"]
    assert body["errors"][0]["column"] == "长度(米)"


def test_a_column_of_uncalculated_formulas_rejects_each_of_its_rows(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """A workbook written by a script (openpyxl stores no results) with a formula in every row:
    each row is checked against its own formula cells, not against the whole sheet's."""
    rows = [["管段编号", "行政区划代码", "长度(米)"]]
    rows += [[f"G-{i}", "410102", f"={i}*2"] for i in range(2000)]
    rows += [["G-ok", "410102", 35]]
    body = run(client, db, sheet(rows, title="燃气管道"), dry_run=False)
    assert body["counts"]["rejected"] == 2000
    assert body["counts"]["created"] == 1
    first = body["errors"][0]
    assert (first["row"], first["column"]) == (2, "长度(米)")
    assert "公式" in first["message"]


def test_dry_run_writes_nothing_then_commit_applies(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"], ["E-2", "410102"]], title="电梯")
    body = run(client, db, wb)
    assert body["status"] == "validated"
    assert body["counts"]["created"] == 2
    assert assets(client) == {}
    preview = client.get(f"{API}/{body['id']}/rows", params={"action": "create"}).json()["items"]
    assert [r["asset_code"] for r in preview] == ["E-1", "E-2"]
    client.post(ASSETS, json={"category": "elevator", "asset_code": "E-2", "region_code": "410102"})
    resp = client.post(f"{API}/{body['id']}/commit")
    assert resp.status_code == 202, resp.text
    from tests.imports.conftest import wait

    done = wait(client, db, body["id"])
    assert done["status"] == "committed"
    assert (done["counts"]["created"], done["counts"]["unchanged"]) == (1, 1)
    assert set(assets(client)) == {"E-1", "E-2"}
    assert client.post(f"{API}/{body['id']}/commit").status_code == 409


def test_vertically_merged_cells_fill_every_row(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    wb = sheet(
        [
            ["设备编号", "行政区划代码", "小区", "楼栋"],
            ["E-1", "410102", "建业小区", "1号楼"],
            ["E-2", "410102", None, "2号楼"],
            ["E-3", "410102", "幸福里", "3号楼"],
        ],
        title="电梯",
    )
    wb.active.merge_cells("C2:C3")
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["created"] == 3, body
    got = assets(client, category="elevator")
    assert [got[c]["community"] for c in ("E-1", "E-2", "E-3")] == [
        "建业小区",
        "建业小区",
        "幸福里",
    ]
