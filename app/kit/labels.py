"""Chinese labels, amounts and dates as people write them, for API filters and bodies.

The exports write Chinese labels (电梯, 已更新, 强制更新), amounts in 万元 and dates such as
2026年11月; the API takes those back wherever it takes the codes. Domain-free: callers pass the
code → label tables (app/assets/spec.py, the export modules).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from app.kit.values import norm, parse_date, split_number

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

AMOUNT_UNITS = {"": Decimal(1), "万元": Decimal(1), "万": Decimal(1), "元": Decimal("0.0001")}
AMOUNT_UNITS["亿元"] = AMOUNT_UNITS["亿"] = Decimal(10000)
AMOUNT_PATTERN = r"^\s*\+?(\d+(\.\d*)?|\.\d+)\s*(万元|万|元|亿元|亿)?\s*$"
"""An amount in 万元 as text: 8, 8.5, 8万元, 80000元, 0.5亿元."""


def amount_in_wan(value: Any) -> Any:
    """An amount written with its unit → a Decimal in 万元 (other values are left for the
    field's own validation): '8万元' → 8, '80000元' → 8, '0.5亿元' → 5000."""
    if not isinstance(value, str) or not re.match(AMOUNT_PATTERN, value):
        return value
    number, unit = split_number(value)
    return number * AMOUNT_UNITS[unit]


# --- dates and months ----------------------------------------------------------------------

_CN_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?\s*$")
_CN_MONTH = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*$")


def chinese_date(value: Any) -> date | None:
    """2026年11月5日 → 2026-11-05, 2026年11月 → 2026-11-01; None when not written that way.

    A date that does not exist (2026年2月30日) raises ValueError."""
    if not isinstance(value, str) or not _CN_DATE.match(value):
        return None
    return parse_date(value)


def chinese_month(value: Any) -> Any:
    """2026年11月 → '2026-11' (anything else is left for the field's own validation)."""
    if isinstance(value, str):
        m = _CN_MONTH.match(value)
        if m:
            return f"{m.group(1)}-{int(m.group(2)):02d}"
    return value
