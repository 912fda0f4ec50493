"""Reading xlsx workbooks safely: file checks, a cheap peek at the first rows, and fast row streams.

The checks run before any parser sees the file: not a zip (415), a legacy or encrypted OLE2
file (415 / 422), a zip bomb (413 / 422). `peek` reads only the first rows of every sheet from
the XML stream, so a request can reject a file without headers in milliseconds; `iter_sheet_rows`
is the bulk reader (python-calamine by default, openpyxl read-only for comparison).
"""

from __future__ import annotations

import contextlib
import queue
import re
import shutil
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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


Uncached = dict[int, set[int]]
"""Formula cells that carry no cached value (never calculated): 0-based row → 0-based columns
(by row, so that checking a row costs the same however many such cells the sheet has)."""


def _add_uncached(found: Uncached, data: bytes) -> None:
    if b"<f" in data:
        for c, r in _FORMULA_NO_VALUE.findall(data):
            found.setdefault(int(r) - 1, set()).add(_col_index(c.decode()))


def uncached_formulas(path: Path, sheet_name: str) -> Uncached:
    """The sheet's formula cells without a cached value (Uncached).

    The sheet XML is streamed in chunks, so a large sheet is never held in memory.
    """
    found: Uncached = {}
    with zipfile.ZipFile(path) as zf:
        part = next((p for n, p, _h in _sheet_targets(zf) if n == sheet_name), None)
        if part is None:
            return found
        with zf.open(part) as fh:
            tail = b""
            while chunk := fh.read(1 << 22):
                data = tail + chunk
                _add_uncached(found, data)
                tail = data[-4096:]
    return found


class Sheet:
    """An opened worksheet: its merged ranges, its height and a stream of its rows."""

    def __init__(self, book: Any, name: str, uncached: Future[Uncached]) -> None:
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
        self._uncached = uncached

    @property
    def uncached(self) -> Uncached:
        """Formula cells without a cached value (uncached_formulas)."""
        return self._uncached.result()

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """(0-based row index, 0-based first column, values) for every row."""
        first_col = self._sheet.start[1] if self._sheet.start else 0
        for index, row in enumerate(self._sheet.iter_rows()):
            yield index, first_col, row

    def close(self) -> None:
        self._sheet = None


PIECE_ROWS = 100_000
"""Rows per piece of a large sheet (PiecewiseSheet)."""
PIECEWISE_BYTES = 64 << 20
"""Sheet XML (uncompressed) above which a sheet is read in pieces."""
_BLOCK = 1 << 22
_SHEET_DATA = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sheetData(?:\s[^>]*)?(/?)>")
_MERGE_REF = re.compile(rb"<(?:[\w.-]+:)?mergeCell\s[^>]*?ref=\"([A-Z]+)(\d+):([A-Z]+)(\d+)\"")
_ROW_NUMBER = re.compile(rb'[^>]*?\sr="(\d+)"')


class PiecewiseSheet:
    """A large sheet read a piece at a time, so memory stays bounded and reading overlaps parsing.

    calamine reads a whole sheet into memory before the first row is available: a million-row
    survey held 1.5 GB and kept the parser waiting ~9 s. Here a splitter thread inflates the sheet
    XML once and cuts it at row tags into workbooks of PIECE_ROWS rows (stored, uncompressed, in a
    temporary folder beside the workbook, i.e. in the import batch's own folder, which the worker
    deletes if a crash leaves it; all pieces together are as large as the sheet's XML, which
    MAX_UNCOMPRESSED_MB bounds), with the workbook's other parts (shared strings, styles); a
    loader thread has calamine read piece k+1 (it releases the GIL) while the caller parses piece
    k. Row and column
    indexes stay those of the original sheet. The splitter also finds formula cells without a cached
    value and the merged ranges (listed after the rows, so the rows wait for the split to end).
    """

    def __init__(self, path: Path, name: str, part: str, rows_per_piece: int = PIECE_ROWS) -> None:
        started = time.perf_counter()
        self.name = name
        self._dir = Path(tempfile.mkdtemp(prefix="rr-sheet-", dir=path.parent))
        self._stop = threading.Event()
        self._pieces: queue.Queue[Path | None] = queue.Queue()
        self._loaded: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self.uncached: Uncached = {}
        self._tail = b""
        self._last_row = -1
        splitter = threading.Thread(
            target=self._split, args=(path, part, rows_per_piece), daemon=True
        )
        self._loader = threading.Thread(target=self._load, daemon=True)
        splitter.start()
        self._loader.start()
        splitter.join()
        if self._error is not None:
            self.close()
            raise self._error
        self.merged = [
            ((int(r0) - 1, _col_index(c0.decode())), (int(r1) - 1, _col_index(c1.decode())))
            for c0, r0, c1, r1 in _MERGE_REF.findall(self._tail)
        ]
        self.total_rows = self._last_row + 1
        self.load_seconds = time.perf_counter() - started
        """Time spent splitting, then waiting for pieces to load (grows as rows are read)."""

    # --- splitter thread ----------------------------------------------------------------------

    def _split(self, path: Path, part: str, rows_per_piece: int) -> None:
        try:
            self._cut(path, part, rows_per_piece)
        except BaseException as exc:  # raised in the caller's thread
            self._error = exc
        finally:
            self._pieces.put(None)

    def _cut(self, path: Path, part: str, rows_per_piece: int) -> None:
        with zipfile.ZipFile(path) as zf:
            common = {
                i.filename: zf.read(i.filename)
                for i in zf.infolist()
                if i.filename != part and not _is_worksheet(i.filename)
            }
            with zf.open(part) as fh:
                buf = b""
                while (found := _SHEET_DATA.search(buf)) is None:
                    block = fh.read(_BLOCK)
                    if not block:
                        raise Invalid(f"worksheet {self.name} has no sheetData", sheet=self.name)
                    buf += block
                prefix, empty = found.group(1), found.group(2)
                head, buf = buf[: found.end()], buf[found.end() :]
                if empty:
                    self._tail = buf + fh.read()
                    return
                cutter = _Cutter(self, common, part, head, prefix, rows_per_piece)
                try:
                    self._feed(fh, buf, cutter)
                finally:
                    cutter.abandon()
                self._last_row = cutter.last_row

    def _feed(self, fh: Any, buf: bytes, cutter: _Cutter) -> None:
        """Stream the rows after the sheetData tag into the cutter; keep what follows them."""
        carry = seen = b""
        while not self._stop.is_set():
            block = buf or fh.read(_BLOCK)
            buf = b""
            _add_uncached(self.uncached, seen[-4096:] + block)
            seen = block
            data = carry + block
            end = data.find(cutter.end_tag)
            if end >= 0:
                cutter.feed(data[:end])
                self._tail = data[end:] + fh.read()
                break
            if not block:
                raise Invalid(f"worksheet {self.name} is cut short", sheet=self.name)
            # feed up to a tag's start, so that no tag is split between two feeds
            cut = data.rfind(b"<", 0, max(0, len(data) - len(cutter.end_tag)))
            cutter.feed(data[: max(cut, 0)])
            carry = data[max(cut, 0) :]
        cutter.finish()

    # --- loader thread ------------------------------------------------------------------------

    def _load(self) -> None:
        from python_calamine import CalamineWorkbook

        try:
            while (piece := self._pieces.get()) is not None and not self._stop.is_set():
                with CalamineWorkbook.from_path(str(piece)) as book:
                    sheet = book.get_sheet_by_name(self.name)
                piece.unlink()
                self._put(sheet)
        except BaseException as exc:
            self._error = exc
        self._put(None)

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._loaded.put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    # --- caller -------------------------------------------------------------------------------

    def rows(self) -> Iterator[tuple[int, int, list[Any]]]:
        """(0-based row index, 0-based first column, values) for every row, piece by piece;
        rows between pieces that have no cells come as blank rows, as calamine pads them."""
        expected = 0
        blank: list[Any] = []
        while True:
            waited = time.perf_counter()
            sheet = self._loaded.get()
            self.load_seconds += time.perf_counter() - waited
            if sheet is None:
                break
            if sheet.start is None:
                continue
            top, first_col = sheet.start
            blank = [""] * sheet.width
            for index in range(expected, top):
                yield index, first_col, blank
            for index, row in enumerate(sheet.iter_rows()):
                if index >= top:
                    yield index, first_col, row
            expected = max(expected, sheet.end[0] + 1)
            del sheet
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the threads and delete the pieces."""
        self._stop.set()
        while True:
            try:
                self._loaded.get_nowait()
            except queue.Empty:
                break
        self._loader.join(timeout=30)
        shutil.rmtree(self._dir, ignore_errors=True)


class _Cutter:
    """Writes the rows of a sheet into piece workbooks of `rows_per_piece` rows each."""

    def __init__(
        self,
        owner: PiecewiseSheet,
        common: dict[str, bytes],
        part: str,
        head: bytes,
        prefix: bytes,
        rows_per_piece: int,
    ) -> None:
        self.owner, self.common, self.part, self.head = owner, common, part, head
        self.row_tag = b"<" + prefix + b"row"
        self.end_tag = b"</" + prefix + b"sheetData>"
        self.close_tags = self.end_tag + b"</" + prefix + b"worksheet>"
        self.rows_per_piece = rows_per_piece
        self.count = 0
        self.rows = 0
        self.last_row = -1
        self._zip: zipfile.ZipFile | None = None
        self._out: Any = None

    def _open(self) -> None:
        path = self.owner._dir / f"piece{self.count:05d}.xlsx"
        self._path = path
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED)
        for name, data in self.common.items():
            self._zip.writestr(name, data)
        self._out = self._zip.open(self.part, "w")
        self._out.write(self.head)
        self.rows = 0

    def _close(self) -> None:
        assert self._zip is not None
        self._out.write(self.close_tags)
        self._out.close()
        self._zip.close()
        self._zip = None
        self.count += 1
        self.owner._pieces.put(self._path)

    def feed(self, data: bytes) -> None:
        """Rows (or parts of rows) in document order; cuts before the row that starts a piece."""
        while data:
            if self._zip is None:
                self._open()
            n = data.count(self.row_tag)
            if n:
                self._last(data)
            if self.rows + n <= self.rows_per_piece:
                self._out.write(data)
                self.rows += n
                return
            pos = -1
            for _ in range(self.rows_per_piece - self.rows + 1):
                pos = data.find(self.row_tag, pos + 1)
            self._out.write(data[:pos])
            self._close()
            data = data[pos:]

    def _last(self, data: bytes) -> None:
        at = data.rfind(self.row_tag)
        found = _ROW_NUMBER.match(data, at + len(self.row_tag), at + 400)
        if found is None:
            # rows without their number (r="…"): calamine would count each piece from row 1
            raise Unnumbered
        self.last_row = int(found.group(1)) - 1

    def finish(self) -> None:
        if self._zip is not None:
            self._close()

    def abandon(self) -> None:
        """Close a piece left half-written by an error (it is never loaded)."""
        if self._zip is not None:
            self._out.close()
            self._zip.close()
            self._zip = None


AnySheet = Sheet | PiecewiseSheet


class Unnumbered(Exception):
    """The sheet's rows carry no row numbers, so it cannot be cut into pieces."""


def _is_worksheet(name: str) -> bool:
    return name.startswith("xl/worksheets/") and name.endswith(".xml")


@contextmanager
def open_book(path: Path | str) -> Iterator[Callable[[str], AnySheet]]:
    """Open a workbook; yields a function that opens one sheet by name: with python-calamine at
    once, or in pieces when its XML is larger than PIECEWISE_BYTES."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    with zipfile.ZipFile(path) as zf:
        parts = {n: (p, zf.getinfo(p).file_size) for n, p, _h in _sheet_targets(zf)}
    opened: list[AnySheet] = []
    with CalamineWorkbook.from_path(str(path)) as book, ThreadPoolExecutor(1) as pool:

        def open_sheet(name: str) -> AnySheet:
            part, size = parts.get(name, ("", 0))
            sheet: AnySheet | None = None
            if size > PIECEWISE_BYTES:
                with contextlib.suppress(Unnumbered):  # such a sheet is read whole
                    sheet = PiecewiseSheet(path, name, part)
            if sheet is None:
                # the formula scan inflates the sheet XML (zlib frees the GIL) while calamine
                # loads it
                sheet = Sheet(book, name, pool.submit(uncached_formulas, path, name))
            opened.append(sheet)
            return sheet

        try:
            yield open_sheet
        finally:
            for sheet in opened:
                sheet.close()


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
