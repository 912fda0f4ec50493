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
import struct
import zipfile
import zlib
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
    "column_beyond_xfd_3_rows": lambda: _far("AAAAAA10", rows=3),
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


# --- realistic sizes ---------------------------------------------------------------------------
# The cases above are a two-row survey. Those below take a size, so that the tests can run them
# small and bench/bench_hostile.py at the sizes the issue names (`SIZED`, `sized(scale)`).

WIDE_HEADERS = ["设备编号", "行政区划代码", "设备名称", "地址", "产权单位", "使用单位", "投用日期"]


def survey_rows(n: int, start: int = 1) -> list[list[str]]:
    """`n` plausible elevator rows (unique codes from `start`)."""
    return [
        [
            f"E-{start + i:07d}",
            ("410102", "410103", "410105")[i % 3],
            f"{i % 9 + 1}号梯",
            f"建设路{i % 300 + 1}号",
            "某物业公司",
            "某物业公司",
            f"{2000 + i % 24}-0{i % 9 + 1}-01",
        ]
        for i in range(n)
    ]


def survey_xml(n: int, extra: str = "", dimension: str = "") -> bytes:
    return sheet_xml([WIDE_HEADERS, *survey_rows(n)], extra=extra, dimension=dimension)


def far_in_survey(n: int, column: str, rows: int) -> bytes:
    """A survey of `n` rows with one cell in `column` on `rows` of them (the issue's AAAAAA case:
    three such rows took calamine 1.9 GB before the range check)."""
    extra = "".join(
        f'<row r="{n + 2 + i}">{cell(f"A{n + 2 + i}", f"X-{i}")}'
        f"{cell(f'{column}{n + 2 + i}', 'x')}</row>"
        for i in range(rows)
    )
    return _sheet(survey_xml(n, extra=extra))


def near_budget(budget_mb: int, fill: float = 0.9) -> bytes:
    """A legitimate survey whose used range needs about `fill` of a `budget_mb` read budget: the
    data rows of a wide template whose last column (备注, far right) is filled on every row, so
    calamine holds every blank position between (CELL_BYTES each) and the sheet is read whole."""
    width = 200
    rows = int(budget_mb * fill * (1 << 20) / (width * 40 + 120))
    remark = col_letters(width - 1)
    head = [*WIDE_HEADERS, *[""] * (width - len(WIDE_HEADERS) - 1), "备注"]
    body = [f'<row r="1">{_cells(1, head)}</row>']
    for i, row in enumerate(survey_rows(rows)):
        r = i + 2
        body.append(f'<row r="{r}">{_cells(r, row)}{cell(f"{remark}{r}", "无")}</row>')
    return _sheet(_worksheet("".join(body)))


def _cells(r: int, values: list[str]) -> str:
    return "".join(cell(f"{col_letters(c)}{r}", v) for c, v in enumerate(values) if v)


def _worksheet(rows: str, dimension: str = "") -> bytes:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="{MAIN}" xmlns:r="{RELS}">{dim}<sheetData>{rows}</sheetData>'
        f"</worksheet>"
    ).encode()


def many_sheets(count: int, rows: int = 3) -> bytes:
    """`count` elevator sheets of `rows` rows each (districts sending one sheet per street)."""
    parts = base_parts()
    sheets, rels, types = [], [], []
    for k in range(count):
        part = f"worksheets/sheet{k + 1}.xml"
        data = survey_rows(rows, start=k * rows + 1)
        parts[f"xl/{part}"] = sheet_xml([WIDE_HEADERS, *data])
        sheets.append(f'<sheet name="电梯{k + 1}" sheetId="{k + 1}" r:id="rId{k + 1}"/>')
        rels.append(
            f'<Relationship Id="rId{k + 1}" Type="http://schemas.openxmlformats.org/'
            f'officeDocument/2006/relationships/worksheet" Target="{part}"/>'
        )
        types.append(
            f'<Override PartName="/xl/{part}" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        )
    parts["xl/workbook.xml"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" xmlns:r="{RELS}">'
        f"<sheets>{''.join(sheets)}</sheets></workbook>"
    ).encode()
    parts["xl/_rels/workbook.xml.rels"] = (
        f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
        f"{''.join(rels)}</Relationships>"
    ).encode()
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", "".join(types[1:]).encode() + b"</Types>"
    )
    return pack(parts)


def long_shared_strings(count: int, chars: int, seed: int = 5) -> bytes:
    """A survey whose 地址 cells are `count` shared strings of `chars` random CJK characters
    each (they compress about as well as real text, so no ratio check refuses them)."""
    long = [_cjk_text(random.Random(seed + i), chars) for i in range(count)]
    first = len(WIDE_HEADERS)
    return _address_survey([*WIDE_HEADERS, *long], [first + i for i in range(count)])


def _cjk_text(rng: random.Random, chars: int) -> str:
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    return "".join(rng.choices(alphabet, k=chars))


def _address_survey(strings: list[str], refs: list[int]) -> bytes:
    """A survey with a shared-string table of `strings` (the headers first), whose row i's 地址
    cell refers to string refs[i]."""
    sst = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(refs)}" '
        f'uniqueCount="{len(strings)}">'
        + "".join(f"<si><t>{escape(s)}</t></si>" for s in strings)
        + "</sst>"
    ).encode()
    head = "".join(
        f'<c r="{col_letters(i)}1" t="s"><v>{i}</v></c>' for i, _ in enumerate(WIDE_HEADERS)
    )
    body = [f'<row r="1">{head}</row>']
    for i, row in enumerate(survey_rows(len(refs))):
        r = i + 2
        cells = [cell(f"{col_letters(c)}{r}", v) for c, v in enumerate(row)]
        cells[3] = f'<c r="D{r}" t="s"><v>{refs[i]}</v></c>'
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    parts = base_parts(_worksheet("".join(body)))
    parts["xl/sharedStrings.xml"] = sst
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        b'<Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
    )
    return pack(parts)


def dtd_after_padding(part: str, padding: int) -> bytes:
    """A billion-laughs DTD after `padding` bytes of comment in the prolog (valid XML: comments
    may precede the DOCTYPE), past where a check of the first bytes looks."""
    parts = base_parts()
    original = parts[part]
    decl_end = original.index(b"?>") + 2
    dtd = LAUGHS[LAUGHS.index(b"<!DOCTYPE") : LAUGHS.index(b"]>") + 2]
    root = original[decl_end:]
    tag = root[1 : root.index(b" ")]
    dtd = dtd.replace(b"lolz", tag)
    body = (
        root.replace(
            b"</sheetData>",
            b'<row r="9"><c r="A9" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData>',
        )
        if b"sheetData" in root
        else root
    )
    parts[part] = original[:decl_end] + b"<!--" + b" " * padding + b"-->" + dtd + body
    return pack(parts)


# Zip bombs. zipfile writes honest headers; a bomb's headers lie, so these parts are written by
# hand: raw deflate streams made of one compressed block repeated (a full flush resets the
# window, so the same input compresses to the same bytes), sizes and CRC as the caller says.


def _deflate_repeat(
    prefix: bytes, unit: bytes, times: int, suffix: bytes
) -> tuple[bytes, int, int]:
    """Raw deflate of prefix + unit*times + suffix without building it; (stream, size, crc)."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(prefix) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(unit) + c.flush(zlib.Z_FULL_FLUSH)
    assert block == again
    tail = c.compress(suffix) + c.flush()
    crc = zlib.crc32(prefix)
    for _ in range(times):
        crc = zlib.crc32(unit, crc)
    crc = zlib.crc32(suffix, crc)
    return head + block * times + tail, len(prefix) + len(unit) * times + len(suffix), crc


def _raw_zip(entries: list[tuple[str, bytes, int, int, int]]) -> bytes:
    """A zip of (name, raw deflate stream, declared size, declared crc, method) entries."""
    out = io.BytesIO()
    central = []
    for name, stream, size, crc, method in entries:
        offset = out.tell()
        fname = name.encode()
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(fname),
                0,
            )
        )
        out.write(fname)
        out.write(stream)
        central.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                method,
                0,
                0x21,
                crc,
                len(stream),
                size,
                len(fname),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + fname
        )
    start = out.tell()
    for entry in central:
        out.write(entry)
    end = out.tell()
    out.write(
        struct.pack(
            "<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(central), len(central), end - start, start, 0
        )
    )
    return out.getvalue()


def _deflated(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def zip_bomb(part: str, inflated_mb: int, declared_mb: float | None = None) -> bytes:
    """The survey with `part` inflating to `inflated_mb` MB of valid-looking XML (the sheet's
    rows padded with whitespace, or a shared string of one letter). With `declared_mb`, the
    headers claim that size instead, with the CRC of the part's first bytes of that size, so a
    reader that stops where the headers say finds nothing wrong."""
    parts = base_parts()
    if part == "xl/sharedStrings.xml":
        parts = _shared_parts()
        prefix = parts[part][: parts[part].index(b"<t>S-1") + 3]
        suffix = parts[part][parts[part].index(b"<t>S-1") + 3 :]
        unit = b"S" * (1 << 20)
    else:
        xml = parts[part]
        prefix = xml[: xml.index(b"</sheetData>")]
        suffix = xml[xml.index(b"</sheetData>") :]
        unit = b" " * (1 << 20)
    stream, size, crc = _deflate_repeat(prefix, unit, inflated_mb, suffix)
    if declared_mb is not None:
        size = int(declared_mb * (1 << 20))
        crc = zlib.crc32((prefix + unit * (size // len(unit) + 1))[:size])
    entries = [
        (name, _deflated(data), len(data), zlib.crc32(data), 8)
        for name, data in parts.items()
        if name != part
    ]
    entries.append((part, stream, size, crc, 8))
    return _raw_zip(entries)


def _shared_parts() -> Parts:
    """The parts of the shared-strings survey (see _shared)."""
    with zipfile.ZipFile(io.BytesIO(_shared(2))) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


SIZED: dict[str, Callable[[float], bytes]] = {
    "survey_column_beyond_xfd_3_rows": lambda s: far_in_survey(int(20_000 * s), "AAAAAA", 3),
    "survey_column_beyond_xfd_6_rows": lambda s: far_in_survey(int(20_000 * s), "AAAAAA", 6),
    "survey_column_xfd_3_rows": lambda s: far_in_survey(int(20_000 * s), "XFD", 3),
    "survey_dimension_lies_large": lambda s: _sheet(
        survey_xml(int(20_000 * s), dimension="A1:XFD1048576")
    ),
    "survey_dimension_lies_small": lambda s: _sheet(survey_xml(int(20_000 * s), dimension="A1:D3")),
    "near_read_budget": lambda s: near_budget(max(16, int(384 * s))),
    "many_sheets": lambda s: many_sheets(max(2, int(1_000 * s))),
    "long_shared_strings": lambda s: long_shared_strings(max(2, int(40 * s)), int(1_000_000 * s)),
    "dtd_after_64kb_workbook": lambda s: dtd_after_padding("xl/workbook.xml", 70_000),
    "dtd_after_64kb_sheet": lambda s: dtd_after_padding("xl/worksheets/sheet1.xml", 70_000),
    "dtd_after_64kb_rels": lambda s: dtd_after_padding("xl/_rels/workbook.xml.rels", 70_000),
    "zip_bomb_sheet": lambda s: zip_bomb("xl/worksheets/sheet1.xml", max(20, int(1_000 * s))),
    "zip_bomb_total": lambda s: zip_bomb("xl/worksheets/sheet1.xml", max(20, int(3_000 * s))),
    "zip_bomb_lying_sheet": lambda s: zip_bomb(
        "xl/worksheets/sheet1.xml", max(20, int(3_000 * s)), declared_mb=9
    ),
    "zip_bomb_lying_small_sheet": lambda s: zip_bomb(
        "xl/worksheets/sheet1.xml", max(20, int(3_000 * s)), declared_mb=0.5
    ),
    "zip_bomb_lying_shared_strings": lambda s: zip_bomb(
        "xl/sharedStrings.xml", max(20, int(3_000 * s)), declared_mb=9
    ),
    "zip_bomb_lying_small_shared_strings": lambda s: zip_bomb(
        "xl/sharedStrings.xml", max(20, int(3_000 * s)), declared_mb=0.5
    ),
}
"""Cases that take a scale: 1 is the size the issue names (bench/bench_hostile.py); the tests
run them smaller."""


def sized(scale: float) -> Iterator[tuple[str, bytes]]:
    for name, make in SIZED.items():
        yield name, make(scale)


def honest_bomb(part: str, inflated_mb: int) -> bytes:
    """The shared-strings survey with `part` (sharedStrings.xml or styles.xml) inflated to
    `inflated_mb` MB, with honest headers and a compression ratio under the zip-bomb check's 200
    (strings of 4,000 random letters, each repeated)."""
    rng = random.Random(11)
    letters = "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=4000))
    parts = _shared_parts()
    if part == "xl/styles.xml":
        unit_text = (
            f'<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" name="{letters}"/>'
        )
        prefix = f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN}"><cellXfs>'
        suffix = "</cellXfs></styleSheet>"
        parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
            b"</Relationships>",
            b'<Relationship Id="rId8" Type="http://schemas.openxmlformats.org/officeDocument/'
            b'2006/relationships/styles" Target="styles.xml"/></Relationships>',
        )
    else:
        sst = parts[part].decode()
        unit_text = f"<si><t>{letters}</t></si>"
        prefix, suffix = sst[: sst.index("</sst>")], "</sst>"
    unit = (unit_text * ((1 << 20) // len(unit_text) + 1)).encode()[: len(unit_text) * 256]
    times = inflated_mb * (1 << 20) // len(unit)
    stream, size, crc = _deflate_repeat(prefix.encode(), unit, times, suffix.encode())
    entries = [
        (name, _deflated(data), len(data), zlib.crc32(data), 8)
        for name, data in parts.items()
        if name != part
    ]
    entries.append((part, stream, size, crc, 8))
    return _raw_zip(entries)


SIZED["zip_bomb_honest_shared_strings"] = lambda s: honest_bomb(
    "xl/sharedStrings.xml", max(20, int(1_500 * s))
)
SIZED["zip_bomb_honest_styles"] = lambda s: honest_bomb("xl/styles.xml", max(20, int(1_500 * s)))
SIZED["large_survey"] = lambda s: pack(base_parts(survey_xml(int(200_000 * s))))


def one_long_string_many_cells(cells: int, chars: int, seed: int = 5) -> bytes:
    """A survey whose 地址 cells all refer to one shared string of `chars` random CJK characters:
    calamine copies the string into every cell that refers to it."""
    text = _cjk_text(random.Random(seed), chars)
    return _address_survey([*WIDE_HEADERS, text], [len(WIDE_HEADERS)] * cells)


SIZED["one_long_string_many_cells"] = lambda s: one_long_string_many_cells(
    max(2, int(300 * s)), max(40_000, int(1_000_000 * s))
)
