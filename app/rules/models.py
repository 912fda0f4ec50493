"""Stored flags: the result of evaluating a rule pack over an asset."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class AssetFlag(Base):
    """One rule that holds (or cannot be decided) for one asset, as of an evaluation date.

    category and region_code are copied from the asset so the due list filters and sorts on
    this table's indexes alone. The flag's reason (the rule's title) and the facts it rests on (the
    asset's values of the fields the rule reads) are derived when read (evaluate.flag_reason,
    flag_facts): storing them took 4 of the 30 s of writing a million assets' flags.
    """

    __tablename__ = "asset_flags"
    # The due list walks one of the (…, due_on, asset_id) indexes in order: all flags, or those of a
    # category, district, rule, or the encouraged ones (which come late in due order).
    __table_args__ = (
        Index("ix_asset_flags_due_on_asset_id", "due_on", "asset_id"),
        Index("ix_asset_flags_region_code_due_on_asset_id", "region_code", "due_on", "asset_id"),
        Index("ix_asset_flags_category_due_on_asset_id", "category", "due_on", "asset_id"),
        Index("ix_asset_flags_asset_id", "asset_id"),
        Index("ix_asset_flags_rule_id_due_on_asset_id", "rule_id", "due_on", "asset_id"),
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

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6))
    pack_id: Mapped[str] = mapped_column(String(8))
    pack_version: Mapped[str] = mapped_column(String(16))
    rule_id: Mapped[str] = mapped_column(String(32))
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


class RulePackRecord(Base):
    """Which version of each rule pack is loaded, so a changed pack triggers re-evaluation."""

    __tablename__ = "rule_packs"

    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    version: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    effective_on: Mapped[date]
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(default=utcnow)
