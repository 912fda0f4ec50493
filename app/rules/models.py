"""Stored flags: the result of evaluating a rule pack over an asset."""

from __future__ import annotations

import zlib
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.assets.spec import CATEGORIES
from app.db import Base, utcnow


def region_key(region_code: str) -> int:
    """A flag's region as a number (GB/T 2260 codes are six digits, so the order is the same)."""
    return int(region_code)


def region_key_range(prefix: str) -> tuple[int, int]:
    """The region_keys of the codes that start with `prefix` (2, 4 or 6 digits): [lo, hi)."""
    lo = int(prefix.ljust(6, "0"))
    return lo, lo + 10 ** (6 - len(prefix))


def category_key(category: str) -> int:
    """A flag's category as a number: its place among the categories in name order (-1: none)."""
    return _CATEGORY_KEYS.get(category, -1)


def rule_key(rule_id: str) -> int:
    """A flag's rule as a number (CRC-32 of the id; queries compare the id as well)."""
    return zlib.crc32(rule_id.encode()) & 0x7FFFFFFF


_CATEGORY_KEYS = {c: i for i, c in enumerate(sorted(CATEGORIES))}


def _given(context: Any, column: str) -> str:
    """A value of the row being inserted (the keys default to the numbers of the texts)."""
    value: str = context.get_current_parameters()[column]
    return value


class AssetFlag(Base):
    """One rule that holds (or cannot be decided) for one asset, as of an evaluation date.

    category and region_code are copied from the asset so the due list filters and sorts on
    this table's indexes alone. The flag's reason (the rule's title) and the facts it rests on (the
    asset's values of the fields the rule reads) are derived when read (evaluate.flag_reason,
    flag_facts): storing them took 4 of the 30 s of writing a million assets' flags.

    A flag is identified by its asset and rule (an asset is evaluated under one pack): the table
    has no surrogate id, whose sequence cost 3 of the 8 s of writing 3.7 million flags, and no
    primary-key index to maintain while a whole ledger's flags are appended (the unique index is
    built afterwards with the others).

    The due list's indexes lead with region_key, category_key and rule_key, numbers standing for
    region_code, category and rule_id: sorting 3.7 million index entries that lead with a
    near-constant text column took twice as long as with a number (bench/RESULTS-import.md).
    """

    __tablename__ = "asset_flags"
    # The due list walks one of the (…, due_on, asset_id) indexes in order: all flags, or those of a
    # category, district, rule, or the encouraged ones (which come late in due order).
    __table_args__ = (
        Index("ix_asset_flags_asset_id_rule_id", "asset_id", "rule_id", unique=True),
        Index("ix_asset_flags_due_on_asset_id", "due_on", "asset_id"),
        Index("ix_asset_flags_region_key_due_on_asset_id", "region_key", "due_on", "asset_id"),
        Index("ix_asset_flags_category_key_due_on_asset_id", "category_key", "due_on", "asset_id"),
        Index("ix_asset_flags_rule_key_due_on_asset_id", "rule_key", "due_on", "asset_id"),
        # /stats data gaps: the undecidable flags of a region, by category and rule
        Index(
            "ix_asset_flags_unknown_region_code",
            "region_code",
            "category",
            "rule_id",
            postgresql_where=text("level = 'unknown'"),
            sqlite_where=text("level = 'unknown'"),
        ),
        Index(
            "ix_asset_flags_encouraged_due_on",
            "due_on",
            "asset_id",
            postgresql_where=text("level = 'encouraged'"),
            sqlite_where=text("level = 'encouraged'"),
        ),
    )

    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    pack_id: Mapped[str] = mapped_column(String(8))
    pack_version: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(32))
    region_key: Mapped[int] = mapped_column(
        default=lambda ctx: region_key(_given(ctx, "region_code"))
    )
    """region_key(region_code)"""
    category_key: Mapped[int] = mapped_column(
        SmallInteger, default=lambda ctx: category_key(_given(ctx, "category"))
    )
    """category_key(category)"""
    rule_key: Mapped[int] = mapped_column(default=lambda ctx: rule_key(_given(ctx, "rule_id")))
    """rule_key(rule_id)"""
    level: Mapped[str] = mapped_column(String(16))
    """mandatory / assess / encouraged / unknown."""
    in_scope_on: Mapped[date | None]
    """Date the rule's condition starts to hold (forward-looking for age rules)."""
    due_on: Mapped[date | None]
    """Deadline by which the asset must be renewed or assessed; NULL for unknown flags."""
    missing: Mapped[list[str] | None] = mapped_column(JSON)
    """For unknown flags: the fields whose absence leaves the rule undecided."""
    as_of: Mapped[date]
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Copied from the asset, like category and region_code, so /stats sums quantities and counts
    # overdue assets from this table alone. Every change of an asset re-evaluates its flags.
    earliest: Mapped[bool] = mapped_column(default=False)
    """The asset's first-due flag of its level (mandatory, assess, encouraged): /stats counts
    each asset once per level by these rows."""
    length_m: Mapped[Decimal | None]
    capacity_tph: Mapped[Decimal | None]
    in_service: Mapped[bool] = mapped_column(default=False)

    __mapper_args__ = {"primary_key": [asset_id, rule_id]}  # noqa: RUF012


class RulePackRecord(Base):
    """Which version of each rule pack is loaded, so a changed pack triggers re-evaluation."""

    __tablename__ = "rule_packs"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    effective_on: Mapped[date]
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
