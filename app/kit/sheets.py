"""What every workbook we write shares: print setup, titles, tabular sheets and download names.

`print_setup` is the one place a sheet's page is set: A4, landscape when its columns are wider
than a portrait page, fit to one page wide (as many pages tall as it takes), the title and
header rows repeated on each page, and a header and footer naming the region, the as-of date and
the page numbers (&P / &N), so a printed page says what it is.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote

A4 = 9
"""xlsxwriter's (and Excel's) paper code of A4."""
PORTRAIT_WIDTH = 90.0
"""Column-width units (characters of the default font) that fit across an A4 portrait page with
the default margins (about 6.9 in of 7 px characters); a wider sheet prints landscape."""
HEADER_LIMIT = 255
"""Excel refuses a header or footer longer than this."""
FOOTER = "&C第 &P 页，共 &N 页"
LINE_HEIGHT = 15.0
"""Points per line of the default 11-point font."""
MAX_LINES = 8
"""A wrapped cell grows to at most this many lines (longer texts are cut on screen and paper)."""


@lru_cache(maxsize=4096)
def text_lines(text: str, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide: a CJK character is two
    characters wide (its UTF-8 form is three bytes, so (bytes + chars) / 2 counts it twice)."""
    if len(text) * 2 <= width and "\n" not in text:
        return 1
    wide = (len(text.encode("utf-8")) + len(text)) / 2
    if wide <= width and "\n" not in text:
        return 1
    # wrapped lines hold a little less than the width: words and punctuation do not split
    lines = text.count("\n") + math.ceil(wide * 1.15 / max(width, 1))
    return min(lines, MAX_LINES)


def row_height(lines: int) -> float | None:
    """The explicit height of a row of `lines` lines (None: the default height). Excel and
    LibreOffice do not grow a row for its wrapped cells when they open a file, so a writer that
    wraps text sets the height itself."""
    return None if lines <= 1 else LINE_HEIGHT * lines


def _escape(text: str) -> str:
    """Header text with Excel's control character & doubled."""
    return text.replace("&", "&&")


def page_header(title: str, region: str | None, as_of: date | str | None) -> str:
    """`&L<title>&C<region>&R截至 <as_of>` (each part only when given), within Excel's limit."""
    parts = [f"&L{_escape(title)}"]
    if region:
        parts.append(f"&C{_escape(region)}")
    if as_of:
        parts.append(f"&R截至 {as_of}")
    text = "".join(parts)
    return text if len(text) <= HEADER_LIMIT else text[: HEADER_LIMIT - 1] + "…"


def print_setup(
    ws: Any,
    widths: Sequence[float],
    *,
    title: str,
    region: str | None = None,
    as_of: date | str | None = None,
    repeat: tuple[int, int] | None = (0, 0),
) -> None:
    """A4, landscape when `widths` (the sheet's column widths) are wider than portrait, one page
    wide, rows `repeat` (first, last; 0-based) on each page, header (title, region, as-of) and
    footer (第 &P 页，共 &N 页)."""
    ws.set_paper(A4)
    if sum(widths) > PORTRAIT_WIDTH:
        ws.set_landscape()
    else:
        ws.set_portrait()
    ws.fit_to_pages(1, 0)
    if repeat is not None:
        ws.repeat_rows(*repeat)
    ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
    ws.set_header(page_header(title, region, as_of), {"margin": 0.3})
    ws.set_footer(FOOTER, {"margin": 0.3})


def title_text(title: str, region: str | None, as_of: date | str | None, filters: str = "") -> str:
    """The title row of an export: what it is, the region, the as-of date and the filter."""
    parts = [title]
    if region:
        parts.append(region)
    if as_of:
        parts.append(f"截至 {as_of}")
    if filters:
        parts.append(f"筛选：{filters}")
    return "　".join(parts)


SAFE_NAME = re.compile(r"[^0-9A-Za-z._-]+")


def attachment(name: str, fallback: str) -> dict[str, str]:
    """A Content-Disposition header naming the download: `name` (Chinese allowed) as RFC 5987
    `filename*`, `fallback` (ASCII) as `filename` for clients that do not read it."""
    plain = SAFE_NAME.sub("-", fallback).strip("-") or "download"
    clean = name.replace("/", "-").replace("\\", "-")
    return {
        "Content-Disposition": (
            f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(clean, safe='')}"
        )
    }


def file_stem(*parts: str | date | None) -> str:
    """Parts of a download's name joined with _ (empty parts left out)."""
    return "_".join(str(p) for p in parts if p)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A small table as UTF-8 CSV with BOM (Excel shows Chinese), the header on the first line
    (the download's name says what, where and when)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else _csv_value(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    return value


@dataclass
class Table:
    """One sheet of a small report."""

    sheet: str
    header: Sequence[str]
    widths: Sequence[float]
    rows: Iterable[Sequence[Any]]


def table_xlsx(
    path: str,
    title: str,
    tables: Sequence[Table],
    *,
    region: str | None = None,
    as_of: date | str | None = None,
) -> None:
    """A small report, a sheet per table: a title row, a header row and the rows, printable."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
    bold = book.add_format({"bold": True, "font_size": 12})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    # every cell of a row top-aligned: a row grown for a wrapped text reads from its top line
    day = book.add_format({"num_format": "yyyy-mm-dd", "valign": "top"})
    number = book.add_format({"num_format": "#,##0.##", "valign": "top"})
    integer = book.add_format({"valign": "top"})
    text = book.add_format({"text_wrap": True, "valign": "top"})
    for table in tables:
        ws = book.add_worksheet(table.sheet)
        for col, width in enumerate(table.widths):
            ws.set_column(col, col, width)
        ws.write_string(0, 0, f"{title}　{table.sheet}" if len(tables) > 1 else title, bold)
        for col, name in enumerate(table.header):
            ws.write_string(1, col, name, head)
        n = 1
        for n, row in enumerate(table.rows, start=2):
            lines = max(
                (text_lines(v, table.widths[c]) for c, v in enumerate(row) if isinstance(v, str)),
                default=1,
            )
            if lines > 1:
                ws.set_row(n, row_height(lines))
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, date):
                    ws.write_datetime(n, col, value, day)
                elif isinstance(value, bool):
                    ws.write_string(n, col, "是" if value else "否", text)
                elif isinstance(value, int):
                    ws.write_number(n, col, value, integer)
                elif isinstance(value, float | Decimal):
                    ws.write_number(n, col, float(value), number)
                else:
                    ws.write_string(n, col, str(value), text)
        ws.freeze_panes(2, 1)
        ws.autofilter(1, 0, max(n, 2), len(table.header) - 1)
        print_setup(ws, table.widths, title=title, region=region, as_of=as_of, repeat=(0, 1))
    book.set_properties({"title": title})
    book.close()


XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(
    fmt: str,
    title: str,
    tables: Sequence[Table],
    name: str,
    fallback: str,
    *,
    region: str | None = None,
    as_of: date | str | None = None,
) -> Any:
    """A small report as a download: `xlsx` (a sheet per table) or `csv` (the first table),
    named `name`.<fmt> (ASCII `fallback`)."""
    import os
    import tempfile

    from starlette.responses import Response

    if fmt == "csv":
        first = tables[0]
        body = csv_bytes(first.header, first.rows)
        media = "text/csv; charset=utf-8"
    else:
        fd, path = tempfile.mkstemp(suffix=".xlsx")
        os.close(fd)
        try:
            table_xlsx(path, title, tables, region=region, as_of=as_of)
            with open(path, "rb") as handle:
                body = handle.read()
        finally:
            os.unlink(path)
        media = XLSX_MEDIA
    return Response(body, media_type=media, headers=attachment(f"{name}.{fmt}", fallback))
