"""Lenient cell parsing: the spellings district survey clerks actually type."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from app.kit.values import norm, parse_bool, parse_date, parse_numeral, split_number


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2005", date(2005, 1, 1)),
        ("2005-03", date(2005, 3, 1)),
        ("2005年3月", date(2005, 3, 1)),
        ("2005.3.1", date(2005, 3, 1)),
        ("2005/3/1", date(2005, 3, 1)),
        ("2005年3月1日", date(2005, 3, 1)),
        (" 2005-03-01 ", date(2005, 3, 1)),
        ("２００５年３月", date(2005, 3, 1)),
        ("20050301", date(2005, 3, 1)),
        ("2005-03-01 00:00:00", date(2005, 3, 1)),
        (2005, date(2005, 1, 1)),
        (2005.0, date(2005, 1, 1)),
        (38412, date(2005, 3, 1)),
        (38412.0, date(2005, 3, 1)),
        (date(2005, 3, 1), date(2005, 3, 1)),
        (datetime(2005, 3, 1, 8, 30, tzinfo=UTC), date(2005, 3, 1)),
    ],
)
def test_dates_in_every_accepted_form(raw: object, expected: date) -> None:
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["2005-13", "2005-02-30", "三月", "1850", "N/A", True])
def test_bad_dates_are_refused_with_a_message(raw: object) -> None:
    with pytest.raises(ValueError, match=r"日期|年份"):
        parse_date(raw)


@pytest.mark.parametrize(
    ("raw", "number", "unit"),
    [
        ("1,200米", Decimal(1200), "米"),
        ("35蒸吨", Decimal(35), "蒸吨"),
        (" 1.5 m/s ", Decimal("1.5"), "m/s"),
        ("１２００", Decimal(1200), ""),
        (12.5, Decimal("12.5"), ""),
        (0.1 + 0.2, Decimal("0.3"), ""),
        (7, Decimal(7), ""),
    ],
)
def test_numbers_with_units_and_separators(raw: object, number: Decimal, unit: str) -> None:
    assert split_number(raw) == (number, unit)


@pytest.mark.parametrize("raw", ["约100", "12-15", "", "abc", None, True])
def test_non_numbers_are_refused(raw: object) -> None:
    with pytest.raises(ValueError):
        split_number(raw)


@pytest.mark.parametrize("raw", ["是", "有", "Y", "y", "1", 1, "true", "TRUE", "√", True])
def test_true_words(raw: object) -> None:
    assert parse_bool(raw) is True


@pytest.mark.parametrize("raw", ["否", "无", "N", "0", 0.0, "false", "×", False])
def test_false_words(raw: object) -> None:
    assert parse_bool(raw) is False


def test_unclear_boolean_is_refused() -> None:
    with pytest.raises(ValueError, match="是/否"):
        parse_bool("不清楚")


@pytest.mark.parametrize("raw", ["国三", "国Ⅲ", "国III", "国3", "3", 3, 3.0, "Ⅲ", "国 三"])
def test_numerals_with_prefix(raw: object) -> None:
    assert parse_numeral(raw, ("国",)) == 3


def test_norm_folds_width_spaces_and_case() -> None:
    assert norm(" 设 备\u3000编号（ＫＷ） ") == "设备编号(kw)"
