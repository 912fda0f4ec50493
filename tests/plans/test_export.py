"""GET /plans/{id}/export.xlsx: sheets, headers, totals, formats and print setup."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.plans.models import Plan
from tests.factories import create
from tests.plans.helpers import API, all_lines, due_asset, make_plan, set_flags
from tests.sheets import assert_no_internal_refs, cell_texts, check_print

HEADERS = [
    "序号", "设备编号", "类别", "区划", "地址", "依据条款", "截止日期", "计划年度",
    "单价", "金额", "资金来源", "实施主体", "责任单位", "计划开工", "计划完工",
    "工作内容", "评估后或有更新金额", "参考依据",
]  # fmt: skip


def _workbook(client: TestClient, plan_id: int) -> tuple[openpyxl.Workbook, bytes]:
    resp = client.get(f"{API}/{plan_id}/export.xlsx")
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/vnd.openxmlformats")
    return openpyxl.load_workbook(io.BytesIO(resp.content), data_only=True), resp.content


def test_plan_workbook(client: TestClient, db: sessionmaker[Session]) -> None:
    pipe = create(client, "gas_pipe", length_m="100", address="建设路8号", operator="郑州华润燃气")
    set_flags(db, pipe["id"], {"due_on": date(2025, 12, 31), "rule_id": "GAS-GREY-IRON"})
    due_asset(client, db, cost="40", due_on=date(2026, 12, 31), community="幸福里")
    due_asset(client, db, cost="45.5", due_on=date(2026, 12, 31), community="幸福里")
    due_asset(client, db, cost="30", due_on=date(2028, 12, 31), community="阳光苑")
    plan = make_plan(client, budgets={"2026": 60, "2027": 10, "2028": 100})
    wb, raw = _workbook(client, plan["id"])
    assert wb.sheetnames == ["汇总", "2026年", "2027年", "2028年", "项目", "说明"]
    for year in (2026, 2027, 2028):
        ws = wb[f"{year}年"]
        assert [c.value for c in ws[1]] == HEADERS
        assert ws.freeze_panes == "A2" and ws.auto_filter.ref
        assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        rows = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] is not None]
        amounts = sum(Decimal(str(r[9])) for r in rows)
        cost = next(y for y in plan["years"] if y["year"] == year)["cost"]
        assert amounts == Decimal(cost)
        total = [r for r in ws.iter_rows(min_row=2, values_only=True) if r[1] == "合计"]
        assert total and Decimal(str(total[0][9])) == Decimal(cost)
        assert all(r[7] == year for r in rows)
    sheet = wb["2026年"]
    first = list(sheet[2])
    assert first[1].value == pipe["asset_code"] and first[2].value == "燃气管道"
    assert isinstance(first[6].value, datetime) and first[6].number_format == "yyyy-mm-dd"
    assert first[9].number_format == "#,##0.00" and first[9].value == 15
    assert first[10].value == "中央预算内投资" and first[11].value == "郑州华润燃气"
    line = all_lines(client, plan["id"], year=2026)[0]
    assert first[3].value == "中原区" and first[5].value == line["basis"]
    assert line["basis"].startswith("国办发〔2022〕22号") and "S0:" not in line["basis"]
    assert first[13].number_format == "yyyy-mm"
    projects = wb["项目"]
    assert projects.max_row - 1 == len(client.get(f"{API}/{plan['id']}/projects").json()["items"])
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["测算基准日（as_of）"] == "2026-03-01"
    assert "2024.1" in notes["规则包 HA"]
    assert notes["单价 电梯"].startswith("40.0000 万元/台")
    assert notes["预算 2027"].startswith("10.00")
    summary = wb["汇总"]
    values = [v for row in summary.iter_rows(values_only=True) for v in row if v is not None]
    assert "资金缺口：1 条，45.50 万元（超预算或晚于截止年度）" in values
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        assert any(n.startswith("xl/charts/chart") for n in zf.namelist())


def test_empty_plan_exports(client: TestClient) -> None:
    plan = make_plan(client, region="44", first_year=2026, last_year=2026)
    wb, _ = _workbook(client, plan["id"])
    assert wb.sheetnames == ["汇总", "2026年", "项目", "说明"]
    assert [c.value for c in wb["2026年"][1]] == HEADERS


def test_export_of_another_scope_is_404(
    client: TestClient, make_client: object, db: sessionmaker[Session]
) -> None:
    plan = make_plan(client)
    other = make_client("viewer", "44")  # type: ignore[operator]
    assert other.get(f"{API}/{plan['id']}/export.xlsx").status_code == 404


def _advisory_plan(client: TestClient, db: sessionmaker[Session]) -> dict[str, object]:
    elevator = due_asset(client, db, cost="40", due_on=date(2027, 12, 31), level="assess")
    set_flags(
        db,
        elevator["id"],
        {"level": "assess", "due_on": date(2027, 12, 31), "rule_id": "ELV-ASSESS-15"},
    )
    pipe = create(client, "gas_pipe", length_m="100", address="建设路8号")
    set_flags(db, pipe["id"], {"due_on": date(2026, 12, 31), "rule_id": "GAS-GREY-IRON"})
    return make_plan(client)


def test_plan_workbook_prints_cites_clauses_and_marks_advisory_lines(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    plan = _advisory_plan(client, db)
    wb, _ = _workbook(client, plan["id"])  # type: ignore[arg-type]
    for ws in wb.worksheets:
        rows = "1:2" if ws.title == "汇总" else "1:1"
        check_print(ws, title_rows=rows, header_has=("河南省", "截至 2026-03-01", "第1版"))
    assert_no_internal_refs(cell_texts(wb))
    lines = _line_rows(wb)
    elevator = next(r for r in lines if r[2] == "电梯")
    assert elevator[5].startswith("【参考】沪建综计联〔2024〕380号") and elevator[17] == "参考"
    pipe = next(r for r in lines if r[2] == "燃气管道")
    assert pipe[5].startswith("国办发〔2022〕22号") and pipe[17] is None
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert notes["  ELV-ASSESS-15"].startswith("【参考】")
    assert not notes["  GAS-GREY-IRON"].startswith("【参考】")
    assert "河南省" in wb["汇总"]["A2"].value


def _line_rows(wb: Any) -> list[tuple[Any, ...]]:
    """The plan lines of the three line sheets (after 汇总), below their header row."""
    return [
        r
        for ws in wb.worksheets[1:4]
        for r in ws.iter_rows(min_row=2, values_only=True)
        if r[0] is not None
    ]


def test_older_plans_show_clauses_without_source_lines(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """Plans made before citations stored `document clause (S0:…)` and no advisory list."""
    plan = _advisory_plan(client, db)
    with db() as s, s.begin():
        stored = s.get_one(Plan, plan["id"])
        packs = {
            pid: {
                "name": info["name"],
                "versions": info["versions"],
                "rules": {r: f"{t} (S0:4705-4717); GB/T 42615" for r, t in info["rules"].items()},
            }
            for pid, info in stored.packs.items()
        }  # fmt: skip
        stored.packs = packs
    wb, _ = _workbook(client, plan["id"])  # type: ignore[arg-type]
    assert_no_internal_refs(cell_texts(wb))
    lines = _line_rows(wb)
    elevator = next(r for r in lines if r[2] == "电梯")
    assert elevator[5].startswith("【参考】沪建综计联〔2024〕380号")  # from the loaded pack
    assert elevator[5].endswith("; GB/T 42615")
