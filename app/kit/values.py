"""Lenient parsing of spreadsheet cell values: text keys, dates, numbers, booleans, numerals.

Domain-free: callers decide which parser a column needs. Every parser raises ValueError with a
short Chinese message a survey clerk can act on.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

Cell = object
"""A raw cell value as a reader gives it: None, str, int, float, bool, date, datetime…"""

_SPACE = re.compile(r"\s+")
EXCEL_EPOCH = date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 1900, 2100


def norm(text: str) -> str:
    """NFKC (full-width → half-width), no whitespace at all, lower case: a matching key."""
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def is_blank(value: Cell) -> bool:
    """None or a string of only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: Cell) -> str:
    """A cell as text: whole floats lose their '.0' (an id typed as a number stays an id)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


# --- dates ---------------------------------------------------------------------------------

_DATE_PATTERNS = [
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[t ]?\d{1,2}:\d{2}(?::\d{2})?)?$"),
    re.compile(r"^(\d{4})[-/.年](\d{1,2})月?()$"),
    re.compile(r"^(\d{4})年?()()$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]


def _ymd(year: int, month: int, day: int) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"年份 {year} 超出范围 {MIN_YEAR}–{MAX_YEAR}")
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"日期不存在: {year}-{month}-{day}") from None


def parse_date(value: Cell) -> date:
    """Excel dates, serials, year numbers, or text: 2005, 2005-03, 2005年3月, 2005.3.1, 2005/3/1.

    A year alone means 1 January, a year and month the first of that month.
    """
    if isinstance(value, datetime):
        return _ymd(value.year, value.month, value.day)
    if isinstance(value, date):
        return _ymd(value.year, value.month, value.day)
    if isinstance(value, bool):
        raise ValueError("不是日期")
    if isinstance(value, int | float):
        return _date_from_number(float(value))
    if isinstance(value, str):
        return _date_from_text(value)
    raise ValueError("不是日期")


def _date_from_number(number: float) -> date:
    if number.is_integer() and MIN_YEAR <= number <= MAX_YEAR:
        return date(int(number), 1, 1)
    if MIN_YEAR < number < MAX_YEAR + 1:  # 2005.3 typed as a number: year.month
        return _date_from_text(repr(number))
    if 1 <= number <= 73050:  # Excel serial day number, up to 2100-12-31
        return _ymd_checked(EXCEL_EPOCH + timedelta(days=int(number)))
    raise ValueError(f"无法识别的日期: {number:g}")


def _ymd_checked(d: date) -> date:
    return _ymd(d.year, d.month, d.day)


def _date_from_text(text: str) -> date:
    t = norm(text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(t)
        if m:
            year, month, day = (int(g) if g else 1 for g in m.groups())
            if not m.group(2) and pattern is not _DATE_PATTERNS[3]:
                month = 1
            return _ymd(year, month, day)
    try:
        return _date_from_number(float(t))
    except ValueError:
        pass
    raise ValueError(
        f"无法识别的日期: {text.strip()}(可用格式: 2005、2005-03、2005年3月、2005-03-01)"
    )


# --- numbers -------------------------------------------------------------------------------

_NUMBER = re.compile(r"^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:e([+-]?\d+))?(.*)$")


def split_number(value: Cell) -> tuple[Decimal, str]:
    """A number and the unit written after it: '1,200米' → (1200, '米'); 35 → (35, '')."""
    if isinstance(value, bool) or value is None:
        raise ValueError("不是数字")
    if isinstance(value, int):
        return Decimal(value), ""
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("不是数字")
        return _clean_float(value), ""
    if not isinstance(value, str):
        raise ValueError("不是数字")
    t = norm(value).replace(",", "").replace("，", "")
    m = _NUMBER.match(t)
    if not m:
        raise ValueError(f"不是数字: {value.strip()}")
    number, exponent, unit = m.groups()
    if any(ch.isdigit() for ch in unit):
        raise ValueError(f"不是一个数字: {value.strip()}")
    try:
        result = Decimal(number) * (Decimal(10) ** int(exponent) if exponent else 1)
    except InvalidOperation:
        raise ValueError(f"不是数字: {value.strip()}") from None
    return result, unit.strip("()[]")


def _clean_float(value: float) -> Decimal:
    """A float's shortest decimal form; binary noise (0.30000000000000004) rounds to 10 places."""
    d = Decimal(repr(value))
    exponent = d.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -10:
        d = d.quantize(Decimal("1e-10")).normalize()
    return d


def whole_number(number: Decimal, text: object) -> int:
    """The int value of a Decimal, or a ValueError when it has a fraction."""
    if number != number.to_integral_value():
        raise ValueError(f"应为整数: {cell_text(text)}")
    return int(number)


# --- pipe sizes ----------------------------------------------------------------------------

_DN = re.compile(r"^dn([0-9]+(?:\.[0-9]+)?)(?:mm|毫米)?$")
_MM = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(?:mm|毫米)?$")
_OUTSIDE = re.compile(r"^(?:[φø⌀∅]|de)[0-9]|[0-9][x×*][0-9]")
DN_PATTERN = r"^\s*([Dd][Nn])?\s*[0-9]{1,10}(\.0+)?\s*(mm|MM|毫米)?\s*$"
"""A nominal diameter as text, for the OpenAPI document: 150, DN150, dn150, DN 150, 150mm."""


def nominal_diameter(value: Cell) -> Cell:
    """A nominal diameter (公称直径 DN) written as text → whole millimetres: DN150, dn150,
    DN 150, 150mm, 150毫米 → 150 (numbers are left to the caller).

    Φ159, φ159×6 and De110 give an outside diameter (and wall), not DN: no rule turns one into
    the other without the pipe's standard (Φ159 steel is DN150, De160 PE is about DN150), so they
    are refused with a message saying so."""
    if not isinstance(value, str):
        return value
    key = norm(value)
    m = _DN.match(key) or _MM.match(key)
    if m:
        return whole_number(Decimal(m.group(1)), value.strip())
    if _OUTSIDE.search(key):
        raise ValueError(
            f"「{value.strip()}」是外径(×壁厚)的写法,本栏填公称直径 DN(毫米),"
            "如 DN150;请按管材规格换算成 DN 后填写"
        )
    raise ValueError(f"无法识别的管径「{value.strip()}」(可写 150、DN150、150mm)")


# --- booleans and numerals -----------------------------------------------------------------

TRUE_WORDS = frozenset({"是", "有", "y", "yes", "1", "true", "√", "✓", "✔", "对", "符合", "已"})
FALSE_WORDS = frozenset(
    {"否", "无", "n", "no", "0", "false", "×", "✗", "✘", "x", "不", "不符合", "未"}
)


def parse_bool(value: Cell) -> bool:
    """是/否, 有/无, Y/N, 1/0, true/false, √/× (and Excel booleans)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    key = norm(cell_text(value))
    if key in TRUE_WORDS:
        return True
    if key in FALSE_WORDS:
        return False
    raise ValueError(f"应为 是/否: {cell_text(value)}")


_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5}
_CN_DIGITS |= {"六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_ROMAN = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
    "vii": 7,
    "viii": 8,
    "ix": 9,
    "x": 10,
}


def parse_numeral(value: Cell, prefixes: tuple[str, ...] = ()) -> int:
    """A small ordinal in arabic, Chinese or Roman numerals, after an optional prefix: 国Ⅲ → 3."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return whole_number(Decimal(repr(value)), value)
    key = norm(cell_text(value))
    for prefix in prefixes:
        if key.startswith(prefix):
            key = key[len(prefix) :]
            break
    key = key.removesuffix("级").removesuffix("阶段")
    if key.isdigit():
        return int(key)
    if key in _CN_DIGITS:
        return _CN_DIGITS[key]
    if key in _ROMAN:
        return _ROMAN[key]
    raise ValueError(f"无法识别的等级: {cell_text(value)}")
