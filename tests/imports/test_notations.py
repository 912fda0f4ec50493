"""Notations people write: amounts with units, Chinese dates and months, DN pipe sizes, trade
names of pipe materials. Each is accepted with its value, or refused with a Chinese message
naming what was written and what is accepted."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.assets.notations import refuse_ambiguous
from app.assets.spec import FIELDS_BY_NAME
from app.imports.convert import convert_cell, make_converter
from app.kit.labels import (
    AMOUNT_PATTERN,
    DATE_PATTERN,
    MONTH_PATTERN,
    month_text,
    parse_amount,
    parse_day,
)
from app.kit.values import DN_PATTERN, nominal_diameter
from tests.imports.conftest import run, sheet

D = Decimal


@pytest.mark.parametrize(
    ("written", "wan"),
    [
        ("8", D(8)),
        ("8.5", D("8.5")),
        ("8万元", D(8)),
        ("8万", D(8)),
        ("80000元", D(8)),
        ("1元", D("0.0001")),
        ("1.5亿元", D(15000)),
        ("0.5亿", D(5000)),
        ("8 万元", D(8)),
        ("8,000元", D("0.8")),
        ("８万元", D(8)),
        ("8万元/台", D(8)),
        (8, D(8)),
        (0.5, D("0.5")),
        (D("12.25"), D("12.25")),
    ],
)
def test_amounts_in_wan(written: Any, wan: Decimal) -> None:
    assert parse_amount(written) == wan


@pytest.mark.parametrize(
    ("written", "unit", "wan"),
    [(80000, "元", D(8)), ("80000", "元", D(8)), (8, "万元/台", D(8)), ("8万元", "元", D(8))],
)
def test_a_bare_number_takes_the_columns_unit(written: Any, unit: str, wan: Decimal) -> None:
    assert parse_amount(written, unit) == wan


@pytest.mark.parametrize("written", ["8块", "-8万元", "万元", "1e3", "8万万", "八万元", "", True])
def test_bad_amounts_name_what_was_written(written: Any) -> None:
    with pytest.raises(ValueError, match="金额") as err:
        parse_amount(written)
    if isinstance(written, str) and written:
        assert written in str(err.value) and "8万元" in str(err.value)


@pytest.mark.parametrize(
    ("written", "first", "last"),
    [
        ("2026-11-30", date(2026, 11, 30), date(2026, 11, 30)),
        ("2026/11/30", date(2026, 11, 30), date(2026, 11, 30)),
        ("2026.11.30", date(2026, 11, 30), date(2026, 11, 30)),
        ("2026-1-5", date(2026, 1, 5), date(2026, 1, 5)),
        ("2026年11月30日", date(2026, 11, 30), date(2026, 11, 30)),
        ("2026年11月", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-11", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026/2", date(2026, 2, 1), date(2026, 2, 28)),
        ("2028年2月", date(2028, 2, 1), date(2028, 2, 29)),
        ("2026年12月", date(2026, 12, 1), date(2026, 12, 31)),
        (date(2026, 11, 5), date(2026, 11, 5), date(2026, 11, 5)),
    ],
)
def test_dates_and_months(written: Any, first: date, last: date) -> None:
    assert parse_day(written) == first
    assert parse_day(written, month_end=True) == last


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ("2026年2月30日", "日期不存在"),
        ("2026-13", "日期不存在"),
        ("2026", "无法识别的日期「2026」"),
        ("20261130", "无法识别的日期"),
        ("11/30/2026", "无法识别的日期"),
        ("2026-11-30T08:00", "无法识别的日期"),
        ("二〇二六年十一月", "无法识别的日期"),
        (20261130, "无法识别的日期"),
        (datetime(2026, 11, 30, 8, tzinfo=UTC), "不是时刻"),
    ],
)
def test_bad_dates_name_what_was_written(written: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_day(written)
    if "无法识别" in message:
        assert "2026年11月30日" in str(err.value)  # the accepted forms


@pytest.mark.parametrize(
    ("written", "month"),
    [
        ("2026-11", "2026-11"),
        ("2026-1", "2026-01"),
        ("2026/03", "2026-03"),
        ("2026年3月", "2026-03"),
    ],
)
def test_months(written: str, month: str) -> None:
    assert month_text(written) == month


@pytest.mark.parametrize("written", ["2026-13", "2026年0月", "2026", "2026-11-30", "11月"])
def test_bad_months(written: str) -> None:
    with pytest.raises(ValueError, match=f"无法识别的月份「{written}」"):
        month_text(written)


@pytest.mark.parametrize(
    ("written", "mm"),
    [
        ("DN150", 150),
        ("dn150", 150),
        ("DN 150", 150),
        ("ＤＮ１５０", 150),
        ("150mm", 150),
        ("150 mm", 150),
        ("150毫米", 150),
        ("DN150mm", 150),
        ("150", 150),
        ("150.0", 150),
        (150, 150),
    ],
)
def test_nominal_diameters(written: Any, mm: int) -> None:
    assert nominal_diameter(written) == mm
    spec = FIELDS_BY_NAME["diameter_mm"]
    assert convert_cell(make_converter(spec, "gas_pipe", "mm"), written) == mm


@pytest.mark.parametrize("written", ["Φ159", "φ159×6", "Ø159", "De110", "de160", "159x6", "159*6"])
def test_outside_diameters_are_refused_saying_why(written: str) -> None:
    with pytest.raises(ValueError, match="外径") as err:
        nominal_diameter(written)
    assert written in str(err.value) and "DN150" in str(err.value)


@pytest.mark.parametrize(
    ("written", "message"),
    [("150米", "无法识别的管径「150米」"), ("DN", "无法识别的管径"), ("DN150.5", "应为整数")],
)
def test_other_bad_diameters(written: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        nominal_diameter(written)


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("镀锌钢管", "steel"),
        ("焊接钢管", "steel"),
        ("无缝钢管", "steel"),
        ("螺旋钢管", "steel"),
        ("钢管", "steel"),
        ("PE管", "pe"),
        ("pe100", "pe"),
        ("PE80", "pe"),
        ("聚乙烯管", "pe"),
        ("ＰＥ", "pe"),
        ("球铁", "ductile_iron"),
    ],
)
def test_pipe_materials(written: str, code: str) -> None:
    spec = FIELDS_BY_NAME["material"]
    assert make_converter(spec, "gas_pipe")(written) == code


@pytest.mark.parametrize("written", ["铸铁", "铸铁管", " 铸铁 "])
def test_cast_iron_must_say_which(written: str) -> None:
    spec = FIELDS_BY_NAME["material"]
    message = f"管材「{written.strip()}」不明确:请写明 灰口铸铁 或 球墨铸铁"
    with pytest.raises(ValueError, match=message):
        convert_cell(make_converter(spec, "gas_pipe"), written)
    with pytest.raises(ValueError, match=message):
        refuse_ambiguous(spec, "gas_pipe", written)


def test_unknown_material_names_the_choices() -> None:
    spec = FIELDS_BY_NAME["material"]
    with pytest.raises(
        ValueError, match=r"无效的管材: 水泥管.*灰口铸铁、球墨铸铁、钢、聚乙烯、其他"
    ):
        make_converter(spec, "gas_pipe")("水泥管")


# --- a survey workbook written the way districts write it -----------------------------------


def test_workbook_with_dn_sizes_steel_trade_names_and_cast_iron(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    header = ["管段编号", "行政区划代码", "管材", "管径", "长度(米)", "投用时间", "更新单价(元)"]
    rows = [
        ["P-1", "410102", "镀锌钢管", "DN150", 100, "2005年3月", 80000],
        ["P-2", "410102", "焊接钢管", "DN 150", 100, "2005-03", "8万元"],
        ["P-3", "410102", "无缝钢管", "dn200", 100, "2005/3/1", "1.5亿元"],
        ["P-4", "410102", "螺旋钢管", "150mm", 100, "2005年3月1日", None],
        ["P-5", "410102", "PE100", 110, 100, 2005, None],
        ["P-6", "410102", "聚乙烯管", "DN100", 100, 2005, None],
        ["P-7", "410102", "铸铁", "DN100", 100, 2005, None],
        ["P-8", "410102", "钢", "φ159×6", 100, 2005, None],
        ["P-9", "410102", "钢", "DN150", 100, 2005, "8块"],
    ]
    body = run(client, db, sheet([header, *rows], title="燃气管道"), dry_run=False)
    assert body["status"] == "committed", body
    assert (body["counts"]["created"], body["counts"]["rejected"]) == (6, 3)
    errors = {e["row"]: e for e in body["errors"]}
    assert (errors[8]["field"], errors[8]["value"]) == ("material", "铸铁")
    assert "灰口铸铁 或 球墨铸铁" in errors[8]["message"]
    assert (errors[9]["field"], errors[9]["value"]) == ("diameter_mm", "φ159×6")
    assert "外径" in errors[9]["message"] and "DN150" in errors[9]["message"]
    assert (errors[10]["field"], errors[10]["value"]) == ("unit_cost", "8块")
    assert "8万元" in errors[10]["message"]
    items = client.get("/api/v1/assets", params={"category": "gas_pipe", "limit": 50}).json()
    got = {a["asset_code"]: a for a in items["items"]}
    assert {c: got[c]["material"] for c in got} == {
        "P-1": "steel",
        "P-2": "steel",
        "P-3": "steel",
        "P-4": "steel",
        "P-5": "pe",
        "P-6": "pe",
    }
    assert [got[f"P-{i}"]["diameter_mm"] for i in range(1, 7)] == [150, 150, 200, 150, 110, 100]
    assert {got[f"P-{i}"]["commissioned_on"] for i in range(1, 5)} == {"2005-03-01"}
    # 更新单价(元): a bare 80000 is in 元; a cell with its own unit keeps it
    assert [D(got[f"P-{i}"]["unit_cost"]) for i in (1, 2, 3)] == [D(8), D(8), D(15000)]


# --- the OpenAPI document describes what is accepted ----------------------------------------

AMOUNTS_WRITTEN = [
    "8",
    "8.5",
    "8万元",
    "8万",
    "80000元",
    "1.5亿元",
    "8 万元",
    "8,000元",
    "8万元/台",
]
DATES_WRITTEN = [
    "2026-11-30",
    "2026/11/30",
    "2026.11.30",
    "2026-1-5",
    "2026年11月30日",
    "2026年11月",
]
DATES_WRITTEN += ["2026-11", "2026/2"]
DIAMETERS_WRITTEN = ["DN150", "dn150", "DN 150", "150mm", "150 mm", "150毫米", "150", "150.0"]


def test_patterns_take_every_accepted_notation() -> None:
    assert all(re.match(AMOUNT_PATTERN, a) for a in AMOUNTS_WRITTEN)
    assert all(re.match(DATE_PATTERN, d) for d in DATES_WRITTEN)
    assert all(re.match(MONTH_PATTERN, m) for m in ["2026-11", "2026/3", "2026年3月"])
    assert all(re.match(DN_PATTERN, d) for d in DIAMETERS_WRITTEN)
    assert not any(re.match(DN_PATTERN, d) for d in ["Φ159", "φ159×6", "De110", "150米"])
    assert not any(re.match(DATE_PATTERN, d) for d in ["2026", "2026-13", "2026-11-30T08:00"])


def test_openapi_describes_the_notations(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    pipe = schemas["GasPipeCreate"]["properties"]
    diameter = pipe["diameter_mm"]["anyOf"][0]["anyOf"]
    assert {s["type"] for s in diameter} == {"integer", "string"}
    assert "DN150" in pipe["diameter_mm"]["description"]
    cost = pipe["unit_cost"]
    assert {s["type"] for s in cost["anyOf"]} == {"number", "string", "null"}
    assert "80000元" in cost["description"]
    assert pipe["commissioned_on"]["anyOf"][0]["pattern"] == DATE_PATTERN
    due = {p["name"]: p for p in doc["paths"]["/api/v1/due"]["get"]["parameters"]}
    assert due["due_by"]["schema"]["anyOf"][0]["pattern"] == DATE_PATTERN
    assert "该月最后一天" in due["due_by"]["description"]
    plan = schemas["PlanCreate"]["properties"]
    assert "1.5亿元" in plan["budgets"]["description"]


def test_template_notes_explain_the_notations(client: TestClient) -> None:
    resp = client.get("/api/v1/templates/survey.xlsx", params={"category": "gas_pipe"})
    wb = openpyxl.load_workbook(io.BytesIO(resp.content))
    notes = " ".join(str(c.value) for row in wb["填表说明"].iter_rows() for c in row if c.value)
    assert "DN150" in notes and "φ159×6" in notes and "球墨铸铁" in notes and "80000元" in notes
