"""Workbooks we write from the column spec: the survey template, the ledger export (the template's
format, so an edited export re-imports in place), and the error workbook of a batch.

All three stream with xlsxwriter's constant_memory mode (rows are written in order and flushed).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import xlsxwriter

from app.assets.spec import (
    CATEGORIES,
    FieldSpec,
    choices_for,
    fields_for,
    is_required,
    label_of,
)

EXAMPLE_CODE = "示例-0001"
OPTIONS_SHEET = "选项"
NOTES_SHEET = "填表说明"
MAX_ROW = 1_048_575
ERROR_HEADER = "错误说明"
EXAMPLES: dict[str, Any] = {
    "region_code": "410102",
    "name": "示例设备",
    "address": "建设路1号",
    "commissioned_on": date(2005, 3, 1),
    "manufactured_on": date(2015, 5, 1),
    "standard": "GB 5842-2006",
    "design_life_years": 8,
    "status": "in_service",
    "length_m": Decimal("120.5"),
    "capacity_tph": Decimal(20),
    "emission_stage": 4,
}


def label(spec: FieldSpec, code: str, category: str | None = None) -> str:
    """The Chinese label written for an enum code (the first one in the spec)."""
    return label_of(spec, code, category)


def cell_value(spec: FieldSpec, value: Any, category: str | None = None) -> Any:
    """A ledger value as written in a workbook: labels for enums, 是/否, numbers, dates."""
    if value is None:
        return None
    if spec.kind == "enum":
        return label(spec, str(value), category)
    if spec.kind == "bool":
        return "是" if value else "否"
    if isinstance(value, Decimal):
        return float(value)
    return value


class SpecWriter:
    """A workbook with one sheet per category in the template layout."""

    def __init__(self, path: Path) -> None:
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_numbers": False}
        )
        self.bold = self.book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.required = self.book.add_format(
            {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True}
        )
        self.datefmt = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.textfmt = self.book.add_format({"num_format": "@"})
        self.italic = self.book.add_format({"italic": True, "font_color": "#808080"})
        self._options: list[tuple[str, list[str]]] = []

    def sheet(self, category: str) -> tuple[Any, list[FieldSpec]]:
        """Add a category sheet with its header, hidden field-name row and drop-downs."""
        ws = self.book.add_worksheet(CATEGORIES[category])
        specs = fields_for(category)
        for col, spec in enumerate(specs):  # constant_memory: whole rows, in order
            fmt = self.required if is_required(spec, category) else self.bold
            ws.write_string(0, col, spec.header, fmt)
        for col, spec in enumerate(specs):
            ws.write_string(1, col, spec.name)
            width = 12 if spec.kind in ("date", "bool", "int", "decimal") else 16
            col_fmt = (
                self.datefmt
                if spec.kind == "date"
                else self.textfmt
                if spec.kind == "text"
                else None
            )
            ws.set_column(col, col, width, col_fmt)
            self._validation(ws, col, spec, category)
        ws.set_row(1, None, None, {"hidden": True})
        ws.freeze_panes(2, 0)
        return ws, specs

    def _validation(self, ws: Any, col: int, spec: FieldSpec, category: str) -> None:
        if spec.kind == "bool":
            ws.data_validation(2, col, MAX_ROW, col, {"validate": "list", "source": ["是", "否"]})
        elif spec.kind == "enum":
            codes = (category,) if spec.name == "category" else choices_for(spec, category)
            labels = [label(spec, c, category) for c in codes]
            ws.data_validation(
                2, col, MAX_ROW, col, {"validate": "list", "source": self._option_range(labels)}
            )

    def _option_range(self, labels: list[str]) -> str:
        for index, (_, existing) in enumerate(self._options):
            if existing == labels:
                return _range(index, len(labels))
        self._options.append((f"o{len(self._options)}", labels))
        return _range(len(self._options) - 1, len(labels))

    def write_row(self, ws: Any, row: int, specs: list[FieldSpec], values: dict[str, Any]) -> None:
        """One data row in the template's layout (rows must come in order)."""
        for col, spec in enumerate(specs):
            value = cell_value(spec, values.get(spec.name), values.get("category"))
            if value is None:
                continue
            if isinstance(value, date | datetime):
                ws.write_datetime(row, col, value, self.datefmt)
            elif isinstance(value, str):
                ws.write_string(row, col, value)
            else:
                ws.write_number(row, col, value)

    def close(self, notes: bool = False) -> None:
        """Add the notes and the hidden option lists, and finish the file."""
        if notes:
            write_notes(self.book)
        if self._options:
            opts = self.book.add_worksheet(OPTIONS_SHEET)
            for col, (_, labels) in enumerate(self._options):
                for row, text in enumerate(labels):
                    opts.write_string(row, col, text)
            opts.hide()
        self.book.close()


def _range(col: int, length: int) -> str:
    letter = xlsxwriter.utility.xl_col_to_name(col)
    return f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${length}"


def write_template(path: Path, categories: Iterable[str]) -> None:
    """The survey template: one sheet per category, an example row, notes and drop-downs."""
    writer = SpecWriter(path)
    for category in categories:
        ws, specs = writer.sheet(category)
        example = {**EXAMPLES, "asset_code": EXAMPLE_CODE, "category": category}
        writer.write_row(ws, 2, specs, example)
        ws.write_comment(2, 0, "示例行(设备编号以“示例”开头的行导入时跳过)")
    writer.close(notes=True)


NOTES = [
    ("填表说明", ""),
    (
        "每类设备一个工作表",
        "工作表名称即设备类别(电梯、水泵、锅炉、燃气管道、液化石油气钢瓶、环卫车辆);也可在一个工作表中用“设备类别”列区分。",
    ),
    (
        "表头",
        "第1行为中文表头(括号内为单位),第2行为隐藏的字段名,请勿修改或删除;表头上方可有标题行。",
    ),
    (
        "必填项",
        "设备编号、行政区划代码(或省/市/区名称列)、设备类别;液化石油气钢瓶另需出厂日期。橙色表头为必填。",
    ),
    ("设备编号", "同一类别内唯一;再次导入时按“类别+设备编号”更新已有记录。"),
    (
        "日期",
        "可填 Excel 日期或文本:2005、2005-03、2005年3月、2005.3.1、2005/3/1、2005年3月1日;"
        "只填年份按1月1日计,只填年月按当月1日计。",
    ),
    ("数字", "可带单位或千分位:1,200米、35蒸吨;锅炉容量可填 MW(按 0.7 MW = 1 蒸吨/小时 折算)。"),
    ("是/否", "可填 是/否、有/无、Y/N、1/0、√/×。"),
    ("选项", "下拉列表中的选项;也接受常见写法,如 灰铸铁、国三/国Ⅲ。"),
    ("不识别的列", "如序号、备注等会被忽略,并在导入结果中提示。"),
    ("表尾", "填表人、审核人、说明等表尾行会被跳过。"),
    ("示例行", "设备编号以“示例”开头的行不会导入,可保留或删除。"),
]


def write_notes(book: Any) -> None:
    """The 填表说明 sheet."""
    ws = book.add_worksheet(NOTES_SHEET)
    ws.set_column(0, 0, 18)
    ws.set_column(1, 1, 100)
    bold = book.add_format({"bold": True})
    for row, (title, text) in enumerate(NOTES):
        ws.write_string(row, 0, title, bold)
        if text:
            ws.write_string(row, 1, text)


def write_errors(path: Path, sheets: list[dict[str, Any]], rows: Iterable[Any]) -> None:
    """Rejected rows with their original headers and cells, an error column and marked cells."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    bad = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    datefmt = book.add_format({"num_format": "yyyy-mm-dd"})
    by_sheet: dict[str, list[Any]] = {}
    for r in rows:
        by_sheet.setdefault(r.sheet, []).append(r)
    info = {s["name"]: s for s in sheets}
    for name, items in by_sheet.items():
        headers = {int(c): h for c, h in info.get(name, {}).get("headers", {}).items()}
        _error_sheet(book.add_worksheet(name[:31]), headers, items, (head, bad, datefmt))
    if not by_sheet:
        book.add_worksheet("无错误").write_string(0, 0, "没有被拒绝的行")
    book.close()


def _error_sheet(ws: Any, headers: dict[int, str], items: list[Any], fmts: tuple[Any, ...]) -> None:
    head, bad, datefmt = fmts
    cols = sorted(headers)
    pos = {c: i for i, c in enumerate(cols)}
    for c in cols:
        ws.write_string(0, pos[c], headers[c], head)
    ws.write_string(0, len(cols), ERROR_HEADER, head)
    ws.set_column(len(cols), len(cols), 60)
    for n, r in enumerate(items, start=1):
        first, cells = r.values.get("first_col", 0), r.values.get("cells", [])
        marks = {e.get("col"): e["message"] for e in r.errors or [] if e.get("col") is not None}
        for c in cols:
            value = _decode(cells[c - first]) if 0 <= c - first < len(cells) else None
            fmt = bad if c in marks else None
            if isinstance(value, date):
                ws.write_datetime(n, pos[c], value, fmt or datefmt)
            elif value is None or value == "":
                ws.write_blank(n, pos[c], None, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(n, pos[c], value, fmt)
            elif isinstance(value, int | float):
                ws.write_number(n, pos[c], value, fmt)
            else:
                ws.write_string(n, pos[c], str(value), fmt)
            if c in marks:
                ws.write_comment(n, pos[c], marks[c])
        message = ";".join(f"{e['column']}: {e['message']}" for e in r.errors or [])
        ws.write_string(n, len(cols), f"第{r.row}行 {message}")


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        text = value["date"]
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value
