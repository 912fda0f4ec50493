"""Reading xlsx workbooks safely: file checks, a cheap peek at the first rows, and fast row streams.

The checks run before any parser sees the file: not a zip (415), a legacy or encrypted OLE2
file (415 / 422), a zip bomb (413 / 422). `peek` reads only the first rows of every sheet from
the XML stream, so a request can reject a file without headers in milliseconds; `iter_sheet_rows`
is the bulk reader (python-calamine by default, openpyxl read-only for comparison).
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from app.errors import Invalid, TooLarge, UnsupportedMedia

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_RATIO = 200
"""Largest compression ratio accepted for a big part; sheet XML compresses 5-30x."""
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


@dataclass
class SheetPeek:
    """The first rows of a sheet (raw values by absolute 0-based column) and its declared size."""

    name: str
    path: str
    rows: list[tuple[int, dict[int, Any]]] = field(default_factory=list)
    last_row: int | None = None
    hidden: bool = False


def check_workbook(path: Path, *, max_uncompressed_mb: int) -> None:
    """Refuse anything that is not a plain, reasonably sized xlsx, before parsing it."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise Invalid("the file is empty")
    if head == OLE2_MAGIC:
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00" in path.read_bytes()[: 1 << 20]:
            raise Invalid(
                "the workbook is encrypted (password-protected); save it without a password",
                reason="encrypted",
            )
        raise UnsupportedMedia("legacy .xls (Excel 97-2003) is not supported; save it as .xlsx")
    if not head.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(path):
        raise UnsupportedMedia("not an xlsx workbook (expected an Excel 2007+ .xlsx file)")
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise UnsupportedMedia("zip file is not an xlsx workbook (no xl/workbook.xml)")
        total = sum(i.file_size for i in infos)
        if total > max_uncompressed_mb * 1024 * 1024:
            raise TooLarge(
                f"workbook expands to {total // 2**20} MB (limit {max_uncompressed_mb} MB)"
            )
        for i in infos:
            if i.file_size > 2**24 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise Invalid(
                    f"part {i.filename} has a suspicious compression ratio (zip bomb?)",
                    reason="zip_bomb",
                )


def _sheet_targets(zf: zipfile.ZipFile) -> list[tuple[str, str, bool]]:
    """(name, part path, hidden) of every worksheet in workbook order."""
    wb = ET.fromstring(zf.read("xl/workbook.xml"))
    rels = ET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = []
    for s in wb.iter(f"{NS}sheet"):
        target = targets.get(s.get(f"{REL_NS}id"), "")
        part = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        if part in zf.namelist():
            out.append((s.get("name", ""), part, s.get("state", "visible") != "visible"))
    return out


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def peek(path: Path, nrows: int = 30) -> list[SheetPeek]:
    """The first `nrows` non-empty rows of each sheet, without reading the rest of the file."""
    with zipfile.ZipFile(path) as zf:
        sheets = [SheetPeek(n, p, hidden=h) for n, p, h in _sheet_targets(zf)]
        wanted: set[int] = set()
        for sheet in sheets:
            _peek_sheet(zf, sheet, nrows, wanted)
        strings = _shared_strings(zf, max(wanted) if wanted else -1)
    for sheet in sheets:
        for _, cells in sheet.rows:
            for col, value in cells.items():
                if isinstance(value, SharedRef):
                    cells[col] = strings.get(value.index, "")
    return sheets


@dataclass(frozen=True)
class SharedRef:
    index: int


def _peek_sheet(zf: zipfile.ZipFile, sheet: SheetPeek, nrows: int, wanted: set[int]) -> None:
    with zf.open(sheet.path) as fh:
        for _event, elem in ET.iterparse(fh, events=("end",)):
            tag = elem.tag
            if tag == f"{NS}dimension":
                refs = _CELL_REF.findall(elem.get("ref", ""))
                sheet.last_row = int(refs[-1][1]) if refs else None
            elif tag == f"{NS}row":
                cells = _row_cells(elem, wanted)
                if cells:
                    sheet.rows.append((int(elem.get("r", "0")) - 1, cells))
                elem.clear()
                if len(sheet.rows) >= nrows:
                    return


def _row_cells(row: ET.Element, wanted: set[int]) -> dict[int, Any]:
    cells: dict[int, Any] = {}
    for c in row.iter(f"{NS}c"):
        m = _CELL_REF.match(c.get("r", ""))
        if not m:
            continue
        kind, v = c.get("t"), c.find(f"{NS}v")
        if kind == "inlineStr":
            value: Any = "".join(t.text or "" for t in c.iter(f"{NS}t"))
        elif v is None or v.text is None:
            continue
        elif kind == "s":
            value = SharedRef(int(v.text))
            wanted.add(value.index)
        elif kind in ("str", "e"):
            value = v.text
        else:
            value = v.text
        if value != "":
            cells[_col_index(m.group(1))] = value
    return cells


def _shared_strings(zf: zipfile.ZipFile, upto: int) -> dict[int, str]:
    """Shared strings 0..upto, streamed (a million-string table is read only as far as needed)."""
    out: dict[int, str] = {}
    if upto < 0 or "xl/sharedStrings.xml" not in zf.namelist():
        return out
    with zf.open("xl/sharedStrings.xml") as fh:
        index = 0
        for _event, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag != f"{NS}si":
                continue
            parts = [t.text or "" for t in elem.findall(f"{NS}t")]
            parts += [t.text or "" for t in elem.findall(f"{NS}r/{NS}t")]
            out[index] = "".join(parts)
            elem.clear()
            index += 1
            if index > upto:
                break
    return out


_FORMULA_NO_VALUE = re.compile(
    rb'<c r="([A-Z]+)(\d+)"[^>]*>\s*(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)\s*(?:<v\s*/>|<v></v>)?\s*</c>'
)


def uncached_formulas(path: Path, sheet_name: str) -> set[tuple[int, int]]:
    """(row, col) 0-based of formula cells that carry no cached value (never calculated).

    The sheet XML is streamed in chunks, so a large sheet is never held in memory.
    """
    found: set[tuple[int, int]] = set()
    with zipfile.ZipFile(path) as zf:
        part = next((p for n, p, _h in _sheet_targets(zf) if n == sheet_name), None)
        if part is None:
            return found
        with zf.open(part) as fh:
            tail = b""
            while chunk := fh.read(1 << 22):
                data = tail + chunk
                if b"<f" in data:
                    for c, r in _FORMULA_NO_VALUE.findall(data):
                        found.add((int(r) - 1, _col_index(c.decode())))
                tail = data[-4096:]
    return found


class Sheet:
    """An opened worksheet: its merged ranges, its height and a stream of its rows."""

    def __init__(self, book: Any, name: str) -> None:
        started = time.perf_counter()
        self._sheet = book.get_sheet_by_name(name)
        self.load_seconds = time.perf_counter() - started
        """Time calamine took to read the whole sheet into memory."""
        self.name = name
        self.merged: list[tuple[tuple[int, int], tuple[int, int]]] = list(
            self._sheet.merged_cell_ranges or []
        )
        end = self._sheet.end
        self.total_rows: int = end[0] + 1 if end else 0

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """(0-based row index, 0-based first column, values) for every row."""
        first_col = self._sheet.start[1] if self._sheet.start else 0
        for index, row in enumerate(self._sheet.iter_rows()):
            yield index, first_col, row


@contextmanager
def open_book(path: Path | str) -> Iterator[Callable[[str], Sheet]]:
    """Open a workbook with python-calamine; yields a function that opens one sheet by name."""
    from python_calamine import CalamineWorkbook

    with CalamineWorkbook.from_path(str(path)) as book:
        yield lambda name: Sheet(book, name)


def iter_sheet_rows(
    path: Path | str, sheet_name: str, engine: str = "calamine"
) -> Iterator[tuple[int, int, list[Any]]]:
    """Rows of one sheet with either reader (used by the reader benchmark)."""
    if engine == "openpyxl":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            for index, row in enumerate(wb[sheet_name].iter_rows(values_only=True)):
                yield index, 0, list(row)
        finally:
            wb.close()
        return
    with open_book(path) as sheet:
        yield from sheet(sheet_name).rows()
