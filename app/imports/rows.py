"""One data row of a survey sheet → a validated ledger record, a rejection with per-cell errors, or
nothing (blank rows, notes under the table, the template's example row)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.accounts.scope import Principal
from app.assets.spec import CATEGORIES, CATEGORY_REQUIRED, FIELDS_BY_NAME, FieldSpec, fields_for
from app.imports.convert import Converter, category_of, convert_cell, make_converter
from app.imports.headers import SheetLayout
from app.imports.regions import RegionIndex
from app.kit.values import cell_text, is_blank, norm

NOTE_PREFIXES = tuple(
    norm(p) for p in ("填表人", "审核人", "制表", "说明", "注", "备注", "合计", "小计", "总计")
)
EXAMPLE_PREFIX = "示例"
"""The template's example row: its asset_code starts with 示例 and it is skipped on import."""
CACHE_LIMIT = 50_000
_SUSPECT = frozenset("示填审制说注备合小总 \t")
"""First characters of an asset_code cell that may mean a note or example row, not data."""


@dataclass
class Rejected:
    """A row that cannot be imported, with its original cells and every error found in it."""

    sheet: str
    row: int
    """Excel row number (1-based), as Excel shows it."""
    first_col: int
    values: list[Any]
    errors: list[dict[str, Any]]
    category: str | None = None
    asset_code: str | None = None


@dataclass
class Accepted:
    """A valid row: its Excel row number, category and field values (spec names)."""

    row: int
    category: str
    values: dict[str, Any]


@dataclass
class _Field:
    col: int
    spec: FieldSpec
    header: str
    convert: Converter
    cache: dict[Any, Any] = field(default_factory=dict)
    text: bool = False


class RowMapper:
    """Maps the data rows of one sheet; shares the duplicate index across sheets of a batch."""

    def __init__(
        self,
        layout: SheetLayout,
        regions: RegionIndex,
        principal: Principal,
        seen: dict[str, dict[str, tuple[str, int]]],
        category: str | None = None,
    ) -> None:
        self.layout = layout
        self.regions = regions
        self.principal = principal
        self.seen = seen
        self.category = category or layout.category
        self._plans: dict[str, list[_Field]] = {}
        self._region_cache: dict[Any, tuple[str | None, str | None, str | None]] = {}
        """Region cell(s) and category → (code, error, warning)."""
        self.region_notes: dict[str, list[int]] = {}
        """Warning (a retired code replaced by its successor) → the rows it applies to."""
        self._fast_plans: dict[tuple[str, int], list[tuple[int, str, bool, int, _Field]]] = {}
        self._last_parts: tuple[str, ...] = ()
        self._sheet = layout.sheet
        self._fixed = self.category if layout.category_column is None else None
        """The sheet's one category (no category column), or None."""
        self._fixed_plan: list[tuple[int, str, bool, int, _Field]] = []
        self._first_col = -1
        self._code_pos = -1
        self._region_pos = -1
        self._seen_in: dict[str, dict[str, tuple[str, int]]] = {}
        self._also_required = {
            c: CATEGORY_REQUIRED[c] for c in CATEGORIES if CATEGORY_REQUIRED.get(c)
        }
        """Fields a category requires beyond asset_code and region_code."""
        code_col = layout.column("asset_code")
        self.code_col = code_col.index if code_col else None
        region_col = layout.column("region_code")
        self.region_col = region_col.index if region_col else None
        self.region_header = (
            region_col.header
            if region_col
            else "/".join(layout.headers.get(c, "") for c in layout.region_columns.values())
        )

    def plan(self, category: str) -> list[_Field]:
        """The converters of the sheet's columns that apply to a category (built once)."""
        if category not in self._plans:
            own = {s.name for s in fields_for(category)}
            self._plans[category] = [
                _Field(
                    c.index,
                    spec,
                    c.header,
                    make_converter(spec, category, c.unit),
                    text=spec.kind == "text",
                )
                for c in self.layout.columns
                if (spec := c.spec_for(category)) is not None
                and spec.name in own
                and spec.name not in ("category", "region_code")
            ]
        return self._plans[category]

    def map(self, index: int, first_col: int, values: list[Any]) -> Accepted | Rejected | None:
        """Map the row at 0-based `index`; None when the row is not data."""
        width = len(values)
        if first_col != self._first_col:
            self._at(first_col)
        pos = self._code_pos
        code = values[pos] if 0 <= pos < width else None
        if (type(code) is not str or not code or code[0] in _SUSPECT) and self._skip(values, code):
            return None
        errors: list[dict[str, Any]] = []
        category = self._fixed or self._category(values, first_col, errors)
        out: dict[str, Any] = {}
        if category is not None:
            out["category"] = category
            plan = self._fixed_plan if self._fixed else self._fast(category, first_col)
            self._fields(plan, values, out, errors)
            # the region: a cached code in one column (the common case), else resolved
            pos = self._region_pos
            hit = self._region_cache.get((values[pos] if 0 <= pos < width else None, category))
            if hit is not None and hit[1] is None and hit[0] is not None:
                out["region_code"] = hit[0]
                if hit[2] is not None:
                    self._noted(hit[2], index + 1)
            else:
                self._region(values, first_col, category, out, errors, index + 1)
            # every row, whatever else it holds: a row valid here must be one the ledger takes
            also = self._also_required.get(category)
            if (
                errors
                or "asset_code" not in out
                or "region_code" not in out
                or (also is not None and not all(name in out for name in also))
            ):
                self._required(category, out, errors)
        row = index + 1
        if not errors and category is not None:
            code = out["asset_code"]
            seen = self._seen_in.get(category)
            if seen is None:
                seen = self._seen_in[category] = self.seen.setdefault(category, {})
            first = seen.setdefault(code, (self._sheet, row))
            if first[1] != row or first[0] != self._sheet:
                self._repeated(first, code, errors)
        if errors:
            code = out.get("asset_code") or (cell_text(code) or None)
            return Rejected(self.layout.sheet, row, first_col, kept(values), errors, category, code)
        return Accepted(row, category or "", out)

    def _at(self, first_col: int) -> None:
        """Positions in the rows of a piece whose first cell is in column `first_col` (all rows of
        a sheet, as calamine reads them, save blank padding)."""
        self._first_col = first_col
        self._code_pos = -1 if self.code_col is None else self.code_col - first_col
        # with 省/市/区 columns the region cache is keyed otherwise: never hit in map
        self._region_pos = -1
        if self.region_col is not None and not self.layout.region_columns:
            self._region_pos = self.region_col - first_col
        if self._fixed:
            self._fixed_plan = self._fast(self._fixed, first_col)

    def _cell(self, values: list[Any], first_col: int, col: int | None) -> Any:
        if col is None:
            return None
        pos = col - first_col
        return values[pos] if 0 <= pos < len(values) else None

    def _fast(self, category: str, first_col: int) -> list[tuple[int, str, bool, int, _Field]]:
        """(position in the row, field, is text, max length, field) for a category's columns."""
        key = (category, first_col)
        if key not in self._fast_plans:
            self._fast_plans[key] = [
                (f.col - first_col, f.spec.name, f.text, f.spec.max_length, f)
                for f in self.plan(category)
                if f.col >= first_col
            ]
        return self._fast_plans[key]

    def _fields(
        self,
        plan: list[tuple[int, str, bool, int, _Field]],
        values: list[Any],
        out: dict[str, Any],
        errors: list[dict[str, Any]],
    ) -> None:
        """Convert the row's cells (the hot loop: text is stripped, the rest goes via caches)."""
        width = len(values)
        for pos, name, text, max_length, f in plan:
            raw = values[pos] if pos < width else None
            if raw is None or raw == "":
                continue
            if text and type(raw) is str:
                value = raw.strip()
                if len(value) > max_length:
                    msg = f"超过 {max_length} 个字符"
                    errors.append(self._error(f.col, name, raw, msg, f.header))
                elif value:
                    out[name] = value
                continue
            hit = f.cache.get(raw if type(raw) is not bool else (bool, raw))
            if hit is None:
                hit = self._compute(f, raw)
            if hit[0]:
                if hit[1] is not None:
                    out[name] = hit[1]
            else:
                errors.append(self._error(f.col, name, raw, hit[1], f.header))

    def _repeated(self, first: tuple[str, int], code: str, errors: list[dict[str, Any]]) -> None:
        msg = f"设备编号重复: 与工作表 {first[0]} 第 {first[1]} 行相同"
        errors.append(self._error(self.code_col, "asset_code", code, msg))

    def _skip(self, values: list[Any], code: Any) -> bool:
        """Blank rows, notes under the table (填表人…, 合计…) and the template's example row."""
        filled = [v for v in values if not is_blank(v)]
        if not filled:
            return True
        first = norm(cell_text(filled[0]))
        if first.startswith(NOTE_PREFIXES) and (is_blank(code) or code is filled[0]):
            return True
        return isinstance(code, str) and code.strip().startswith(EXAMPLE_PREFIX)

    def _category(
        self, values: list[Any], first_col: int, errors: list[dict[str, Any]]
    ) -> str | None:
        col = self.layout.category_column
        raw = self._cell(values, first_col, col)
        if col is None or is_blank(raw):
            if self.category is None:
                errors.append(self._error(col, "category", raw, "缺少设备类别"))
            return self.category
        try:
            code = category_of(raw)
        except ValueError as exc:
            errors.append(self._error(col, "category", raw, str(exc)))
            return None
        if self.category is not None and code != self.category:
            msg = f"设备类别 {CATEGORIES[code]} 与本次导入的类别 {CATEGORIES[self.category]} 不符"
            errors.append(self._error(col, "category", raw, msg))
            return None
        return code

    def _compute(self, f: _Field, raw: Any) -> tuple[bool, Any]:
        """Convert a cell value not seen before in this column, and remember the result."""
        try:
            hit: tuple[bool, Any] = (True, convert_cell(f.convert, raw))
        except ValueError as exc:
            hit = (False, str(exc))
        if len(f.cache) < CACHE_LIMIT:
            f.cache[raw if type(raw) is not bool else (bool, raw)] = hit
        return hit

    def _region(
        self,
        values: list[Any],
        first_col: int,
        category: str,
        out: dict[str, Any],
        errors: list[dict[str, Any]],
        row: int,
    ) -> None:
        """Resolve and scope-check the row's region (cached per spelling and category)."""
        raw = self._cell(values, first_col, self.region_col)
        if self.layout.region_columns:
            parts = tuple(
                cell_text(self._cell(values, first_col, c))
                for c in self.layout.region_columns.values()
            )
            key: Any = (raw if type(raw) is str else cell_text(raw), parts, category)
        else:
            parts, key = (), (raw, category)
        hit = self._region_cache.get(key)
        if hit is None:
            self._last_parts = parts
            hit = self._resolve_region(raw, category)
            self._region_cache[key] = hit
        code, message, note = hit
        if note is not None and message is None:
            self._noted(note, row)
        if message is not None:
            errors.append(
                self._error(
                    self.region_col, "region_code", raw or code, message, self.region_header
                )
            )
        elif code is not None:
            out["region_code"] = code

    def _resolve_region(self, raw: Any, category: str) -> tuple[str | None, str | None, str | None]:
        names = self.layout.region_columns
        parts = {k: cell_text(v) for k, v in zip(names, self._last_parts, strict=False)}
        text = cell_text(raw) if not is_blank(raw) else ""
        try:
            found = self.regions.resolve(text, parts, self.principal.region_prefix)
        except ValueError as exc:
            return None, str(exc), None
        if found is None:
            return None, None, None
        code = found.code
        if self.principal.covers(code, category):
            return code, None, found.note
        scope = self.principal.region_prefix or "全国"
        if self.principal.category:
            scope += f"/{CATEGORIES.get(self.principal.category, self.principal.category)}"
        return code, f"行政区划 {code} / {CATEGORIES[category]} 不在您的权限范围({scope})内", None

    def _noted(self, note: str, row: int) -> None:
        rows = self.region_notes.get(note)
        if rows is None:
            rows = self.region_notes[note] = []
        rows.append(row)

    def warnings(self) -> list[str]:
        """One warning per replaced retired code, with the rows (the first 20) it applies to."""
        out = []
        for note, rows in self.region_notes.items():
            shown = "、".join(str(r) for r in rows[:20]) + ("…" if len(rows) > 20 else "")
            out.append(f"工作表 {self._sheet} 第 {shown} 行(共 {len(rows)} 行): {note}")
        return out

    def _required(self, category: str, out: dict[str, Any], errors: list[dict[str, Any]]) -> None:
        if any(e["field"] in ("region_code",) for e in errors):
            return
        for name in ("asset_code", "region_code", *CATEGORY_REQUIRED.get(category, ())):
            if out.get(name) is None and not any(e["field"] == name for e in errors):
                col = self.layout.column(name)
                header = col.header if col else self._label(name)
                errors.append(self._error(col.index if col else None, name, None, "必填", header))

    def _label(self, name: str) -> str:
        return FIELDS_BY_NAME[name].header

    def reject_out_of_scope(
        self, accepted: Accepted, first_col: int, values: list[Any], message: str
    ) -> Rejected:
        """Turn an accepted row into a rejection on its asset_code cell."""
        code = accepted.values.get("asset_code")
        error = self._error(self.code_col, "asset_code", code, message)
        return Rejected(
            self.layout.sheet,
            accepted.row,
            first_col,
            kept(values),
            [error],
            accepted.category,
            code,
        )

    def _error(
        self, col: int | None, name: str, raw: Any, message: str, header: str | None = None
    ) -> dict[str, Any]:
        if header is None:
            header = self.layout.headers.get(col, "") if col is not None else self._label(name)
        return {
            "sheet": self.layout.sheet,
            "column": header,
            "col": col,
            "field": name,
            "value": "" if raw is None else _shown(cell_text(raw)),
            "message": message,
        }


VALUE_SHOWN = 200
"""Characters of a bad cell quoted in its error (the row's cells are kept whole)."""


def _shown(text: str) -> str:
    return text if len(text) <= VALUE_SHOWN else text[: VALUE_SHOWN - 1] + "…"


MAX_CELL_CHARS = 32_767
"""Excel's limit of characters in a cell."""


def kept(values: list[Any]) -> list[Any]:
    """A rejected row's cells as kept for its error workbook: a text longer than Excel allows
    (only a hostile file has one) is cut to that, so the rejected rows held until they are
    stored do not keep megabytes each."""
    return [v[:MAX_CELL_CHARS] if type(v) is str and len(v) > MAX_CELL_CHARS else v for v in values]
