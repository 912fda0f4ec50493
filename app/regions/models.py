"""Administrative divisions (GB/T 2260)."""

from __future__ import annotations

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class Region(Base):
    """A province, prefecture-level city or district/county, keyed by its 6-digit code."""

    __tablename__ = "regions"
    __table_args__ = (Index("ix_regions_parent_code", "parent_code"),)

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))
    """province / city / district."""
    parent_code: Mapped[str | None] = mapped_column(String(6))
    province_code: Mapped[str] = mapped_column(String(2))
    """First two digits: chooses the rule pack."""
    full_name: Mapped[str] = mapped_column(String(200))
    """e.g. 河南省郑州市中原区; used to resolve 省/市/区 names on import."""


class RetiredRegion(Base):
    """A code no longer in use (merged, renamed, split) and the current codes its area went to."""

    __tablename__ = "retired_regions"

    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    full_name: Mapped[str] = mapped_column(String(200))
    """As it was, e.g. 北京市崇文区."""
    retired_in: Mapped[int | None] = mapped_column(Integer)
    """Year of the change (MCA list of that year no longer has the code)."""
    successors: Mapped[str] = mapped_column(String(200))
    """Current codes, `;`-separated: one resolves with a warning, several are ambiguous."""
    note: Mapped[str] = mapped_column(String(64), default="")
