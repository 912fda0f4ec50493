"""Reading a large sheet in pieces gives the rows, merged ranges and formula cells that reading it
whole gives, with the original row and column indexes, and leaves no pieces behind."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from app.kit import xlsx


def _workbook(path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "电梯"
    ws["A1"] = "XX区电梯普查台账"
    ws.merge_cells("A1:D1")
    ws.append(["设备编号", "行政区划代码", "投入使用日期", "层站数"])
    for i in range(40):
        if i % 7 == 3:
            ws.append([])  # a blank row
            continue
        ws.append([f"E-{i:03d}", "410102", date(2005, 3, 1 + i % 20), i])
    ws["E20"] = "=D20*2"  # a formula without a cached value
    ws.merge_cells("B30:B33")  # a merged block in the data
    ws.cell(row=60, column=6, value="填表人：张三")  # a note well below, in another column
    other = wb.create_sheet("说明")
    other["A1"] = "说明页"
    wb.save(path)


def _read(path: Path) -> tuple[list[tuple[int, int, list[object]]], object, object, int]:
    with xlsx.open_book(path) as open_sheet:
        sheet = open_sheet("电梯")
        rows = [(i, c, list(r)) for i, c, r in sheet.rows()]
        return rows, sorted(sheet.merged), sheet.uncached, sheet.total_rows


def _cells(rows: list[tuple[int, int, list[object]]]) -> dict[tuple[int, int], object]:
    return {(i, c + k): v for i, c, r in rows for k, v in enumerate(r) if v not in ("", None)}


@pytest.mark.parametrize(
    ("rows_per_piece", "block"), [(1, 1 << 22), (3, 1 << 22), (3, 97), (16, 1000), (1000, 1 << 22)]
)
def test_pieces_read_like_the_whole_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rows_per_piece: int, block: int
) -> None:
    """`block`: bytes inflated at a time; small blocks cut tags and the end of the rows apart."""
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    whole = _read(path)
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    monkeypatch.setattr(xlsx, "PIECE_ROWS", rows_per_piece)
    monkeypatch.setattr(xlsx, "_BLOCK", block)
    before = set(tmp_path.glob("rr-sheet-*"))
    with xlsx.open_book(path) as open_sheet:
        sheet = open_sheet("电梯")
        assert isinstance(sheet, xlsx.PiecewiseSheet)
    pieces = _read(path)
    assert _cells(pieces[0]) == _cells(whole[0])
    assert [i for i, _c, _r in pieces[0]] == list(range(len(pieces[0])))
    assert pieces[1:] == whole[1:]
    assert pieces[1] == [((0, 0), (0, 3)), ((29, 1), (32, 1))]
    assert pieces[2] == {19: {4}}
    assert pieces[3] == 60
    assert set(tmp_path.glob("rr-sheet-*")) == before


def test_a_reader_that_stops_early_leaves_no_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    monkeypatch.setattr(xlsx, "PIECE_ROWS", 2)
    before = set(tmp_path.glob("rr-sheet-*"))
    with xlsx.open_book(path) as open_sheet:
        rows = open_sheet("电梯").rows()
        assert next(rows)[0] == 0
    assert set(tmp_path.glob("rr-sheet-*")) == before


def test_a_sheet_without_rows_data_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    broken = tmp_path / "broken.xlsx"
    _rewrite_sheet(path, broken, lambda xml: xml.split(b"<sheetData>")[0] + b"</worksheet>")
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    with pytest.raises(xlsx.Invalid), xlsx.open_book(broken) as open_sheet:
        open_sheet("电梯")


def test_rows_without_numbers_are_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some writers leave out r="…" on rows and cells; calamine then counts rows from the top of
    the XML, so such a sheet is not cut into pieces (their rows would restart at 1)."""
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    bare = tmp_path / "bare.xlsx"
    numbers = re.compile(rb'(<(?:row|c)\b[^>]*?) r="[A-Z]*\d+"')
    _rewrite_sheet(path, bare, lambda xml: numbers.sub(rb"\1", xml))
    whole = _read(bare)
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    monkeypatch.setattr(xlsx, "PIECE_ROWS", 3)
    with xlsx.open_book(bare) as open_sheet:
        assert isinstance(open_sheet("电梯"), xlsx.Sheet)
    assert _read(bare) == whole
    assert set(tmp_path.glob("rr-sheet-*")) == set()


def _rewrite_sheet(path: Path, dest: Path, change: Callable[[bytes], bytes]) -> None:
    """A copy of the workbook at `path` whose first sheet's XML is changed by `change`."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(dest, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            dst.writestr(info, data)


def _with_cells(path: Path, dest: Path, cells: dict[str, str]) -> None:
    """A copy of the survey with extra text cells (ref → text) in rows of their own."""

    def add(xml: bytes) -> bytes:
        rows = b"".join(
            f'<row r="{ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}"><c r="{ref}" t="inlineStr">'
            f"<is><t>{text}</t></is></c></row>".encode()
            for ref, text in cells.items()
        )
        return xml.replace(b"</sheetData>", rows + b"</sheetData>")

    _rewrite_sheet(path, dest, add)


@pytest.mark.parametrize("pieces", [False, True])
def test_a_range_beyond_the_budget_is_refused_before_it_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pieces: bool
) -> None:
    """One cell far below the survey: calamine would allocate every position down to it."""
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    sparse = tmp_path / "sparse.xlsx"
    _with_cells(path, sparse, {"D900000": "x"})
    if pieces:
        monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
        monkeypatch.setattr(xlsx, "PIECE_ROWS", 10)
    with pytest.raises(xlsx.Invalid) as caught, xlsx.open_book(sparse, 16) as open_sheet:
        list(open_sheet("电梯").rows())
    assert caught.value.extra["reason"] == "range_too_large"
    assert "电梯" in caught.value.detail
    assert set(tmp_path.glob("rr-sheet-*")) == set()


def test_a_wide_sheet_is_read_in_smaller_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A note in column XFD: each piece holds fewer rows, so the pieces held stay in budget, and
    the rows are those of reading the sheet whole."""
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    wide = tmp_path / "wide.xlsx"
    _with_cells(path, wide, {"XFD70": "备注"})
    whole = _read(wide)
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    monkeypatch.setattr(xlsx, "PIECE_ROWS", 1000)
    sizes: list[int] = []
    close = xlsx._Cutter._close

    def recording(self: xlsx._Cutter) -> None:
        sizes.append(self.rows_per_piece)
        close(self)

    monkeypatch.setattr(xlsx._Cutter, "_close", recording)
    with xlsx.open_book(wide, 64) as open_sheet:
        sheet = open_sheet("电梯")
        rows = [(i, c, list(r)) for i, c, r in sheet.rows()]
    # 64 MB for three pieces of 16,384 columns at 40 bytes: 34 rows, half of them a piece
    assert sizes and max(sizes) == (64 << 20) // 3 // (16_384 * 40) // 2 == 17
    assert _cells(rows) == _cells(whole[0])


@pytest.mark.parametrize(
    ("ref", "reason"), [("XFE5", "beyond_limits"), ("B1048577", "beyond_limits")]
)
def test_references_beyond_excel_are_refused_in_pieces(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ref: str, reason: str
) -> None:
    path = tmp_path / "survey.xlsx"
    _workbook(path)
    bad = tmp_path / "bad.xlsx"
    _with_cells(path, bad, {ref: "x"})
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    with pytest.raises(xlsx.Invalid) as caught, xlsx.open_book(bad) as open_sheet:
        open_sheet("电梯")
    assert caught.value.extra["reason"] == reason
    assert ref in caught.value.detail


def test_a_dense_sheet_larger_than_the_budget_is_read_in_pieces_that_fit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real survey bigger than a piece's share of the budget is never refused for its size:
    its pieces get smaller, and its rows are those of reading it whole."""
    path = tmp_path / "big.xlsx"
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("电梯")
    ws.append(["设备编号", "行政区划代码", "设备名称", "层站数", *(f"备注{k}" for k in range(6))])
    for i in range(6000):
        ws.append([f"E-{i:05d}", "410102", f"{i}号梯", i % 30, *(f"说明文字{k}" for k in range(6))])
    wb.save(path)
    whole = _read(path)[0]
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    sizes: list[tuple[int, int]] = []
    close = xlsx._Cutter._close

    def recording(self: xlsx._Cutter) -> None:
        sizes.append((self.rows, read_need(self)))
        close(self)

    def read_need(cutter: xlsx._Cutter) -> int:
        rows = cutter.piece_hi - cutter.piece_lo + 1
        return xlsx.read_bytes(rows * cutter.width, cutter.piece_bytes)

    monkeypatch.setattr(xlsx._Cutter, "_close", recording)
    # 3 MB: 1 MB per piece held, while the sheet would take ~3 MB read whole
    assert xlsx.read_bytes(6001 * 26, path.stat().st_size * 8) > 1 << 20
    with xlsx.open_book(path, 3) as open_sheet:
        rows = [(i, c, list(r)) for i, c, r in open_sheet("电梯").rows()]
    assert len(sizes) > 2, sizes
    assert all(need <= 1 << 20 for _, need in sizes), sizes
    assert sum(n for n, _ in sizes) == 6001
    assert _cells(rows) == _cells(whole)


def test_a_plain_survey_in_pieces_fits_a_small_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pieces were cut at PIECE_ROWS rows whatever the budget: their 26 columns' slots took most
    of a piece's share and their text the rest, so a plain 200,000-row survey was refused under
    the default budget. Pieces now hold the rows whose slots fill half a share, and close early
    once their XML fills a third (long texts)."""
    from tests.imports.hostile import base_parts, pack, survey_xml

    path = tmp_path / "large.xlsx"
    path.write_bytes(pack(base_parts(survey_xml(30_000))))
    monkeypatch.setattr(xlsx, "PIECEWISE_BYTES", 0)
    with xlsx.open_book(path, max_read_mb=16) as open_sheet:
        sheet = open_sheet("电梯")
        assert isinstance(sheet, xlsx.PiecewiseSheet)
        rows = sum(1 for _ in sheet.rows())
    assert rows == 30_001
