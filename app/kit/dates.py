"""Dates in the service's time zone (China Standard Time, UTC+8, no daylight saving)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")


def today() -> date:
    """Today's date in China, the default `as_of` of every evaluation."""
    return datetime.now(CST).date()
