"""Reading xlsx workbooks safely: file checks, a cheap peek at the first rows, and fast row streams.

The checks run before any parser sees the file: not a zip (415), a legacy or encrypted OLE2
file (415 / 422), a zip bomb (413 / 422), a damaged zip or part, a DTD (entity expansion, external
entities), cell references beyond Excel's limits or a used range far larger than the cells in it
(422). `peek` reads only the first rows of every sheet from the XML stream, so a request can
reject a file without headers in milliseconds; `iter_sheet_rows` is the bulk reader
(python-calamine by default, openpyxl read-only for comparison).

Reading memory is budgeted (`max_read_mb`): calamine allocates a sheet's whole used range (one
cell slot per position from the first to the last cell), so a workbook of a few KB with one cell
in column AAAAAA would take gigabytes. Every sheet read whole is scanned for its real extent first
and refused when its range would not fit; a large sheet read in pieces is checked piece by piece
(rows per piece shrink for wide sheets) before calamine loads the piece.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import queue
import re
import shutil
import struct
import tempfile
import threading
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from app.errors import DomainError, Invalid, TooLarge, UnsupportedMedia

NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
MAX_RATIO = 200
"""Largest compression ratio accepted for a big part; sheet XML compresses 5-30x."""
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")
MAX_COLUMNS = 16_384
"""Excel's last column, XFD."""
MAX_ROWS = 1_048_576
CELL_BYTES = 40
"""What calamine holds per position of a sheet's used range (a 32-byte cell value and its share
of the row vectors), measured: 3 rows out to column AAAAAA took 1.9 GB."""
DEFAULT_READ_MB = 384
"""Reading budget of one import job (ImportSettings.max_read_mb)."""
SCAN_AT_UPLOAD = 8 << 20
"""Sheets up to this much XML are scanned for their extent at upload (a few ms); larger ones are
scanned by the import job before it reads them."""
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    ET.ParseError,
    UnicodeError,
    NotImplementedError,
    RuntimeError,
    struct.error,
    ValueError,
    KeyError,
    IndexError,
)
"""What zipfile and ElementTree raise on a damaged file or part."""
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)
HEAD_BYTES = 65536
"""How much of a part is checked for a DTD (the prolog must end within it)."""


@contextmanager
def readable(what: str = "") -> Iterator[None]:
    """Turn the errors of a damaged zip, part or XML into a 422 that says what is wrong."""
    try:
        yield
    except DomainError:
        raise
    except _DAMAGE as exc:
        where = f"{what}: " if what else ""
        raise Invalid(
            f"工作簿已损坏或不是有效的 xlsx 文件({where}{type(exc).__name__}: {exc});"
            "请在 Excel 中打开后另存为 .xlsx 再上传",
            reason="damaged",
        ) from exc
    except Exception as exc:  # python-calamine's errors
        if type(exc).__module__.startswith("python_calamine") or "Calamine" in type(exc).__name__:
            where = f"{what}: " if what else ""
            raise Invalid(
                f"无法读取工作簿({where}{exc});请在 Excel 中打开后另存为 .xlsx 再上传",
                reason="damaged",
            ) from exc
        raise


def _no_dtd(data: bytes, part: str) -> None:
    """xlsx parts never carry a DTD; one means entity expansion or external entities.

    A DTD stands in the prolog, before the root element, and comments or processing instructions
    may precede it: a prolog that runs past the first HEAD_BYTES (where a DTD could hide from this
    check) is refused as well; no writer puts that much before the root."""
    head = data[:HEAD_BYTES]
    if _DTD.search(head):
        raise Invalid(
            f"部件 {part} 含有 DTD/实体声明(DOCTYPE/ENTITY),xlsx 文件不应包含;已拒绝",
            reason="dtd",
        )
    if len(data) < HEAD_BYTES:
        return
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while (found := _PROLOG_ITEM.match(head, pos)) is not None:
        pos = found.end()
    rest = head[pos:].lstrip()
    if not rest or rest.startswith((b"<!", b"<?")):
        raise Invalid(
            f"部件 {part} 的根元素之前有超过 {HEAD_BYTES // 1024} KB 的注释或处理指令"
            "(其后可能藏有 DTD/实体声明),xlsx 文件不应如此;已拒绝",
            reason="dtd",
        )


def read_part(zf: zipfile.ZipFile, part: str) -> bytes:
    """A part, inflated block by block and refused (zip_bomb) when it inflates to more than its
    headers declare.

    zipfile's own read() of a whole part inflated up to 2 GB in one call before cutting the result
    to the declared size, and never noticed the rest: a part of 3 MB of deflate declared as 0.5 MB
    (with the CRC of its first 0.5 MB) took the upload check 2.2 GB."""
    info = zf.getinfo(part)
    if info.compress_type != zipfile.ZIP_DEFLATED or not isinstance(zf.filename, str):
        blocks = []
        with zf.open(part) as fh:
            while block := fh.read(_BLOCK):
                blocks.append(block)
        return b"".join(blocks)
    with open(zf.filename, "rb") as raw:
        if not 0 <= info.header_offset < os.fstat(raw.fileno()).st_size:
            raise zipfile.BadZipFile(f"{part}: its header's offset lies outside the file")
        raw.seek(info.header_offset)
        local = raw.read(30)
        if len(local) < 30 or local[:4] != ZIP_MAGIC:
            raise zipfile.BadZipFile(f"bad local header of {part}")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        raw.seek(info.header_offset + 30 + name_len + extra_len)
        inflate = zlib.decompressobj(-15)
        out: list[bytes] = []
        size = crc = 0
        left = info.compress_size
        pending = b""
        while not inflate.eof:
            if not pending:
                if left <= 0:
                    break
                pending = raw.read(min(left, _BLOCK))
                if not pending:
                    break
                left -= len(pending)
            block = inflate.decompress(pending, _BLOCK)
            pending = inflate.unconsumed_tail
            size += len(block)
            if size > info.file_size:
                raise Invalid(
                    f"部件 {part} 解压后超过其声明的大小 {info.file_size:,} 字节(zip 炸弹?);已拒绝",
                    reason="zip_bomb",
                )
            crc = zlib.crc32(block, crc)
            out.append(block)
    if size != info.file_size or crc != info.CRC:
        raise zipfile.BadZipFile(f"{part}: size or CRC does not match its headers")
    return b"".join(out)


def _head(fh: Any) -> bytes:
    """The first bytes of an open part, without consuming them (a ZipExtFile's peek)."""
    return bytes(fh.peek(HEAD_BYTES)[:HEAD_BYTES])


def _xml(zf: zipfile.ZipFile, part: str) -> ET.Element:
    with readable(part):
        data = read_part(zf, part)
        _no_dtd(data, part)
        return ET.fromstring(data)


@dataclass
class SheetPeek:
    """The first rows of a sheet (raw values by absolute 0-based column) and its declared size."""

    name: str
    path: str
    rows: list[tuple[int, dict[int, Any]]] = field(default_factory=list)
    last_row: int | None = None
    hidden: bool = False


def check_workbook(path: Path, *, max_uncompressed_mb: int, max_read_mb: int = 0) -> None:
    """Refuse anything that is not a plain, reasonably sized, undamaged xlsx before parsing it;
    with `max_read_mb`, also every sheet of up to SCAN_AT_UPLOAD whose range would not fit."""
    with readable():
        _check_workbook(path, max_uncompressed_mb, max_read_mb)


def _check_workbook(path: Path, max_uncompressed_mb: int, max_read_mb: int) -> None:
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head:
        raise Invalid("上传的文件是空的(0 字节);请选择填好的 .xlsx 工作簿重新上传")
    if head == OLE2_MAGIC:
        with path.open("rb") as fh:
            start = fh.read(1 << 20)
        if b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00i\x00o\x00n\x00" in start:
            raise Invalid(
                "工作簿已加密(设有打开密码);请在 Excel 中取消密码后另存为 .xlsx 再上传",
                reason="encrypted",
            )
        raise UnsupportedMedia(
            "不支持旧版 .xls 格式(Excel 97-2003);请在 Excel 中另存为 .xlsx 再上传"
        )
    if not head.startswith(ZIP_MAGIC) or not zipfile.is_zipfile(path):
        raise UnsupportedMedia(
            "上传的文件不是 xlsx 工作簿;请上传 Excel 2007 及以后版本保存的 .xlsx 文件"
        )
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        if "xl/workbook.xml" not in names:
            raise UnsupportedMedia(
                "上传的压缩文件不是 xlsx 工作簿(缺少 xl/workbook.xml);请上传 .xlsx 文件"
            )
        total = sum(i.file_size for i in infos)
        if total > max_uncompressed_mb * 1024 * 1024:
            raise TooLarge(
                f"工作簿解压后达 {total // 2**20} MB,超过 {max_uncompressed_mb} MB 的上限;"
                "请删除多余的工作表或图片,或拆分成几个工作簿上传"
            )
        for i in infos:
            if i.file_size > 2**24 and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise Invalid(
                    f"部件 {i.filename} 的压缩比异常(疑似压缩炸弹 zip bomb),已拒绝;"
                    "请在 Excel 中打开后另存为 .xlsx 再上传",
                    reason="zip_bomb",
                )
        sheets = _sheet_targets(zf)
        for i in infos:
            # the small parts are read whole once: a damaged deflate stream or CRC shows here,
            # not halfway through the import
            if i.file_size <= SCAN_AT_UPLOAD and not _is_worksheet(i.filename):
                with readable(i.filename):
                    data = read_part(zf, i.filename)
                if i.filename.endswith((".xml", ".rels")):
                    _no_dtd(data, i.filename)
        if max_read_mb:
            strings = shared_strings_bytes(zf)
            if strings > (max_read_mb << 20) // 2:
                raise Invalid(
                    f"共享字符串表 xl/sharedStrings.xml 解压后 {strings >> 20:,} MB,超过读取上限"
                    f" {max_read_mb} MB 的一半(读取每张工作表时都要整个载入);"
                    "请拆分工作簿后重新上传",
                    reason="strings_too_large",
                    need_mb=strings >> 20,
                    limit_mb=max_read_mb,
                )
            # the strings are scanned when a sheet is: check_readable has calamine read the small
            # sheets (and the whole table) at upload
            small = [(n, p) for n, p, _h in sheets if zf.getinfo(p).file_size <= SCAN_AT_UPLOAD]
            long = long_strings(zf) if small and strings else {}
            for name, part in small:
                shape = scan_sheet(zf, part, long)
                shape.xml_bytes += strings
                fits(name, shape, max_read_mb)


def _shared_string_parts(zf: zipfile.ZipFile) -> list[str]:
    """The shared-string parts: xl/sharedStrings.xml and the one the workbook's rels name."""
    names = set(zf.namelist())
    parts = {"xl/sharedStrings.xml"}
    if "xl/_rels/workbook.xml.rels" in names:
        for rel in _xml(zf, "xl/_rels/workbook.xml.rels"):
            if rel.get("Type", "").endswith("/sharedStrings"):
                target = rel.get("Target", "")
                parts.add(
                    posixpath.normpath(
                        target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                    )
                )
    return sorted(p for p in parts if p in names)


def shared_strings_bytes(zf: zipfile.ZipFile) -> int:
    """The declared size of the shared strings, which calamine loads whole with every sheet (so
    they count towards the reading budget: a 1.5 GB table of honest size and a compression ratio
    of 115 took calamine 1.5 GB before a single row)."""
    return sum(zf.getinfo(p).file_size for p in _shared_string_parts(zf))


LONG_STRING = 4096
"""Shared strings of more XML bytes than this are noted (LongStrings)."""
LongStrings = dict[int, int]
"""Index → XML bytes of each long shared string. calamine copies a shared string into every cell
that refers to it: one string of a million characters in 300 cells took 900 MB from a 2 MB file,
so each reference to a long string counts its size towards the reading budget."""
_EMPTY_SI = re.compile(rb"<(?:[\w.-]+:)?si\s*/>")
_SST_PREFIX = re.compile(rb"<((?:[A-Za-z_][\w.-]*:)?)sst[\s>]")


def long_strings(zf: zipfile.ZipFile) -> LongStrings:
    """The long shared strings (streamed: only their sizes are kept)."""
    out: LongStrings = {}
    for part in _shared_string_parts(zf):
        with readable(part), zf.open(part) as fh:
            head = _head(fh)
            _no_dtd(head, part)
            found = _SST_PREFIX.search(head)
            close = b"</" + (found.group(1) if found else b"") + b"si>"
            index = pending = 0
            tail = b""
            while block := fh.read(_BLOCK):
                data = tail + block
                pieces = data.split(close)
                last = pieces.pop()
                for piece in pieces:
                    size = pending + len(piece)
                    pending = 0
                    if b"/>" in piece:
                        index += len(_EMPTY_SI.findall(piece))
                    if size > LONG_STRING:
                        out[index] = max(out.get(index, 0), size)
                    index += 1
                tail = last[-len(close) :]
                pending += len(last) - len(tail)
    return out


def check_readable(path: Path) -> None:
    """Read a small workbook once with the job's own reader, so that what only calamine refuses
    (an odd encoding, a malformed reference) is a 422 at upload, not a failed batch."""
    from python_calamine import CalamineWorkbook

    with readable(), zipfile.ZipFile(path) as zf:
        sheets = _sheet_targets(zf)
        if sum(zf.getinfo(part).file_size for _n, part, _h in sheets) > SCAN_AT_UPLOAD:
            return
    with readable(), CalamineWorkbook.from_path(str(path)) as book:
        for name, _part, _hidden in sheets:
            with readable(f"工作表 {name}"):
                book.get_sheet_by_name(name)


def _sheet_targets(zf: zipfile.ZipFile) -> list[tuple[str, str, bool]]:
    """(name, part path, hidden) of every worksheet in workbook order (worksheet parts only)."""
    names = set(zf.namelist())
    if "xl/_rels/workbook.xml.rels" not in names:
        raise Invalid(
            "工作簿已损坏:缺少 xl/_rels/workbook.xml.rels(工作表清单);"
            "请在 Excel 中打开后另存为 .xlsx 再上传",
            reason="damaged",
        )
    wb = _xml(zf, "xl/workbook.xml")
    rels = _xml(zf, "xl/_rels/workbook.xml.rels")
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = []
    for s in wb.iter(f"{NS}sheet"):
        target = targets.get(s.get(f"{REL_NS}id"), "")
        part = posixpath.normpath(target.lstrip("/") if target.startswith("/") else f"xl/{target}")
        if part in names and _is_worksheet(part):
            out.append((s.get("name", ""), part, s.get("state", "visible") != "visible"))
    return out


@dataclass
class Shape:
    """The real extent of a sheet's cells (0-based), whatever its <dimension> claims."""

    cells: int = 0
    first_row: int = MAX_ROWS
    last_row: int = -1
    first_col: int = MAX_COLUMNS
    last_col: int = -1
    far_row_ref: str = ""
    far_col_ref: str = ""
    xml_bytes: int = 0
    strings: int = 0
    """Bytes of the long shared strings its cells refer to (LongStrings), each time referred."""

    @property
    def area(self) -> int:
        if self.last_row < 0:
            return 0
        return (self.last_row - self.first_row + 1) * (self.last_col - self.first_col + 1)

    def range_text(self) -> str:
        if self.last_row < 0:
            return ""
        return (
            f"{_col_letters(self.first_col)}{self.first_row + 1}:"
            f"{_col_letters(self.last_col)}{self.last_row + 1}"
        )

    def add(self, refs: list[tuple[bytes, bytes]]) -> None:
        """Cell references (letters, digits) as found in the XML."""
        if not refs:
            return
        self.cells += len(refs)
        letters = {c for c, _ in refs}
        rows = {r for _, r in refs if r}
        if letters:
            high = max(letters, key=lambda c: (len(c), c.upper()))
            low = min(letters, key=lambda c: (len(c), c.upper()))
            hi, lo = _col_index(high.upper().decode()), _col_index(low.upper().decode())
            if hi > self.last_col:
                self.last_col = hi
                self.far_col_ref = next((c + r).decode() for c, r in refs if c == high)
            self.first_col = min(self.first_col, lo)
        if rows:
            high_row = max(rows, key=lambda r: (len(r), r))
            hi_r, lo_r = int(high_row) - 1, int(min(rows, key=lambda r: (len(r), r))) - 1
            if hi_r > self.last_row:
                self.last_row = hi_r
                self.far_row_ref = next((c + r).decode() for c, r in refs if r == high_row)
            self.first_row = min(self.first_row, lo_r)


_ANY_REF = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?c\s[^>]*?\br="([A-Za-z]*)(\d*)"')


_SHARED_CELL = re.compile(rb'<(?:[\w.-]+:)?c\s[^>]*?\bt="s"[^>]*>\s*<(?:[\w.-]+:)?v>\s*(\d+)\s*<')


def long_references(data: bytes, long: LongStrings, end: int | None = None) -> int:
    """Bytes of the long shared strings the cells in `data` refer to."""
    if not long:
        return 0
    cells = _SHARED_CELL.findall(data, 0, len(data) if end is None else end)
    return sum(long.get(int(i), 0) for i in cells)


def scan_sheet(zf: zipfile.ZipFile, part: str, long: LongStrings | None = None) -> Shape:
    """The real extent of a sheet: every cell reference in its XML, streamed in blocks (and the
    long shared strings its cells refer to)."""
    long = long or {}
    shape = Shape(xml_bytes=zf.getinfo(part).file_size)
    with readable(part), zf.open(part) as fh:
        head = fh.read(HEAD_BYTES)
        _no_dtd(head, part)
        tail = head
        while True:
            block = fh.read(_BLOCK)
            data = tail + block
            cut = data.rfind(b"<") if block else len(data)
            shape.add(_ANY_REF.findall(data, 0, cut))
            shape.strings += long_references(data, long, cut)
            tail = data[cut:]
            if not block:
                break
    return shape


def read_bytes(area: int, xml_bytes: int) -> int:
    """What calamine may need to hold a range of `area` positions read from `xml_bytes` of XML
    (and shared strings): the positions, and at most the XML's size in text. An upper bound:
    100,000 rows of 16 columns (81 MB of XML with inline strings) took 86 MB, of 145 MB
    estimated (26 columns assumed)."""
    return area * CELL_BYTES + xml_bytes


def fits(sheet: str, shape: Shape, max_read_mb: int | None) -> None:
    """Refuse a sheet with references beyond Excel's limits or (unless `max_read_mb` is None) a
    range too large to read."""
    if shape.last_col >= MAX_COLUMNS:
        raise Invalid(
            f"工作表 {sheet} 的单元格 {shape.far_col_ref} 超出 Excel 的最大列 XFD;"
            "请删除该单元格后重新上传",
            reason="beyond_limits",
            sheet=sheet,
            cell=shape.far_col_ref,
        )
    if shape.last_row >= MAX_ROWS:
        raise Invalid(
            f"工作表 {sheet} 的单元格 {shape.far_row_ref} 超出 Excel 的最大行 {MAX_ROWS};"
            "请删除该单元格后重新上传",
            reason="beyond_limits",
            sheet=sheet,
            cell=shape.far_row_ref,
        )
    if max_read_mb is None:
        return
    if shape.strings > (max_read_mb << 20) // 2:
        raise Invalid(
            f"工作表 {sheet} 的单元格引用了超长的共享字符串,读取时每个单元格各存一份,共需约"
            f" {shape.strings >> 20:,} MB(上限 {max_read_mb} MB);"
            "Excel 的单元格最多 32,767 个字符,请检查文件来源后重新保存上传",
            reason="strings_too_large",
            sheet=sheet,
            need_mb=shape.strings >> 20,
            limit_mb=max_read_mb,
        )
    need = read_bytes(shape.area, shape.xml_bytes + shape.strings)
    if need > max_read_mb << 20:
        far = shape.far_col_ref or shape.far_row_ref
        raise Invalid(
            f"工作表 {sheet} 的已用区域 {shape.range_text()} 共 {shape.area:,} 个位置,"
            f"但只有 {shape.cells:,} 个单元格;读取需约 {need >> 20:,} MB(上限 {max_read_mb} MB)。"
            f"请删除表格区域外的单元格(如 {shape.far_col_ref or far}、{shape.far_row_ref or far})"
            "后重新上传",
            reason="range_too_large",
            sheet=sheet,
            range=shape.range_text(),
            cells=shape.cells,
            need_mb=need >> 20,
            limit_mb=max_read_mb,
        )


def _col_letters(index: int) -> str:
    out = ""
    index += 1
    while index > 0:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def _col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def peek(path: Path, nrows: int = 30) -> list[SheetPeek]:
    """The first `nrows` non-empty rows of each sheet, without reading the rest of the file."""
    with readable():
        return _peek(path, nrows)


def _peek(path: Path, nrows: int) -> list[SheetPeek]:
    with zipfile.ZipFile(path) as zf:
        sheets = [SheetPeek(n, p, hidden=h) for n, p, h in _sheet_targets(zf)]
        wanted: set[int] = set()
        for sheet in sheets:
            with readable(sheet.path):
                _peek_sheet(zf, sheet, nrows, wanted)
        with readable("xl/sharedStrings.xml"):
            strings = _shared_strings(zf, max(wanted) if wanted else -1)
    for sheet in sheets:
        for _, cells in sheet.rows:
            for col, value in cells.items():
                if isinstance(value, SharedRef):
                    text = strings.get(value.index)
                    if text is None:
                        raise Invalid(
                            f"工作表 {sheet.name} 的单元格引用了不存在的共享字符串(第 "
                            f"{value.index} 项);请在 Excel 中打开后另存为 .xlsx 再上传",
                            reason="damaged",
                            sheet=sheet.name,
                        )
                    cells[col] = text
    return sheets


@dataclass(frozen=True)
class SharedRef:
    index: int


def _peek_sheet(zf: zipfile.ZipFile, sheet: SheetPeek, nrows: int, wanted: set[int]) -> None:
    with zf.open(sheet.path) as fh:
        _no_dtd(_head(fh), sheet.path)
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
        _no_dtd(_head(fh), "xl/sharedStrings.xml")
        index = 0
        for _event, elem in ET.iterparse(fh, events=("end",)):
            if elem.tag != f"{NS}si":
                continue
            parts = [t.text or "" for t in elem.findall(f"{NS}t")]
            parts += [t.text or "" for t in elem.findall(f"{NS}r/{NS}t")]
            # only the first rows' headers and values are looked at: a text is cut to Excel's
            # limit of a cell (a hostile table may hold strings of megabytes)
            out[index] = "".join(parts)[:32_767]
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
        with readable(f"工作表 {name}"):
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
"""Rows per piece of a large sheet (PiecewiseSheet), fewer for a sheet wider than 26 columns."""
PIECES_HELD = 3
"""Pieces in memory at once: the one being parsed, one loaded ahead, one loading."""
_ODD_REF = re.compile(rb' r="([A-Za-z](?:[A-Za-z]+\d*|\d{7,}))"')
PIECEWISE_BYTES = 64 << 20
"""Sheet XML (uncompressed) above which a sheet is read in pieces."""
_BLOCK = 1 << 22
HEAD_LIMIT = 64 << 20
"""Most XML a worksheet may have before its sheetData (column and view settings)."""
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

    def __init__(
        self,
        path: Path,
        name: str,
        part: str,
        rows_per_piece: int = PIECE_ROWS,
        max_read_mb: int = DEFAULT_READ_MB,
        reserved: int = 0,
        long: LongStrings | None = None,
    ) -> None:
        started = time.perf_counter()
        self.name = name
        self.max_read_mb = max_read_mb
        self.reserved = reserved
        self.long = long or {}
        """Bytes of the budget the shared strings take (loaded with every piece)."""
        self._dir = Path(tempfile.mkdtemp(prefix="rr-sheet-", dir=path.parent))
        self._stop = threading.Event()
        self._pieces: queue.Queue[Path | None] = queue.Queue()
        self._loaded: queue.Queue[Any] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self.uncached: Uncached = {}
        self._merges: list[tuple[bytes, bytes, bytes, bytes]] = []
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
            with readable(f"工作表 {name}"):
                raise self._error
        self.merged = [
            ((int(r0) - 1, _col_index(c0.decode())), (int(r1) - 1, _col_index(c1.decode())))
            for c0, r0, c1, r1 in self._merges
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
                i.filename: read_part(zf, i.filename)
                for i in zf.infolist()
                if i.filename != part and not _is_worksheet(i.filename)
            }
            with zf.open(part) as fh:
                buf = b""
                while (found := _SHEET_DATA.search(buf)) is None:
                    block = fh.read(_BLOCK)
                    if not block or len(buf) > HEAD_LIMIT:
                        raise Invalid(
                            f"工作表 {self.name} 已损坏(缺少 sheetData);"
                            "请在 Excel 中打开后另存为 .xlsx 再上传",
                            sheet=self.name,
                        )
                    buf += block
                prefix, empty = found.group(1), found.group(2)
                head, buf = buf[: found.end()], buf[found.end() :]
                if empty:
                    self._read_tail(fh, buf)
                    return
                _no_dtd(head, part)
                cutter = _Cutter(self, common, part, head, prefix, rows_per_piece)
                try:
                    self._feed(fh, buf, cutter)
                finally:
                    cutter.abandon()
                self._last_row = cutter.last_row

    def _read_tail(self, fh: Any, data: bytes) -> None:
        """The merged ranges listed after the rows, read block by block (what follows the rows
        may be as large as the part)."""
        while True:
            cut = data.rfind(b"<")
            block = fh.read(_BLOCK)
            if not block:
                self._merges += _MERGE_REF.findall(data)
                return
            if cut < 0 or len(data) - cut > 4096:
                cut = len(data)
            self._merges += _MERGE_REF.findall(data, 0, cut)
            data = data[cut:] + block

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
                self._read_tail(fh, data[end:])
                break
            if not block:
                raise Invalid(
                    f"工作表 {self.name} 不完整(文件被截断);请重新保存后再上传",
                    sheet=self.name,
                )
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
            with readable(f"工作表 {self.name}"):
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
        self.rows_per_piece = self.base_rows = rows_per_piece
        self.count = 0
        self.rows = 0
        self.last_row = -1
        self.piece_lo = self.piece_hi = -1
        """0-based numbers of the first and last rows written to the open piece."""
        self.piece_bytes = 0
        self.piece_strings = 0
        self.width = 26
        """Columns a piece may span: 26 until a reference of two or more letters shows up."""
        self.odd = Shape()
        """The cells with such references, or with rows of seven or more digits."""
        self.budget = max(1 << 20, (owner.max_read_mb << 20) - owner.reserved) // PIECES_HELD
        self.rows_per_piece = self._rows_fitting(self.width)
        self.byte_cap = self.budget // 3
        """XML bytes after which a piece is closed at the next row (long texts make a row's XML,
        and calamine's strings, larger than its cells' slots)."""
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
        self.piece_lo = self.piece_hi = -1
        self.piece_bytes = 0
        self.piece_strings = 0

    def _close(self) -> None:
        assert self._zip is not None
        self._check()
        self._out.write(self.close_tags)
        self._out.close()
        self._zip.close()
        self._zip = None
        self.count += 1
        self.owner._pieces.put(self._path)

    def _widen(self, data: bytes) -> None:
        """Note references of two or more letters (wide sheets, far columns) and of rows past
        999,999; fewer rows go into each piece of a wide sheet."""
        odd = _ODD_REF.findall(data)
        if not odd:
            return
        self.odd.add(
            [(r[: len(r.rstrip(b"0123456789"))], r[len(r.rstrip(b"0123456789")) :]) for r in odd]
        )
        fits(self.owner.name, self.odd, None)  # the odd cells alone: Excel's limits
        width = max(self.width, self.odd.last_col + 1)
        if width != self.width:
            self.width = width
            self.rows_per_piece = self._rows_fitting(width)

    def _rows_fitting(self, width: int) -> int:
        """Rows per piece of a sheet `width` columns wide: their slots in half the budget (the
        rest for their texts and for rows left blank between them). 100,000 rows of the first 26
        columns took 104 MB of a 128 MB piece budget, and their XML the rest: a plain 200,000-row
        survey was refused."""
        return max(1, min(self.base_rows, self.budget // (width * CELL_BYTES) // 2))

    def _check(self) -> None:
        """Refuse a piece whose range calamine would allocate beyond the budget."""
        lo = max(self.piece_lo, 0)
        hi = max(self.piece_hi, lo)
        span = Shape(
            cells=self.rows,
            first_row=lo,
            last_row=hi,
            first_col=0,
            last_col=self.width - 1,
            far_row_ref=f"{_col_letters(self.width - 1)}{hi + 1}",
            far_col_ref=self.odd.far_col_ref,
            xml_bytes=self.piece_bytes,
            strings=self.piece_strings,
        )
        if read_bytes(span.area, span.xml_bytes + span.strings) > self.budget:
            fits(self.owner.name, span, self.budget >> 20)

    def _bounds(self, seg: bytes) -> None:
        """Note the first and last row numbers of a segment written to the open piece, and the
        long shared strings it refers to."""
        self.piece_strings += long_references(seg, self.owner.long)
        at = seg.find(self.row_tag)
        if at < 0:
            return
        if self.piece_lo < 0:
            self.piece_lo = self._number(seg, at)
        self.piece_hi = self._number(seg, seg.rfind(self.row_tag))

    def _number(self, data: bytes, at: int) -> int:
        found = _ROW_NUMBER.match(data, at + len(self.row_tag), at + 400)
        if found is None:
            raise Unnumbered
        return int(found.group(1)) - 1

    def feed(self, data: bytes) -> None:
        """Rows (or parts of rows) in document order; cuts before the row that starts a piece."""
        self._widen(data)
        while data:
            if self._zip is None:
                self._open()
            n = data.count(self.row_tag)
            if n:
                self._last(data)
            if self.rows and n and self.piece_bytes >= self.byte_cap:
                pos = data.find(self.row_tag)  # the piece is full of text: close it here
                self._out.write(data[:pos])
                self._bounds(data[:pos])
                self.piece_bytes += pos
                self._close()
                data = data[pos:]
                continue
            # rows that may still start in this piece (none once a wider sheet shrank the count)
            room = max(0, self.rows_per_piece - self.rows)
            if n <= room:
                self._out.write(data)
                self._bounds(data)
                self.rows += n
                self.piece_bytes += len(data)
                return
            pos = -1
            for _ in range(room + 1):
                pos = data.find(self.row_tag, pos + 1)
            self._out.write(data[:pos])
            self._bounds(data[:pos])
            self.piece_bytes += pos
            self.rows += room
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
def open_book(
    path: Path | str, max_read_mb: int = DEFAULT_READ_MB
) -> Iterator[Callable[[str], AnySheet]]:
    """Open a workbook; yields a function that opens one sheet by name: with python-calamine at
    once, or in pieces when its XML is larger than PIECEWISE_BYTES; either way within
    `max_read_mb` (a sheet that would need more is refused with a 422 naming its far cells)."""
    from python_calamine import CalamineWorkbook

    path = Path(path)
    with readable(), zipfile.ZipFile(path) as zf:
        parts = {n: (p, zf.getinfo(p).file_size) for n, p, _h in _sheet_targets(zf)}
        strings = shared_strings_bytes(zf)
        long = long_strings(zf) if strings else {}
    opened: list[AnySheet] = []
    with readable(), CalamineWorkbook.from_path(str(path)) as book, ThreadPoolExecutor(1) as pool:

        def open_sheet(name: str) -> AnySheet:
            part, size = parts.get(name, ("", 0))
            sheet: AnySheet | None = None
            if size > PIECEWISE_BYTES:
                with contextlib.suppress(Unnumbered):  # such a sheet is read whole
                    sheet = PiecewiseSheet(
                        path, name, part, max_read_mb=max_read_mb, reserved=strings, long=long
                    )
            if sheet is None:
                with zipfile.ZipFile(path) as zf:
                    shape = scan_sheet(zf, part, long)
                shape.xml_bytes += strings
                fits(name, shape, max_read_mb)
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
