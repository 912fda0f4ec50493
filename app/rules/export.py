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
from app.rules.queries import DueRow

LEVEL_LABELS = {
    "mandatory": "强制更新",
    "assess": "须评估",
    "encouraged": "鼓励更新",
    "unknown": "资料不全",
}
COLUMNS: list[tuple[str, int]] = [
    ("设备编号", 22),
    ("设备类别", 14),
    ("行政区划代码", 12),
    ("设备名称", 28),
    ("地址", 30),
    ("小区", 16),
    ("级别", 10),
    ("最早截止日期", 13),
    ("是否逾期", 9),
    ("规则编号", 30),
    ("原因", 60),
    ("依据条款", 80),
    ("仅参考依据", 11),
]
ADVISORY_MARK = "【参考】"
"""Marks a flag whose rule rests on another province's text or a product default."""


EXCEL_EPOCH = date(1899, 12, 30)


def _row(item: DueRow) -> list[Any]:
    return [
        item.asset_code,
        CATEGORIES.get(item.category, item.category),
        item.region_code,
        item.name or "",
        item.address or "",
        item.community or "",
        LEVEL_LABELS.get(item.level, item.level),
        item.due_on,
        "是" if item.overdue else "否",
        "，".join(fl[0] for fl in item.flags),
        "；".join(ADVISORY_MARK + fl[1] if fl[3] else fl[1] for fl in item.flags),
        "；".join(fl[2] for fl in item.flags if fl[2]),
        "是" if item.advisory else "否",
    ]


def csv_file(items: Iterable[DueRow]) -> tempfile._TemporaryFileWrapper[bytes]:
    """UTF-8 CSV with BOM (so Excel shows Chinese correctly), one row per asset, rewound."""
    out = tempfile.NamedTemporaryFile(suffix=".csv")  # noqa: SIM115
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([c for c, _ in COLUMNS])
    for item in items:
        row = _row(item)
        row[7] = row[7].isoformat() if isinstance(row[7], date) else row[7]
        writer.writerow(row)
    text.flush()
    text.detach()
    out.seek(0)
    return out


def xlsx_file(items: Iterable[DueRow], title: str) -> tempfile._TemporaryFileWrapper[bytes]:
    """Write the due list to a temporary .xlsx (constant memory) and return it, rewound."""
    out = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115
    book = xlsxwriter.Workbook(out.name, {"constant_memory": True, "strings_to_numbers": False})
    sheet = book.add_worksheet("到期清单")
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.freeze_panes(1, 0)
    for col, (name, width) in enumerate(COLUMNS):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, name, head)
    n = 0
    text = sheet.write_string
    for n, item in enumerate(items, 1):
        for col, value in enumerate(_row(item)):
            if isinstance(value, str):
                if value:
                    text(n, col, value)
            elif isinstance(value, date):
                # the date's serial number with a date format: what write_datetime stores,
                # without its per-cell datetime arithmetic
                sheet.write_number(n, col, (value - EXCEL_EPOCH).days, day)
    sheet.autofilter(0, 0, max(n, 1), len(COLUMNS) - 1)
    sheet.set_landscape()
    sheet.fit_to_pages(1, 0)
    sheet.repeat_rows(0)
    book.set_properties({"title": title})
    book.close()
    out.seek(0)
    return out
