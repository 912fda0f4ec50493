"""Checks of the workbooks we write, read back with openpyxl: drop-down lists, print setup,
citations."""

from __future__ import annotations

import re
from typing import Any

import openpyxl
from openpyxl.utils import column_index_from_string, range_boundaries
from openpyxl.worksheet.worksheet import Worksheet

INTERNAL_REF = re.compile(r"S\d+:\d+|standards-notes")


def dropdowns(wb: openpyxl.Workbook, ws: Worksheet) -> dict[int, list[str]]:
    """Column (1-based) → the labels its list validation offers, the referenced range of the
    选项 sheet resolved (or the inline list)."""
    out: dict[int, list[str]] = {}
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list", dv
        formula = dv.formula1 or ""
        if formula.startswith('"'):
            labels = formula.strip('"').split(",")
        else:
            sheet_part, cells = formula.lstrip("=").split("!")
            opts = wb[sheet_part.strip("'")]
            min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
            assert min_col == max_col, formula
            labels = [opts.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]
        for rng in str(dv.sqref).split():
            col = column_index_from_string(re.sub(r"\d", "", rng.split(":")[0]))
            out[col] = labels
    return out


def check_print(
    ws: Worksheet,
    *,
    landscape: bool = True,
    title_rows: str | None = "1:1",
    header_has: tuple[str, ...] = (),
) -> None:
    """A4, the orientation, one page wide, the repeated rows, header and page-numbered footer."""
    setup = ws.page_setup
    assert str(setup.paperSize) == "9", (ws.title, setup.paperSize)
    assert setup.orientation == ("landscape" if landscape else "portrait"), ws.title
    assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    # OOXML's default of both is 1, so a writer may leave fitToWidth="1" out
    wide = 1 if setup.fitToWidth is None else int(setup.fitToWidth)
    tall = 1 if setup.fitToHeight is None else int(setup.fitToHeight)
    assert (wide, tall) == (1, 0), ws.title
    if title_rows is not None:
        found = (ws.print_title_rows or "").replace("$", "")
        assert found == title_rows, (ws.title, ws.print_title_rows)
    header = " ".join(
        p.text or "" for p in (ws.oddHeader.left, ws.oddHeader.center, ws.oddHeader.right)
    )
    for text in header_has:
        assert text in header, (ws.title, header, text)
    footer = ws.oddFooter.center.text or ""
    assert "&P" in footer and "&N" in footer, (ws.title, footer)


def cell_texts(wb: openpyxl.Workbook) -> list[str]:
    """Every string cell of every sheet."""
    return [
        c
        for ws in wb.worksheets
        for row in ws.iter_rows(values_only=True)
        for c in row
        if isinstance(c, str)
    ]


def assert_no_internal_refs(texts: list[str] | Any) -> None:
    """No text names a source line range (S0:3242) or the standards notes."""
    bad = [t for t in texts if isinstance(t, str) and INTERNAL_REF.search(t)]
    assert not bad, bad[:5]


def col_width(ws: Worksheet, col: int) -> float | None:
    """The width of a column (1-based), also when the file stores it in a range of columns."""
    for dim in ws.column_dimensions.values():
        if dim.min is not None and dim.min <= col <= (dim.max or dim.min):
            return float(dim.width)
    return None
