"""What every workbook we write shares: print setup, titles, tabular sheets and download names.

`print_setup` is the one place a sheet's page is set: A4, landscape when its columns are wider
than a portrait page, fit to one page wide (as many pages tall as it takes), the title and
header rows repeated on each page, and a header and footer naming the region, the as-of date and
the page numbers (&P / &N), so a printed page says what it is.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from datetime import date
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


def csv_bytes(title: str | None, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """A small table as UTF-8 CSV with BOM (Excel shows Chinese), an optional title line first."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    if title:
        writer.writerow([title])
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue().encode("utf-8-sig")


def table_xlsx(
    path: str,
    sheet: str,
    title: str,
    header: Sequence[str],
    widths: Sequence[float],
    rows: Iterable[Sequence[Any]],
    *,
    region: str | None = None,
    as_of: date | str | None = None,
) -> None:
    """A small report as one sheet: a title row, a header row and the rows, printable."""
    import xlsxwriter

    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
    ws = book.add_worksheet(sheet)
    bold = book.add_format({"bold": True, "font_size": 12})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, width in enumerate(widths):
        ws.set_column(col, col, width)
    ws.write_string(0, 0, title, bold)
    for col, name in enumerate(header):
        ws.write_string(1, col, name, head)
    n = 1
    for n, row in enumerate(rows, start=2):
        for col, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, date):
                ws.write_datetime(n, col, value, day)
            elif isinstance(value, bool):
                ws.write_string(n, col, "是" if value else "否")
            elif isinstance(value, int | float):
                ws.write_number(n, col, value)
            else:
                ws.write_string(n, col, str(value))
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, max(n, 2), len(header) - 1)
    print_setup(ws, widths, title=title, region=region, as_of=as_of, repeat=(0, 1))
    book.set_properties({"title": title})
    book.close()
