"""Finding and mapping the header row of a survey sheet, driven by the column spec.

Headers match by Chinese label, English field name, header with unit and the spec's variants,
ignoring spaces, full-width characters (NFKC) and units in brackets. The header row is the row
among the first 30 that recognises the most columns; a hidden row of field names right below it
(as in our template and exports) is part of the header.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from app.assets.spec import ALL_FIELDS, FieldSpec
from app.imports.convert import CATEGORY_INDEX
from app.kit.values import cell_text, norm

HEADER_SCAN_ROWS = 30
MIN_RECOGNISED = 2
REGION_NAME_HEADERS: dict[str, tuple[str, ...]] = {
    "province": ("省", "省份", "省名称", "所属省份", "省级", "省(自治区、直辖市)"),
    "city": ("市", "地市", "城市", "市州", "所属城市", "地级市", "市(州)"),
    "district": ("区", "县", "区县", "县区", "区/县", "县/区", "所属区县", "县(市、区)"),
}
NOTES_SHEETS = frozenset(norm(n) for n in ("填表说明", "说明", "notes", "readme", "选项", "字典"))
_BRACKETS = re.compile(r"[(\[【][^)\]】]*[)\]】]")


def header_key(text: str) -> tuple[str, str]:
    """(matching key, unit in brackets): '额定蒸发量（MW）' → ('额定蒸发量', 'mw')."""
    t = norm(text)
    units = _BRACKETS.findall(t)
    key = _BRACKETS.sub("", t).strip("*:：") or t
    unit = units[-1][1:-1] if units else ""
    return key, unit


def _build_index() -> dict[str, list[FieldSpec]]:
    index: dict[str, list[FieldSpec]] = defaultdict(list)
    for spec in ALL_FIELDS:
        for word in {spec.name, spec.label, spec.header, *spec.aliases}:
            key = header_key(word)[0]
            if spec not in index[key]:
                index[key].append(spec)
    return dict(index)


HEADER_INDEX = _build_index()
REGION_INDEX = {header_key(w)[0]: part for part, ws in REGION_NAME_HEADERS.items() for w in ws}


@dataclass
class Column:
    """One recognised column: its position, original header, and the field per category."""

    index: int
    header: str
    unit: str
    specs: list[FieldSpec]

    def spec_for(self, category: str) -> FieldSpec | None:
        """The field this column means for rows of a category (使用场所: two fields)."""
        return next((s for s in self.specs if s.applies_to(category)), None)


@dataclass
class SheetLayout:
    """Where a sheet's header is, what each column means, and which category its rows are."""

    sheet: str
    header_row: int
    """0-based index of the last header row; data starts below it."""
    headers: dict[int, str]
    columns: list[Column] = field(default_factory=list)
    region_columns: dict[str, int] = field(default_factory=dict)
    category: str | None = None
    category_column: int | None = None
    ignored: list[str] = field(default_factory=list)

    def column(self, name: str) -> Column | None:
        """The column mapped to a field, if the sheet has one."""
        return next((c for c in self.columns if any(s.name == name for s in c.specs)), None)


def _recognise(cells: dict[int, Any]) -> dict[int, str]:
    """Column → matching key for the cells of one row that name a field or a region part."""
    out = {}
    for col, value in cells.items():
        if isinstance(value, str):
            key = header_key(value)[0]
            if key in HEADER_INDEX or key in REGION_INDEX:
                out[col] = key
    return out


def find_header(
    rows: Sequence[tuple[int, dict[int, Any]]],
) -> tuple[int, dict[int, str], dict[int, str]] | None:
    """(last header row index, {col: label}, {col: text to map}) of the best header row, if any.

    A row of field names right under the labels (template, export) is mapped instead of them.
    """
    best: tuple[int, int] | None = None
    for position, (_row_index, cells) in enumerate(rows[:HEADER_SCAN_ROWS]):
        count = len(_recognise(cells))
        if count >= MIN_RECOGNISED and (best is None or count > best[0]):
            best = (count, position)
    if best is None:
        return None
    position = best[1]
    row_index, cells = rows[position]
    labels = {c: cell_text(v) for c, v in cells.items() if cell_text(v)}
    names = dict(labels)
    if position + 1 < len(rows):
        next_index, below = rows[position + 1]
        found = _recognise(below)
        if found and len(found) == len(below) and all(k in HEADER_INDEX for k in found.values()):
            names.update({c: cell_text(v) for c, v in below.items()})
            row_index = next_index
    return row_index, labels, names


def sheet_category(sheet: str) -> str | None:
    """The category a sheet's name stands for ('电梯', '燃气管道普查表'…), if exactly one."""
    key = norm(sheet)
    if key in CATEGORY_INDEX:
        return CATEGORY_INDEX[key]
    found = {code for word, code in CATEGORY_INDEX.items() if len(word) >= 2 and word in key}
    return found.pop() if len(found) == 1 else None


def layout(
    sheet: str, header_row: int, headers: dict[int, str], labels: dict[int, str]
) -> SheetLayout:
    """Map every header of a sheet; `labels` are the visible header texts for messages."""
    result = SheetLayout(sheet=sheet, header_row=header_row, headers=labels)
    taken: set[str] = set()
    for col in sorted(headers):
        key, unit = header_key(headers[col])
        if key in REGION_INDEX and key not in HEADER_INDEX:
            result.region_columns.setdefault(REGION_INDEX[key], col)
            continue
        specs = [s for s in HEADER_INDEX.get(key, []) if s.name not in taken]
        if not specs:
            result.ignored.append(labels.get(col) or headers[col])
            continue
        if any(s.name == "category" for s in specs):
            result.category_column = col
        taken.update(s.name for s in specs)
        result.columns.append(Column(col, labels.get(col) or headers[col], unit, specs))
    return result
