"""Reads over administrative divisions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.regions.models import Region


def region_exists(session: Session, code: str) -> bool:
    return session.get(Region, code) is not None


def existing_codes(session: Session, codes: set[str]) -> set[str]:
    """Which of `codes` are known regions (one query, for bulk paths)."""
    if not codes:
        return set()
    found: set[str] = set()
    items = sorted(codes)
    for i in range(0, len(items), 900):
        found.update(
            session.scalars(select(Region.code).where(Region.code.in_(items[i : i + 900])))
        )
    return found


def list_regions(
    session: Session, *, parent: str | None = None, level: str | None = None, q: str | None = None
) -> Sequence[Region]:
    """Regions filtered by parent code, level or a name fragment, in code order."""
    stmt = select(Region).order_by(Region.code)
    if parent is not None:
        stmt = stmt.where(Region.parent_code == parent)
    if level is not None:
        stmt = stmt.where(Region.level == level)
    if q:
        stmt = stmt.where(Region.full_name.contains(q))
    return session.scalars(stmt).all()


def all_regions(session: Session) -> Sequence[Region]:
    return session.scalars(select(Region).order_by(Region.code)).all()


def narrowest(scope: str, region: str | None) -> str:
    """The region prefix a scoped, filtered listing covers: the filter when it lies inside the
    caller's scope, else the scope."""
    if region and region.startswith(scope):
        return region
    return scope


def region_label(session: Session, prefix: str | None) -> str:
    """A region prefix as people read it in a title or file name: 全国, 河南省, 河南省郑州市,
    河南省郑州市中原区; a prefix of no division (e.g. 3 digits) as 区划代码 410*."""
    prefix = prefix or ""
    if not prefix:
        return "全国"
    if len(prefix) in (2, 4, 6):
        code = prefix.ljust(6, "0")
        found = session.get(Region, code)
        if found is not None:
            return found.full_name or found.name
    return f"区划代码 {prefix}*"


def full_region_names(session: Session, codes: set[str]) -> dict[str, str]:
    """Full names (河南省郑州市中原区) of region codes, one query per 900 codes."""
    items = sorted(codes)
    out: dict[str, str] = {}
    for i in range(0, len(items), 900):
        stmt = select(Region.code, Region.full_name, Region.name).where(
            Region.code.in_(items[i : i + 900])
        )
        out.update({row.code: row.full_name or row.name for row in session.execute(stmt)})
    return out
