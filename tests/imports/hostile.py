"""A generated corpus of hostile and broken survey workbooks (no binaries are kept in the tree).

Every case is built from a small valid elevator survey written part by part, then damaged in one
way: cells far beyond the used range or beyond Excel's limits, broken zips, missing or non-XML
parts, entity expansion, external entities, dangling shared strings, odd encodings. `corpus()`
yields (name, bytes); `flipped(seed, n)` adds bit-flipped copies. The tests upload each and
require a 4xx problem+json or a batch that ends with a clear reason, never a 5xx and never an
"internal error", and nothing written to the ledger.
"""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

HEADERS = ["设备编号", "行政区划代码", "设备名称", "投用日期"]
ROWS = [
    ["H-1", "410102", "一号梯", "2005-03-01"],
    ["H-2", "410102", "二号梯", "2010-06-01"],
]

Parts = dict[str, bytes]


def col_letters(index: int) -> str:
    """0-based column index → letters (0 → A)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def cell(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def sheet_xml(rows: list[list[str]] | None = None, extra: str = "", dimension: str = "") -> bytes:
    rows = [HEADERS, *ROWS] if rows is None else rows
    body = "".join(
        f'<row r="{r + 1}">'
        + "".join(cell(f"{col_letters(c)}{r + 1}", v) for c, v in enumerate(row))
        + "</row>"
        for r, row in enumerate(rows)
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{dim}<sheetData>{body}{extra}</sheetData>'
        f"</worksheet>"
    ).encode()


def base_parts(sheet: bytes | None = None, title: str = "电梯") -> Parts:
    return {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?>'
            b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            b'<Default Extension="rels" '
            b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            b'<Default Extension="xml" ContentType="application/xml"/>'
            b'<Override PartName="/xl/workbook.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            b'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            b"</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
            f'<sheets><sheet name="{title}" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet if sheet is not None else sheet_xml(),
    }


def pack(parts: Parts) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _with(**changes: bytes | None) -> bytes:
    parts = base_parts()
    for key, value in changes.items():
        name = key.replace("__", "/").replace("_DOT_", ".")
        if value is None:
            parts.pop(name, None)
        else:
            parts[name] = value
    return pack(parts)


def _sheet(xml: bytes) -> bytes:
    return pack(base_parts(xml))


def _far(ref: str, rows: int = 1) -> bytes:
    """The survey with one more cell at `ref` (e.g. AAAAAA1), repeated on `rows` extra rows."""
    letters = ref.rstrip("0123456789")
    number = int(ref[len(letters) :])
    extra = "".join(
        f'<row r="{number + i}">{cell(f"{letters}{number + i}", "x")}</row>' for i in range(rows)
    )
    return _sheet(sheet_xml(extra=extra))


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    + f']><worksheet xmlns="{MAIN}"><sheetData><row r="1">'
    '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>'
).encode()

XXE = (
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f'<worksheet xmlns="{MAIN}"><sheetData><row r="1">'
    '<c r="A1" t="inlineStr"><is><t>&xxe;</t></is></c></row></sheetData></worksheet>'
).encode()


def _shared(index: int) -> bytes:
    """Headers as shared strings, one data cell pointing at string `index`."""
    strings = [*HEADERS, "S-1", "410102"]
    sst = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(strings)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        + "</sst>"
    ).encode()
    head = "".join(f'<c r="{col_letters(i)}1" t="s"><v>{i}</v></c>' for i in range(len(HEADERS)))
    data = (
        f'<c r="A2" t="s"><v>{len(HEADERS)}</v></c><c r="B2" t="s"><v>{len(HEADERS) + 1}</v></c>'
        f'<c r="C2" t="s"><v>{index}</v></c>'
    )
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}"><sheetData>'
        f'<row r="1">{head}</row><row r="2">{data}</row></sheetData></worksheet>'
    ).encode()
    parts = base_parts(xml)
    parts["xl/sharedStrings.xml"] = sst
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    return pack(parts)


def _truncated() -> bytes:
    data = pack(base_parts())
    return data[: len(data) * 2 // 3]


def _utf16() -> bytes:
    text = sheet_xml().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return _sheet(text.encode("utf-16"))


def _numbers_only() -> bytes:
    """Headers without a 设备编号 column: the batch must say which column is missing."""
    rows = [["行政区划代码", "设备名称"], ["410102", "一号梯"]]
    return _sheet(sheet_xml(rows))


def _rel_elsewhere(target: str) -> bytes:
    rels = base_parts()["xl/_rels/workbook.xml.rels"].replace(
        b"worksheets/sheet1.xml", target.encode()
    )
    return _with(xl___rels__workbook_DOT_xml_DOT_rels=rels)


CASES: dict[str, Callable[[], bytes]] = {
    "valid": lambda: pack(base_parts()),
    "column_beyond_xfd": lambda: _far("AAAAAA1"),
    "column_beyond_xfd_6_rows": lambda: _far("AAAAAA10", rows=6),
    "column_at_xfd_bottom": lambda: _far("XFD1048576"),
    "row_beyond_limit": lambda: _far("A1048577"),
    "stray_cell_far_below": lambda: _far("Z1048576"),
    "stray_cells_far_right": lambda: _far("XFD4", rows=3),
    "dimension_lies": lambda: _sheet(sheet_xml(dimension="A1:XFD1048576")),
    "no_workbook_rels": lambda: _with(xl___rels__workbook_DOT_xml_DOT_rels=None),
    "no_sheet_part": lambda: _with(xl__worksheets__sheet1_DOT_xml=None),
    "sheet_not_xml": lambda: _with(xl__worksheets__sheet1_DOT_xml=b"\x00\x01 not xml at all"),
    "workbook_not_xml": lambda: _with(xl__workbook_DOT_xml=b"<workbook><sheets>"),
    "rels_not_xml": lambda: _with(xl___rels__workbook_DOT_xml_DOT_rels=b"PK\x03\x04<<"),
    "rel_outside_package": lambda: _rel_elsewhere("../../../../etc/passwd"),
    "rel_absolute": lambda: _rel_elsewhere("/xl/worksheets/sheet1.xml"),
    "rel_to_workbook_itself": lambda: _rel_elsewhere("workbook.xml"),
    "billion_laughs": lambda: _sheet(LAUGHS),
    "billion_laughs_in_workbook": lambda: _with(
        xl__workbook_DOT_xml=LAUGHS.replace(b"worksheet", b"workbook")
    ),
    "external_entity": lambda: _sheet(XXE),
    "shared_string_out_of_range": lambda: _shared(99_999),
    "shared_string_negative": lambda: _shared(-1),
    "shared_strings_missing": lambda: _shared(2).replace(
        b"sharedStrings.xml", b"sharedStrings.xmX"
    ),
    "utf16_sheet": _utf16,
    "no_code_column": _numbers_only,
    "truncated_zip": _truncated,
    "rows_without_numbers": lambda: _sheet(sheet_xml().replace(b' r="', b' q="')),
    "rows_out_of_order": lambda: _sheet(
        sheet_xml().replace(b'<row r="2">', b'<row r="9">').replace(b'"A2"', b'"A9"')
    ),
    "cell_ref_garbage": lambda: _sheet(sheet_xml().replace(b'r="C2"', b'r="C-2"')),
    "cell_ref_lowercase": lambda: _sheet(sheet_xml().replace(b'r="C2"', b'r="c2"')),
    "number_not_a_number": lambda: _sheet(
        sheet_xml(extra='<row r="4"><c r="A4"><v>H-9</v></c><c r="B4"><v>1e999999</v></c></row>')
    ),
    "deep_nesting": lambda: _sheet(
        sheet_xml(extra='<row r="5">' + "<x>" * 50_000 + "</x>" * 50_000 + "</row>")
    ),
}


def corpus() -> Iterator[tuple[str, bytes]]:
    for name, make in CASES.items():
        yield name, make()


def flipped(seed: int, n: int) -> Iterator[tuple[str, bytes]]:
    """`n` copies of the valid survey with a few random bytes changed (deflate streams, headers,
    central directory alike)."""
    rng = random.Random(seed)
    original = pack(base_parts())
    for i in range(n):
        data = bytearray(original)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(data))
            data[at] ^= 1 << rng.randrange(8)
        yield f"flipped_{seed}_{i}", bytes(data)
