"""Load the shipped GB/T 2260 region list (idempotent)."""

from __future__ import annotations

import csv
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import ROOT
from app.regions.models import Region

REGIONS_CSV = ROOT / "seed" / "regions" / "regions.csv"


def seed_regions(session: Session, path: Path = REGIONS_CSV) -> int:
    """Insert or update every region of the seed file; returns how many rows changed."""
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    names = {r["code"]: r["name"] for r in rows}
    parents = {r["code"]: r["parent_code"] or None for r in rows}

    def full_name(code: str) -> str:
        parts: list[str] = []
        cur: str | None = code
        while cur and cur != "000000":
            if names[cur] != "市辖区":
                parts.append(names[cur])
            cur = parents[cur]
        return "".join(reversed(parts)) or names[code]

    existing = {r.code: r for r in session.scalars(select(Region))}
    changed = 0
    for r in rows:
        values = {
            "name": r["name"],
            "level": r["level"],
            "parent_code": r["parent_code"] or None,
            "province_code": r["code"][:2],
            "full_name": full_name(r["code"]),
        }
        region = existing.get(r["code"])
        if region is None:
            session.add(Region(code=r["code"], **values))
            changed += 1
        elif any(getattr(region, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(region, k, v)
            changed += 1
    session.flush()
    return changed
