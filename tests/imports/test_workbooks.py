"""The workbooks a clerk downloads: every drop-down offers its column's full list, every sheet
prints on A4 one page wide with its title rows, region, date and page numbers, the error workbook
can be fixed in place, the template's example rows import as nothing, names say what they hold."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.assets.spec import CATEGORIES, choices_for, fields_for, label_of
from tests.factories import create
from tests.imports.conftest import API, run, sheet, xlsx_bytes
from tests.sheets import check_print, col_width, dropdowns

ASSETS = "/api/v1/assets"


def book(resp: Any) -> openpyxl.Workbook:
    assert resp.status_code == 200, resp.text
    return openpyxl.load_workbook(io.BytesIO(resp.content))


def expected_lists(category: str) -> dict[int, list[str]]:
    """Column (1-based) → labels, straight from the column spec."""
    out: dict[int, list[str]] = {}
    for col, spec in enumerate(fields_for(category), start=1):
        if spec.kind == "bool":
            out[col] = ["是", "否"]
        elif spec.name == "category":
            out[col] = [CATEGORIES[category]]
        elif spec.kind == "enum":
            out[col] = [label_of(spec, c, category) for c in choices_for(spec, category)]
    return out


def check_dropdowns(wb: openpyxl.Workbook, header_row: int) -> None:
    assert wb["选项"].sheet_state == "hidden"
    for category, name in CATEGORIES.items():
        ws = wb[name]
        names = [c.value for c in ws[header_row + 1]]
        assert names == [s.name for s in fields_for(category)]
        found = dropdowns(wb, ws)
        assert found == expected_lists(category), category
        for labels in found.values():
            assert labels and all(isinstance(t, str) and t for t in labels), (category, labels)
        status = names.index("status") + 1
        assert found[status] == ["在用", "更新中", "已更新", "已报废"], category
        for dv in ws.data_validations.dataValidation:
            first = str(dv.sqref).split(":")[0]
            assert first.endswith(str(header_row + 2)), (category, dv.sqref)
    elevator = wb["电梯"]
    use = [c.value for c in elevator[header_row]].index("使用场所") + 1
    assert dropdowns(wb, elevator)[use] == ["住宅", "商业", "公共"]
    gas = wb["燃气管道"]
    cat = [c.value for c in gas[header_row]].index("设备类别") + 1
    assert dropdowns(wb, gas)[cat] == ["燃气管道"]


def test_template_dropdowns_offer_every_label_of_every_category(client: TestClient) -> None:
    check_dropdowns(book(client.get("/api/v1/templates/survey.xlsx")), header_row=1)


def test_ledger_export_dropdowns_offer_every_label_of_every_category(client: TestClient) -> None:
    for category in CATEGORIES:
        create(client, category)
    wb = book(client.get(f"{ASSETS}/export.xlsx"))
    check_dropdowns(wb, header_row=2)


def test_template_and_export_print_on_a4_one_page_wide_with_titles(client: TestClient) -> None:
    wb = book(client.get("/api/v1/templates/survey.xlsx"))
    for name in CATEGORIES.values():
        ws = wb[name]
        check_print(ws, title_rows="1:1", header_has=("设备普查表", name, "全国", "截至"))
        assert ws.freeze_panes == "B3"
    create(client, "gas_pipe", region_code="410102")
    export = client.get(f"{ASSETS}/export.xlsx", params={"region": "4101", "status": "in_service"})
    ws = book(export)["燃气管道"]
    check_print(ws, title_rows="1:2", header_has=("设备台账", "河南省郑州市", "截至"))
    title = ws["A1"].value
    assert "河南省郑州市" in title and "截至" in title and "状态 在用" in title
    assert ws.freeze_panes == "B4"
    assert col_width(ws, 5) > col_width(ws, 3)  # type: ignore[operator]  # 地址 wider


def test_unmodified_template_imports_nothing_and_reports_no_errors(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    resp = client.get("/api/v1/templates/survey.xlsx")
    wb = book(resp)
    for category, name in CATEGORIES.items():
        ws = wb[name]
        code, label = ws["A3"], ws["D3"]
        assert str(code.value).startswith("示例") and "示例" in str(label.value)
        assert code.font.i and code.comment is not None and "示例" in code.comment.text
        assert ws["A4"].value is None, category  # one example row
    body = run(client, db, resp.content, dry_run=False)
    assert body["status"] == "committed", body
    counts = body["counts"]
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 0, 0), body
    assert counts["rejected"] == 0 and counts["skipped"] == len(CATEGORIES), body
    assert body["errors"] == []
    assert client.get(ASSETS).json()["items"] == []


def _rejected(client: TestClient, db: sessionmaker[Session]) -> dict[str, Any]:
    wb = sheet(
        [
            ["普查表（燃气管道）"],
            ["行政区划代码", "设备编号", "管材", "长度（米）", "状态", "严重锈蚀", "备注"],
            ["410102", "G-1", "钢", 10, "在用", "否", "ok"],
            ["410102", "G-2", "竹子", "十米", "在用", "否", "bad"],
            ["410102", "G-3", "钢", 12, "坏了", "也许", "bad too"],
        ],
        title="燃气管道",
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["rejected"] == 2, body
    return body


def test_error_workbook_has_the_reason_after_the_code_and_the_templates_dropdowns(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    body = _rejected(client, db)
    resp = client.get(f"{API}/{body['id']}/errors.xlsx")
    wb = book(resp)
    ws = wb["燃气管道"]
    header = [c.value for c in ws[1]]
    assert header == [
        "行政区划代码",
        "设备编号",
        "错误说明",
        "管材",
        "长度（米）",
        "状态",
        "严重锈蚀",
        "备注",
    ]
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["G-2", "G-3"]
    assert "第4行" in ws["C2"].value and "管材" in ws["C2"].value
    assert "第5行" in ws["C3"].value and "状态" in ws["C3"].value
    assert ws.freeze_panes == "B2"
    assert (col_width(ws, 3) or 0) >= 40  # the reason is readable
    template = book(client.get("/api/v1/templates/survey.xlsx", params={"category": "gas_pipe"}))
    tws = template["燃气管道"]
    twidth = {c.value: col_width(tws, c.column) for c in tws[2]}  # by field name
    for col, name in ((1, "region_code"), (4, "material"), (6, "status"), (7, "severe_corrosion")):
        assert col_width(ws, col) == twidth[name], name
    lists = dropdowns(wb, ws)
    material = next(s for s in fields_for("gas_pipe") if s.name == "material")
    assert lists[4] == [
        label_of(material, c, "gas_pipe") for c in choices_for(material, "gas_pipe")
    ]
    assert lists[6] == ["在用", "更新中", "已更新", "已报废"]
    assert lists[7] == ["是", "否"]
    assert set(lists) == {4, 6, 7}
    check_print(ws, title_rows="1:1", header_has=("被拒绝的行", "全国"))
    disposition = resp.headers["content-disposition"]
    assert 'filename="survey-errors.xlsx"' in disposition
    assert "被拒绝的行" in unquote(disposition.split("filename*=UTF-8''")[1])

    ws["D2"] = "钢"
    ws["E2"] = 10
    ws["F3"] = "在用"
    ws["G3"] = "否"
    fixed = run(client, db, xlsx_bytes(wb), dry_run=False)
    assert fixed["counts"]["created"] == 2 and fixed["counts"]["rejected"] == 0, fixed


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        ("/api/v1/templates/survey.xlsx", {"category": "boiler"}, "设备普查表_锅炉_全国_"),
        (f"{ASSETS}/export.xlsx", {"category": "elevator"}, "设备台账_电梯_全国_"),
    ],
)
def test_download_names_say_what_they_hold(
    client: TestClient, path: str, params: dict[str, str], needle: str
) -> None:
    resp = client.get(path, params=params)
    assert resp.status_code == 200
    disposition = resp.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="')
    readable = unquote(disposition.split("filename*=UTF-8''")[1])
    assert readable.startswith(needle) and readable.endswith(".xlsx"), readable
    assert disposition.isascii()
