"""Reading a workbook's sheets into layouts and mapped rows (no database writes here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.assets.spec import CATEGORIES
from app.errors import Invalid, TooLarge
from app.imports.headers import NOTES_SHEETS, SheetLayout, find_header, layout, sheet_category
from app.imports.rows import Accepted, Rejected, RowMapper, kept
from app.kit.values import norm
from app.kit.xlsx import AnySheet, Uncached, peek

PROGRESS_EVERY = 20_000


@dataclass
class Plan:
    """What the import will read: one layout per data sheet, warnings about the rest."""

    layouts: list[SheetLayout] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    rows_estimate: int = 0
    max_rows: int = 0


def plan_workbook(path: Path, category: str | None, max_rows: int) -> Plan:
    """Find each sheet's header and category from its first rows; 4xx for unusable workbooks."""
    plan = Plan(max_rows=max_rows)
    sheets = peek(path)
    if not any(s.rows for s in sheets):
        raise Invalid("工作簿中没有数据(所有工作表都是空的);请填好台账后再上传", reason="empty")
    for sheet in sheets:
        if not sheet.rows:
            continue
        if norm(sheet.name) in NOTES_SHEETS:
            plan.warnings.append(f"工作表 {sheet.name}: 说明页, 已跳过")
            continue
        found = find_header(sheet.rows)
        if found is None:
            plan.warnings.append(f"工作表 {sheet.name}: 未找到表头, 已跳过")
            continue
        row, labels, names = found
        sheet_layout = layout(sheet.name, row, names, labels)
        _choose_category(sheet_layout, category)
        if sheet_layout.ignored:
            ignored = "、".join(sheet_layout.ignored)
            plan.warnings.append(f"工作表 {sheet.name}: 未识别的列已忽略: {ignored}")
        plan.layouts.append(sheet_layout)
        plan.rows_estimate += max(0, (sheet.last_row or 0) - row - 1)
    if not plan.layouts:
        raise Invalid(
            "未找到可识别的表头行:工作表前 30 行中应有“设备编号”“行政区划代码”“投入使用日期”"
            "等列名;请使用导入模板的表头",
            reason="no_header",
            sheets=[s.name for s in sheets],
        )
    if plan.rows_estimate > max_rows:
        raise TooLarge(
            f"工作簿共有 {plan.rows_estimate} 行数据,超过 {max_rows} 行的上限;"
            "请拆分成几个工作簿上传"
        )
    return plan


def _choose_category(sheet_layout: SheetLayout, category: str | None) -> None:
    """A sheet's rows take the upload's category, their own column, or the sheet's name."""
    named = sheet_category(sheet_layout.sheet)
    if category is not None and named is not None and named != category:
        raise Invalid(
            f"工作表 {sheet_layout.sheet} 是 {CATEGORIES.get(named, named)}({named})台账,"
            f"与所选类别 category={category} 不符;请改选类别,或不指定类别",
            sheet=sheet_layout.sheet,
        )
    sheet_layout.category = category or named
    if sheet_layout.category is None and sheet_layout.category_column is None:
        raise Invalid(
            f"无法确定工作表 {sheet_layout.sheet} 的设备类别"
            f"(可选: {'、'.join(CATEGORIES.values())});请把工作表按类别命名、"
            "增加“设备类别”列,或上传时指定类别 category",
            sheet=sheet_layout.sheet,
            reason="unknown_category",
        )


def sheet_rows(
    sheet: AnySheet,
    mapper: RowMapper,
    tick: Callable[[int], None],
    uncached: Uncached,
) -> Iterator[tuple[Accepted | Rejected | None, int, list[Any]]]:
    """Map every data row below the header (with its cells); uncached formula cells are errors."""
    fills = _merged_fills(sheet, mapper.layout.header_row)
    header_row = mapper.layout.header_row
    merged_values: dict[tuple[int, int], Any] = {}
    for index, first_col, values in sheet.rows():
        if index <= header_row:
            continue
        if index in fills:
            values = _fill(values, first_col, fills[index], merged_values)
        result = mapper.map(index, first_col, values)
        if uncached and result is not None:
            result = _formula_errors(result, (index, first_col, values), uncached, mapper)
        if index % PROGRESS_EVERY == 0:
            tick(index - header_row)
        yield result, first_col, values


def _merged_fills(sheet: AnySheet, header_row: int) -> dict[int, list[tuple[int, int, int]]]:
    """Rows of merged data ranges → (first col, last col, source row) to copy the value from."""
    fills: dict[int, list[tuple[int, int, int]]] = {}
    for (r0, c0), (r1, c1) in sheet.merged:
        if r0 > header_row:
            for r in range(r0, r1 + 1):
                fills.setdefault(r, []).append((c0, c1, r0))
    return fills


def _fill(
    values: list[Any],
    first_col: int,
    spans: list[tuple[int, int, int]],
    merged_values: dict[tuple[int, int], Any],
) -> list[Any]:
    """Copy a merged range's value (kept from its first row) into its blank cells."""
    values = list(values)
    for c0, c1, r0 in spans:
        pos = c0 - first_col
        if not 0 <= pos < len(values):
            continue
        if values[pos] not in ("", None):
            merged_values[(r0, c0)] = values[pos]
        source = merged_values.get((r0, c0), "")
        for c in range(c0, c1 + 1):
            if 0 <= c - first_col < len(values) and values[c - first_col] in ("", None):
                values[c - first_col] = source
    return values


def _formula_errors(
    result: Accepted | Rejected,
    row: tuple[int, int, list[Any]],
    uncached: Uncached,
    mapper: RowMapper,
) -> Accepted | Rejected:
    """Add an error for every never-calculated formula cell of the row."""
    index, first_col, values = row
    cols = sorted(uncached.get(index, ()))
    if not cols:
        return result
    errors = [
        {
            "sheet": mapper.layout.sheet,
            "column": mapper.layout.headers.get(c, ""),
            "col": c,
            "field": None,
            "value": "",
            "message": "公式没有计算结果(请在 Excel 中重新计算并保存后上传)",
        }
        for c in cols
    ]
    if isinstance(result, Rejected):
        result.errors.extend(errors)
        return result
    code = result.values.get("asset_code")
    return Rejected(
        mapper.layout.sheet, index + 1, first_col, kept(values), errors, result.category, code
    )
