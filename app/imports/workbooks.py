"""Workbooks we write from the column spec: the survey template, the ledger export (the template's
format, so an edited export re-imports in place), and the error workbook of a batch.

All three stream with xlsxwriter's constant_memory mode (rows are written in order and flushed),
share the template's column widths and drop-downs (`OptionLists`) and print alike
(`app.kit.sheets.print_setup`).
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
    FIELDS_BY_NAME,
    FieldSpec,
    choices_for,
    fields_for,
    is_required,
    label_of,
)
from app.kit.sheets import print_setup, row_height, text_lines

EXAMPLE_CODE = "示例-0001"
OPTIONS_SHEET = "选项"
NOTES_SHEET = "填表说明"
MAX_ROW = 1_048_575
ERROR_HEADER = "错误说明"
ERROR_WIDTH = 48
EXAMPLE_NOTE = "示例行：设备编号以“示例”开头的行导入时跳过，可保留或删除"
EXAMPLES: dict[str, Any] = {
    "region_code": "410102",
    "name": "示例设备（此行为示例，导入时跳过）",
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


def column_width(spec: FieldSpec) -> int:
    """The template's width of a field's column (characters)."""
    if spec.name in ("name", "address"):
        return 24
    return 12 if spec.kind in ("date", "bool", "int", "decimal") else 16


class OptionLists:
    """The hidden 选项 sheet behind the drop-downs: one column per distinct list of labels.

    The lists are collected while the sheets are written and written last, row by row (in
    constant_memory mode a row is flushed once a later row is written, so column-wise writes
    would keep only the first row's cells)."""

    def __init__(self) -> None:
        self.lists: list[list[str]] = []

    def source(self, labels: list[str]) -> str:
        """The `='选项'!$X$1:$X$n` range holding `labels` (shared by equal lists)."""
        if labels not in self.lists:
            self.lists.append(labels)
        return _range(self.lists.index(labels), len(labels))

    def validate(
        self, ws: Any, first_row: int, col: int, spec: FieldSpec, category: str | None
    ) -> None:
        """The drop-down of a bool or enum column from `first_row` down."""
        if spec.kind == "bool":
            ws.data_validation(
                first_row, col, MAX_ROW, col, {"validate": "list", "source": ["是", "否"]}
            )
        elif spec.kind == "enum":
            labels = enum_labels(spec, category)
            if labels:
                ws.data_validation(
                    first_row,
                    col,
                    MAX_ROW,
                    col,
                    {"validate": "list", "source": self.source(labels)},
                )

    def write(self, book: Any) -> None:
        """The hidden 选项 sheet, row by row."""
        if not self.lists:
            return
        opts = book.add_worksheet(OPTIONS_SHEET)
        for row in range(max(len(labels) for labels in self.lists)):
            for col, labels in enumerate(self.lists):
                if row < len(labels):
                    opts.write_string(row, col, labels[row])
        opts.hide()


def enum_labels(spec: FieldSpec, category: str | None) -> list[str]:
    """The labels a drop-down offers for an enum field (in a category, or the spec's own)."""
    if spec.name == "category":
        return [CATEGORIES[category]] if category else list(CATEGORIES.values())
    if category is None:
        return [label(spec, c) for c in spec.choices]
    return [label(spec, c, category) for c in choices_for(spec, category)]


class SpecWriter:
    """A workbook with one sheet per category in the template layout."""

    def __init__(
        self,
        path: Path,
        *,
        title: str = "设备普查表",
        region: str | None = None,
        as_of: date | str | None = None,
    ) -> None:
        self.book = xlsxwriter.Workbook(
            str(path), {"constant_memory": True, "strings_to_numbers": False}
        )
        self.title, self.region, self.as_of = title, region, as_of
        self.bold = self.book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.required = self.book.add_format(
            {"bold": True, "bg_color": "#FCE4D6", "border": 1, "text_wrap": True}
        )
        self.heading = self.book.add_format({"bold": True, "font_size": 12})
        self.datefmt = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.textfmt = self.book.add_format({"num_format": "@", "text_wrap": True})
        self.italic = self.book.add_format({"italic": True, "font_color": "#808080"})
        self.example_date = self.book.add_format(
            {"italic": True, "font_color": "#808080", "num_format": "yyyy-mm-dd"}
        )
        self.options = OptionLists()

    def sheet(self, category: str, heading: str | None = None) -> tuple[Any, list[FieldSpec], int]:
        """Add a category sheet: an optional title row, the header, the hidden field-name row
        and drop-downs; returns the sheet, its fields and the first data row."""
        ws = self.book.add_worksheet(CATEGORIES[category])
        specs = fields_for(category)
        top = 1 if heading else 0
        widths = [column_width(spec) for spec in specs]
        for col, (spec, width) in enumerate(zip(specs, widths, strict=True)):
            col_fmt = (
                self.datefmt
                if spec.kind == "date"
                else self.textfmt
                if spec.kind == "text"
                else None
            )
            ws.set_column(col, col, width, col_fmt)
            self.options.validate(ws, top + 2, col, spec, category)
        if heading:  # constant_memory: whole rows, in order
            ws.write_string(0, 0, heading, self.heading)
        for col, spec in enumerate(specs):
            fmt = self.required if is_required(spec, category) else self.bold
            ws.write_string(top, col, spec.header, fmt)
        for col, spec in enumerate(specs):
            ws.write_string(top + 1, col, spec.name)
        ws.set_row(top + 1, None, None, {"hidden": True})
        ws.freeze_panes(top + 2, 1)
        print_setup(
            ws,
            widths,
            title=f"{self.title}（{CATEGORIES[category]}）",
            region=self.region,
            as_of=self.as_of,
            repeat=(0, top),
        )
        return ws, specs, top + 2

    def write_row(
        self,
        ws: Any,
        row: int,
        specs: list[FieldSpec],
        values: dict[str, Any],
        example: bool = False,
    ) -> None:
        """One data row in the template's layout (rows must come in order)."""
        for col, spec in enumerate(specs):
            value = cell_value(spec, values.get(spec.name), values.get("category"))
            if value is None:
                continue
            if isinstance(value, date | datetime):
                ws.write_datetime(row, col, value, self.example_date if example else self.datefmt)
            elif isinstance(value, str):
                ws.write_string(row, col, value, self.italic if example else None)
            else:
                ws.write_number(row, col, value, self.italic if example else None)

    def close(self, notes: bool = False) -> None:
        """Add the notes and the hidden option lists, and finish the file."""
        if notes:
            write_notes(self.book)
        self.options.write(self.book)
        self.book.close()


def _range(col: int, length: int) -> str:
    letter = xlsxwriter.utility.xl_col_to_name(col)
    return f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${length}"


def write_template(
    path: Path,
    categories: Iterable[str],
    *,
    region: str | None = None,
    as_of: date | None = None,
) -> None:
    """The survey template: one sheet per category with one example row (grey, 设备编号
    示例-0001, skipped on import), notes and drop-downs."""
    writer = SpecWriter(path, region=region, as_of=as_of)
    for category in categories:
        ws, specs, first = writer.sheet(category)
        example = {**EXAMPLES, "asset_code": EXAMPLE_CODE, "category": category}
        writer.write_row(ws, first, specs, example, example=True)
        ws.write_comment(first, 0, EXAMPLE_NOTE)
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
    ("金额", "单位万元;可填 8、8万元、80000元、1.5亿元;表头写“单价(元)”时,不带单位的数字按元计。"),
    (
        "管径",
        "填公称直径 DN(毫米):150、DN150、DN 150、150mm 均可;"
        "Φ159、φ159×6、De110 是外径写法,请按管材规格换算成 DN 后填写。",
    ),
    (
        "管材",
        "镀锌钢管、焊接钢管、无缝钢管、螺旋钢管按“钢”计,PE管、PE100、聚乙烯管按“聚乙烯”计;"
        "只写“铸铁”无法判断,请写明灰口铸铁或球墨铸铁。",
    ),
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


def write_errors(
    path: Path,
    sheets: list[dict[str, Any]],
    rows: Iterable[Any],
    *,
    title: str = "导入被拒绝的行",
    region: str | None = None,
    as_of: date | str | None = None,
) -> None:
    """Rejected rows with their original headers and cells, marked cells and a 错误说明 column
    right after 设备编号; the template's widths and drop-downs, header and first column frozen,
    so the rows can be fixed in place and uploaded again (the importer ignores 错误说明)."""
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    fmts = _ErrorFormats(book)
    options = OptionLists()
    by_sheet: dict[str, list[Any]] = {}
    for r in rows:
        by_sheet.setdefault(r.sheet, []).append(r)
    info = {s["name"]: s for s in sheets}
    for name, items in by_sheet.items():
        ws = book.add_worksheet(name[:31])
        _ErrorSheet(ws, info.get(name, {}), items, fmts, options).write(title, region, as_of)
    if not by_sheet:
        ws = book.add_worksheet("无错误")
        ws.write_string(0, 0, "没有被拒绝的行")
        print_setup(ws, [40], title=title, region=region, as_of=as_of, repeat=None)
    options.write(book)
    book.close()


class _ErrorFormats:
    def __init__(self, book: Any) -> None:
        self.bad = book.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})
        self.head = book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}
        )
        self.error_head = book.add_format(
            {"bold": True, "bg_color": "#FFC7CE", "border": 1, "text_wrap": True}
        )
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.bad_date = book.add_format(
            {"bg_color": "#FFC7CE", "font_color": "#9C0006", "num_format": "yyyy-mm-dd"}
        )
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.text = book.add_format({"num_format": "@", "text_wrap": True})
        self.bad_text = book.add_format(
            {"bg_color": "#FFC7CE", "font_color": "#9C0006", "num_format": "@", "text_wrap": True}
        )


class _ErrorSheet:
    """One sheet of the error workbook: the uploaded sheet's columns, 错误说明 after 设备编号."""

    def __init__(
        self,
        ws: Any,
        info: dict[str, Any],
        items: list[Any],
        fmts: _ErrorFormats,
        options: OptionLists,
    ) -> None:
        self.ws, self.items, self.fmts, self.options = ws, items, fmts, options
        self.headers = {int(c): h for c, h in info.get("headers", {}).items()}
        cats = {r.category for r in items if r.category} | (
            {info["category"]} if info.get("category") else set()
        )
        self.category = cats.pop() if len(cats) == 1 else None
        fields = info.get("columns", {})
        self.specs: dict[int, FieldSpec] = {}
        for col, header in self.headers.items():
            names = fields.get(header) or []
            spec = FIELDS_BY_NAME.get(names[0]) if names else None
            if spec is not None:
                self.specs[col] = spec
        self.cols = sorted(self.headers)
        code_cols = [c for c in self.cols if getattr(self.specs.get(c), "name", "") == "asset_code"]
        after = self.cols.index(code_cols[0]) + 1 if code_cols else 0
        self.error_pos = after
        self.pos = {c: i if i < after else i + 1 for i, c in enumerate(self.cols)}

    def write(self, title: str, region: str | None, as_of: date | str | None) -> None:
        ws, fmts = self.ws, self.fmts
        widths = [0.0] * (len(self.cols) + 1)
        widths[self.error_pos] = ERROR_WIDTH
        ws.set_column(self.error_pos, self.error_pos, ERROR_WIDTH, fmts.wrap)
        for c in self.cols:
            spec = self.specs.get(c)
            width = column_width(spec) if spec else 12
            widths[self.pos[c]] = width
            col_fmt = fmts.text if spec is not None and spec.kind == "text" else None
            ws.set_column(self.pos[c], self.pos[c], width, col_fmt)
            if spec is not None:
                self.options.validate(ws, 1, self.pos[c], spec, self.category)
        for c in self.cols:
            ws.write_string(0, self.pos[c], self.headers[c], fmts.head)
        ws.write_string(0, self.error_pos, ERROR_HEADER, fmts.error_head)
        for n, r in enumerate(self.items, start=1):
            self._row(n, r)
        ws.freeze_panes(1, 1)
        print_setup(ws, widths, title=title, region=region, as_of=as_of)

    def _row(self, n: int, r: Any) -> None:
        ws, fmts = self.ws, self.fmts
        first, cells = r.values.get("first_col", 0), r.values.get("cells", [])
        marks = {e.get("col"): e["message"] for e in r.errors or [] if e.get("col") is not None}
        message = ";".join(f"{e['column']}: {e['message']}" for e in r.errors or [])
        explained = f"第{r.row}行 {message}"
        lines = text_lines(explained, ERROR_WIDTH)
        for c in self.cols:
            value = cells[c - first] if 0 <= c - first < len(cells) else None
            spec = self.specs.get(c)
            if isinstance(value, str) and spec is not None and spec.kind == "text":
                lines = max(lines, text_lines(value, column_width(spec)))
        if lines > 1:  # before the row's cells (constant memory writes rows in order)
            ws.set_row(n, row_height(lines))
        for c in self.cols:
            value = _decode(cells[c - first]) if 0 <= c - first < len(cells) else None
            fmt = fmts.bad if c in marks else None
            col = self.pos[c]
            spec = self.specs.get(c)
            if spec is not None and spec.kind == "text":
                # the cell's own format is the one shown: text columns stay text and wrap
                fmt = fmts.bad_text if c in marks else fmts.text
            if isinstance(value, date):
                ws.write_datetime(n, col, value, fmts.bad_date if c in marks else fmts.date)
            elif value is None or value == "":
                ws.write_blank(n, col, None, fmt)
            elif isinstance(value, bool):
                ws.write_boolean(n, col, value, fmt)
            elif isinstance(value, int | float):
                ws.write_number(n, col, value, fmt)
            else:
                ws.write_string(n, col, str(value), fmt)
            if c in marks:
                ws.write_comment(n, col, marks[c])
        ws.write_string(n, self.error_pos, explained, fmts.wrap)


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "date" in value:
        text = value["date"]
        return datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
    return value
