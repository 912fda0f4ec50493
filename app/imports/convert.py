"""Cell → field value for every (field, category) of the column spec, with the API's constraints.

The converters apply exactly the constraints of the per-category create schemas (CREATE_MODELS,
built from the same spec): text length, int bounds, decimal digits and places, enum codes per
category, strict booleans. A test proves they agree with CREATE_MODELS on generated rows; they
exist because per-row `model_validate` is the slowest stage of a million-row import.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from app.assets.notations import PRE_PARSERS, refuse_ambiguous
from app.assets.spec import (
    CATEGORIES,
    CATEGORY_VARIANTS,
    FieldSpec,
    choices_for,
    enum_index,
    label_of,
    upper_bound,
)
from app.kit.labels import parse_amount
from app.kit.values import (
    cell_text,
    is_blank,
    norm,
    parse_bool,
    parse_date,
    parse_numeral,
    split_number,
    whole_number,
)

Converter = Callable[[Any], Any]

UNIT_FACTORS: dict[str, dict[str, Decimal]] = {
    "capacity_tph": {
        "蒸吨/小时": Decimal(1),
        "蒸吨": Decimal(1),
        "t/h": Decimal(1),
        "吨/小时": Decimal(1),
        "吨": Decimal(1),
        "mw": 1 / Decimal("0.7"),
    },
    "length_m": {"米": Decimal(1), "m": Decimal(1), "km": Decimal(1000), "公里": Decimal(1000)},
    "rated_load_kg": {"kg": Decimal(1), "公斤": Decimal(1), "千克": Decimal(1), "t": Decimal(1000)},
    "mileage_km": {"km": Decimal(1), "公里": Decimal(1), "万公里": Decimal(10000)},
    "rated_power_kw": {"kw": Decimal(1), "千瓦": Decimal(1), "w": Decimal("0.001")},
}
"""Units a number may carry per field (value or header), as factors to the spec's unit.

0.7 MW = 1 t/h for boilers (DOMAIN.md §4); fields not listed accept any unit word after the number.
"""
NUMERAL_PREFIXES: dict[str, tuple[str, ...]] = {"emission_stage": ("国",)}
"""Int fields that also accept ordinals: 国三 / 国Ⅲ / 国III / 3 → 3."""

DECIMAL_PLACES, MAX_DIGITS = 4, 14


CATEGORY_INDEX: dict[str, str] = {
    norm(word): code
    for code, words in CATEGORY_VARIANTS.items()
    for word in (code, CATEGORIES[code], *words)
}


def category_of(value: Any) -> str:
    """A category code from its code, Chinese name or a common variant."""
    code = CATEGORY_INDEX.get(norm(cell_text(value)))
    if code is None:
        raise ValueError(
            f"未知的设备类别: {cell_text(value)}(可选: {'、'.join(CATEGORIES.values())})"
        )
    return code


def make_converter(spec: FieldSpec, category: str, header_unit: str = "") -> Converter:
    """The converter of one field in one category; blank cells are handled by the caller."""
    if spec.kind == "text":
        return _text(spec.max_length)
    if spec.kind == "date":
        return parse_date
    if spec.kind == "bool":
        return parse_bool
    if spec.kind == "enum":
        return _enum(spec, category)
    if spec.kind == "int":
        return _int(spec, header_unit)
    if spec.unit == "万元":
        return _amount(header_unit)
    return _decimal(spec, header_unit)


def _text(max_length: int) -> Converter:
    def convert(value: Any) -> str | None:
        text = cell_text(value)
        if len(text) > max_length:
            raise ValueError(f"超过 {max_length} 个字符")
        return text or None

    return convert


def _enum(spec: FieldSpec, category: str) -> Converter:
    index = enum_index(spec, category)
    allowed = choices_for(spec, category)
    shown = "、".join(label_of(spec, c, category) for c in allowed)

    def convert(value: Any) -> str:
        code = index.get(norm(cell_text(value)))
        if code is None:
            refuse_ambiguous(spec, category, cell_text(value))
            raise ValueError(f"无效的{spec.label}: {cell_text(value)}(可选: {shown})")
        return code

    return convert


def _number(spec: FieldSpec, value: Any, header_unit: str) -> Decimal:
    """The number in a cell in the spec's unit: '1,200米' → 1200, '2.8MW' → 4 (t/h)."""
    number, unit = split_number(value)
    factors = UNIT_FACTORS.get(spec.name)
    unit = norm(unit) or header_unit
    if factors is not None and unit:
        factor = factors.get(unit)
        if factor is None:
            raise ValueError(f"无法识别的单位 {unit}(可用: {'、'.join(factors)})")
        number = number * factor
    if spec.minimum is not None and number < Decimal(str(spec.minimum)):
        raise ValueError(f"应不小于 {spec.minimum:g}")
    maximum = upper_bound(spec)
    if maximum is not None and number > Decimal(str(maximum)):
        raise ValueError(f"应不大于 {Decimal(str(maximum)).normalize():f}")
    return number


def _int(spec: FieldSpec, header_unit: str) -> Converter:
    prefixes = NUMERAL_PREFIXES.get(spec.name)
    notation = PRE_PARSERS.get(spec.name)

    def convert(value: Any) -> int:
        if prefixes is not None:
            value = parse_numeral(value, prefixes)
        if notation is not None:
            value = notation(value)
        number = _number(spec, value, header_unit)
        return whole_number(number, value)

    return convert


def _decimal(spec: FieldSpec, header_unit: str) -> Converter:
    def convert(value: Any) -> Decimal:
        number = _number(spec, value, header_unit)
        if header_unit == "mw" or "mw" in norm(str(value)):
            number = number.quantize(Decimal(1).scaleb(-DECIMAL_PLACES))
        return check_digits(number)

    return convert


def _amount(header_unit: str) -> Converter:
    """A money cell → 万元: 8, '8万元', '80000元', '1.5亿元'; a bare number is in the header's
    unit (单价(元)), else 万元."""

    def convert(value: Any) -> Decimal:
        number = parse_amount(value, header_unit or "万元")
        if number < 0:
            raise ValueError("应不小于 0")
        return check_digits(number)

    return convert


def check_digits(number: Decimal) -> Decimal:
    """At most 4 decimal places and 14 digits (10 before the point), as Numeric(18, 4) holds."""
    n = number.normalize()
    _sign, digits, exponent = n.as_tuple()
    assert isinstance(exponent, int)
    places = max(0, -exponent)
    total = len(digits) + max(0, exponent)
    if places > DECIMAL_PLACES:
        raise ValueError(f"小数位不能超过 {DECIMAL_PLACES} 位")
    if total - places > MAX_DIGITS - DECIMAL_PLACES or max(total, places) > MAX_DIGITS:
        raise ValueError("数值过大")
    return number


def convert_cell(convert: Converter, value: Any) -> Any:
    """None for a blank cell, else the converted value (ValueError on a bad one)."""
    if is_blank(value):
        return None
    if isinstance(value, str):
        value = value.strip()
    return convert(value)
