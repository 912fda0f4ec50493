"""Chinese labels, amounts and dates as people write them, for API filters and bodies.

The exports write Chinese labels (电梯, 已更新, 强制更新), amounts in 万元 and dates such as
2026年11月; the API takes those back wherever it takes the codes. Domain-free: callers pass the
code → label tables (app/assets/spec.py, the export modules).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

from app.kit.values import MAX_YEAR, MIN_YEAR, norm, split_number

Labels = Mapping[str, str | Iterable[str]]
"""Code → its Chinese label, or several labels (canonical first)."""


def _labels(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def words(table: Labels) -> tuple[str, ...]:
    """Every code and label of a table, codes first: the values a filter accepts."""
    out = list(table)
    for labels in table.values():
        out += [w for w in _labels(labels) if w not in out]
    return tuple(out)


def to_code(table: Labels, value: str | None) -> str | None:
    """The code a code or label stands for (None stays None; an unknown word is returned as is)."""
    if value is None:
        return None
    if value in table:
        return value
    key = norm(value)
    for code, labels in table.items():
        if key == norm(code) or key in {norm(w) for w in _labels(labels)}:
            return code
    return value


# --- amounts -------------------------------------------------------------------------------

AMOUNT_UNITS: dict[str, Decimal] = {
    "万元": Decimal(1),
    "万": Decimal(1),
    "元": Decimal("0.0001"),
    "亿元": Decimal(10000),
    "亿": Decimal(10000),
}
"""Units an amount may carry, as factors to 万元 (the unit of every money field)."""
AMOUNT_PATTERN = (
    r"^\s*[+]?\s*([0-9][0-9,]*(\.[0-9]*)?|\.[0-9]+)\s*(万元|万|元|亿元|亿)?\s*(/[^0-9]*)?$"
)
"""An amount in 万元 as text, for the OpenAPI document: 8, 8.5, 8万元, 8万, 80000元, 1.5亿元,
8,000元, 8万元/台."""
AMOUNT_HELP = (
    "万元;可写数字或带单位的文字:8、8.5、8万元、8万、80000元(=8 万元)、1.5亿元(=15000 万元)"
)
"""What a money field's description says about its unit and notations."""
_AMOUNT = re.compile(r"^[+]?([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(万元|万|元|亿元|亿)?$")
_PER_ITEM = re.compile(r"/[^0-9]*$")
"""'/台' after a price (8万元/台, a column headed 单价(万元/米)): the unit counted."""


def parse_amount(value: Any, default_unit: str = "万元") -> Decimal:
    """An amount → Decimal 万元: 8 → 8, '8万元' → 8, '80000元' → 8, '1.5亿元' → 15000.

    A number without a unit is in `default_unit` (an import column headed 单价(元) says 元).
    Spaces, thousands separators and a trailing '/台' are dropped and full-width characters
    folded, alike for API bodies and survey cells. Raises ValueError naming what was written and
    what is accepted."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"金额应为数字: {value}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"金额应为数字: {value}")
        number, unit = value, ""
    elif isinstance(value, int | float):
        number, unit = split_number(value)
    else:
        m = _AMOUNT.match(_PER_ITEM.sub("", norm(str(value)).replace(",", "")))
        if not m:
            raise ValueError(
                f"无法识别的金额「{str(value).strip()}」(可写 8、8万元、8万、80000元、1.5亿元)"
            )
        number, unit = Decimal(m.group(1)), m.group(2) or ""
    factor = AMOUNT_UNITS.get(unit or _PER_ITEM.sub("", norm(default_unit)) or "万元")
    if factor is None:
        raise ValueError(f"无法识别的金额单位 {default_unit}(可用: {'、'.join(AMOUNT_UNITS)})")
    return number * factor


def amount_in_wan(value: Any) -> Any:
    """The API's money fields: text with or without a unit → Decimal 万元 (numbers are left for
    the field's own validation): '8万元' → 8, '80000元' → 8, '0.5亿元' → 5000."""
    if isinstance(value, str):
        return parse_amount(value)
    return value


if TYPE_CHECKING:
    Money = Decimal
else:
    Money = Annotated[
        Decimal,
        # the constraints first: behind a validator pydantic skips the whole-digits check
        Field(ge=0, max_digits=14, decimal_places=4),
        BeforeValidator(amount_in_wan),
        WithJsonSchema(
            {
                "anyOf": [
                    {"type": "number", "minimum": 0},
                    {"type": "string", "pattern": AMOUNT_PATTERN, "examples": ["8万元"]},
                ]
            }
        ),
    ]
    """An amount in 万元 (≥ 0, at most 4 decimal places): a number, or text with a unit."""


# --- dates and months ----------------------------------------------------------------------

_M, _D = "(0?[1-9]|1[0-2])", "(0?[1-9]|[12][0-9]|3[01])"
DATE_PATTERN = f"^[0-9]{{4}}([-/.]{_M}([-/.]{_D})?|年{_M}月({_D}日)?)$"
"""A date as the API takes it: 2026-11-30, 2026/11/30, 2026.11.30, 2026年11月30日, or a month
(2026-11, 2026/11, 2026年11月) that stands for its first or, for an upper bound, its last day."""
DATE_HELP = "可写 2026-11-30、2026/11/30、2026年11月30日,或只写年月(2026-11、2026年11月)"
_DATE = re.compile(
    r"^([0-9]{4})(?:[-/.]([0-9]{1,2})(?:[-/.]([0-9]{1,2}))?|年([0-9]{1,2})月(?:([0-9]{1,2})日)?)$"
)


def parse_day(value: Any, *, month_end: bool = False) -> date:
    """A date from a date or from text in DATE_PATTERN; a month alone is its first day, or its
    last with `month_end` (an inclusive upper bound: due by 2026年11月 is by 2026-11-30).

    Raises ValueError naming what was written and the accepted forms."""
    if isinstance(value, datetime):
        raise ValueError(f"应为日期,不是时刻: {value}")
    if isinstance(value, date):
        return value
    m = _DATE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ValueError(f"无法识别的日期「{value}」({DATE_HELP})")
    year, month_a, day_a, month_b, day_b = m.groups()
    month, day = int(month_a or month_b), day_a or day_b
    try:
        last = calendar.monthrange(int(year), month)[1]
        return date(int(year), month, int(day) if day else (last if month_end else 1))
    except ValueError:
        raise ValueError(f"日期不存在: {value}") from None


MONTH_PATTERN = r"^[0-9]{4}([-/.](0?[1-9]|1[0-2])|年(0?[1-9]|1[0-2])月)$"
"""A month: 2026-11, 2026/11, 2026.11, 2026年11月."""
_MONTH = re.compile(MONTH_PATTERN)


def month_text(value: Any) -> Any:
    """A month in MONTH_PATTERN → 'YYYY-MM' (2026年11月 → '2026-11'); ValueError otherwise."""
    if not isinstance(value, str):
        return value
    m = _MONTH.match(value)
    if m is None:
        raise ValueError(f"无法识别的月份「{value}」(可写 2026-11、2026/11、2026年11月)")
    return f"{value[:4]}-{int(m.group(2) or m.group(3)):02d}"


def _ledger_day(value: Any) -> date:
    day = parse_day(value)
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise ValueError(f"年份 {day.year} 超出范围 {MIN_YEAR}–{MAX_YEAR}")
    return day


def _first_day(value: Any) -> date:
    return parse_day(value)


def _last_day(value: Any) -> date:
    return parse_day(value, month_end=True)


_DATE_SCHEMA = WithJsonSchema(
    {"type": "string", "pattern": DATE_PATTERN, "examples": ["2026-11-30"]}
)
if TYPE_CHECKING:
    Day = date
    DayUpTo = date
    LedgerDay = date
    MonthIn = str
else:
    Day = Annotated[date, BeforeValidator(_first_day), _DATE_SCHEMA]
    """A date in DATE_PATTERN; a month alone is its first day."""
    DayUpTo = Annotated[date, BeforeValidator(_last_day), _DATE_SCHEMA]
    """An inclusive upper bound in DATE_PATTERN; a month alone is its last day."""
    LedgerDay = Annotated[date, BeforeValidator(_ledger_day), _DATE_SCHEMA]
    """A date of the ledger (commissioned, inspected…): a Day in 1900–2100, as the import takes."""
    MonthIn = Annotated[
        str,
        BeforeValidator(month_text),
        WithJsonSchema({"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-11"]}),
    ]
    """A month, stored as 'YYYY-MM'."""
