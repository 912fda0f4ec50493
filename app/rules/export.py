"""Due-list exports: CSV streamed row by row, XLSX written in constant memory."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable
from datetime import date
from typing import Any

import xlsxwriter

from app.assets.spec import CATEGORIES
from app.kit.sheets import Table, print_setup, row_height, text_lines, title_text
from app.rules.queries import DueRow

LEVEL_LABELS = {
    "mandatory": "强制更新",
    "assess": "须评估",
    "encouraged": "鼓励更新",
    "unknown": "资料不全",
}
COLUMNS: list[tuple[str, int]] = [
    ("设备编号", 22),
    ("设备类别", 12),
    ("行政区划代码", 12),
    ("行政区划", 20),
    ("设备名称", 24),
    ("地址", 28),
    ("小区", 16),
    ("楼栋", 8),
    ("单元", 8),
    ("级别", 10),
    ("最早截止日期", 12),
    ("是否逾期", 9),
    ("年限起算日期", 12),
    ("起算依据", 12),
    ("规则编号", 20),
    ("原因", 44),
    ("依据条款", 50),
    ("仅参考依据", 11),
]
WRAPPED = ("地址", "规则编号", "原因", "依据条款")
"""Long texts wrap in their column (and so on the printed page)."""
ADVISORY_MARK = "【参考】"
"""Marks a flag whose rule rests on another province's text or a product default."""
TITLE = "设备更新到期清单"


EXCEL_EPOCH = date(1899, 12, 30)


def _cites(item: DueRow) -> str:
    """The flags' documents and clauses, each once, advisory ones marked 【参考】."""
    seen: dict[str, None] = {}
    for fl in item.flags:
        if fl[2]:
            seen.setdefault(ADVISORY_MARK + fl[2] if fl[3] else fl[2])
    return "；".join(seen)


def _row(item: DueRow) -> list[Any]:
    return [
        item.asset_code,
        CATEGORIES.get(item.category, item.category),
        item.region_code,
        item.region_name,
        item.name or "",
        item.address or "",
        item.community or "",
        item.building or "",
        item.unit or "",
        LEVEL_LABELS.get(item.level, item.level),
        item.due_on,
        "是" if item.overdue else "否",
        item.age_from,
        item.age_field,
        "，".join(fl[0] for fl in item.flags),
        "；".join(ADVISORY_MARK + fl[1] if fl[3] else fl[1] for fl in item.flags),
        _cites(item),
        "是" if item.advisory else "否",
    ]


def csv_file(items: Iterable[DueRow]) -> tempfile._TemporaryFileWrapper[bytes]:
    """UTF-8 CSV with BOM (so Excel shows Chinese correctly), one row per asset, rewound.

    The header is the first line (no title line: scripts read it), the download's name says the
    region and as-of date."""
    out = tempfile.NamedTemporaryFile(suffix=".csv")  # noqa: SIM115
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c for c, _ in COLUMNS])
    for item in items:
        row = _row(item)
        writer.writerow([v.isoformat() if isinstance(v, date) else v for v in row])
    text.flush()
    text.detach()
    out.seek(0)
    return out


def xlsx_file(
    items: Iterable[DueRow],
    title: str,
    *,
    region: str | None = None,
    as_of: date | None = None,
    filters: str = "",
) -> tempfile._TemporaryFileWrapper[bytes]:
    """Write the due list to a temporary .xlsx (constant memory) and return it, rewound: a title
    row (list, region, as-of date, filter), the header, one row per asset; printable on A4."""
    out = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115
    book = xlsxwriter.Workbook(out.name, {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("到期清单")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    heading = book.add_format({"bold": True, "font_size": 12})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    top = book.add_format({"valign": "top"})
    day = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    for col, (name, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width, wrap if name in WRAPPED else None)
    sheet.write_string(0, 0, title_text(TITLE, region, as_of, filters), heading)
    for col, (name, _) in enumerate(COLUMNS):
        sheet.write_string(1, col, name, head)
    sheet.freeze_panes(2, 1)
    n = 1
    text = sheet.write_string
    # a cell's own format, not its column's, is what Excel and LibreOffice show: long texts
    # carry the wrapping format themselves
    formats = [wrap if name in WRAPPED else top for name, _ in COLUMNS]
    wrapped = [(i, w) for i, (name, w) in enumerate(COLUMNS) if name in WRAPPED]
    for n, item in enumerate(items, 2):
        row = _row(item)
        lines = 1
        for i, w in wrapped:
            lines = max(lines, text_lines(row[i], w))
        if lines > 1:
            sheet.set_row(n, row_height(lines))
        for col, value in enumerate(row):
            if isinstance(value, str):
                if value:
                    text(n, col, value, formats[col])
            elif isinstance(value, date):
                # the date's serial number with a date format: what write_datetime stores,
                # without its per-cell datetime arithmetic
                sheet.write_number(n, col, (value - EXCEL_EPOCH).days, day)
    sheet.autofilter(1, 0, max(n, 2), len(COLUMNS) - 1)
    print_setup(
        sheet, [w for _, w in COLUMNS], title=title, region=region, as_of=as_of, repeat=(0, 1)
    )
    book.set_properties({"title": title})
    book.close()
    out.seek(0)
    return out


STATS_HEADER = (
    "区划代码", "行政区划", "设备类别", "级别", "截止年度", "设备数", "逾期数", "管道长度(米)",
    "锅炉容量(蒸吨/小时)",
)  # fmt: skip
STATS_WIDTHS = (10, 24, 14, 10, 9, 9, 9, 14, 16)
GAPS_HEADER = ("区划代码", "行政区划", "设备类别", "规则编号", "缺少资料的设备数")
GAPS_WIDTHS = (10, 24, 14, 24, 16)


def stats_tables(data: dict[str, Any], names: dict[str, str]) -> list[Table]:
    """`/stats` as tables: counts by region × category × level × year, and the data gaps."""

    def name(prefix: str) -> str:
        return names.get(prefix.ljust(6, "0"), "")

    rows = [
        (
            r["region"],
            name(r["region"]),
            CATEGORIES.get(r["category"], r["category"]),
            LEVEL_LABELS.get(r["level"], r["level"]),
            r["due_year"],
            r["assets"],
            r["overdue"],
            r["length_m"] or None,
            r["capacity_tph"] or None,
        )
        for r in data["rows"]
    ]
    gaps = [
        (
            g["region"],
            name(g["region"]),
            CATEGORIES.get(g["category"], g["category"]),
            g["rule_id"],
            g["assets"],
        )
        for g in data["gaps"]
    ]
    return [
        Table("统计", STATS_HEADER, STATS_WIDTHS, rows),
        Table("资料不全", GAPS_HEADER, GAPS_WIDTHS, gaps),
    ]


def stats_region_codes(data: dict[str, Any]) -> set[str]:
    """The six-digit codes of the regions a stats report names."""
    return {r["region"].ljust(6, "0") for r in (*data["rows"], *data["gaps"])}


def describe(f: Any) -> str:
    """The due list's filters as a reader reads them (the region is named separately)."""
    parts = ["级别 " + "、".join(LEVEL_LABELS.get(lv, lv) for lv in f.levels)]
    if f.category:
        parts.append(f"类别 {CATEGORIES.get(f.category, f.category)}")
    if f.due_by:
        parts.append(f"截止日期不晚于 {f.due_by}")
    if f.overdue:
        parts.append("仅逾期")
    if f.rule:
        parts.append(f"规则 {f.rule}")
    if f.advisory is False:
        parts.append("不含参考依据")
    elif f.advisory is True:
        parts.append("仅参考依据")
    return "，".join(parts)
