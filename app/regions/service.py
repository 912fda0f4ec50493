"""Load the shipped division list and the retired-code successor map (idempotent).

`seed/regions/regions.csv` and `seed/regions/retired.csv` are built by `seed/regions/build.py` from
the published lists (sources and dates in the files' header lines, starting with `#`).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import ROOT
from app.regions.models import Region, RetiredRegion

REGIONS_CSV = ROOT / "seed" / "regions" / "regions.csv"
RETIRED_CSV = ROOT / "seed" / "regions" / "retired.csv"
GROUPING_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
"""Prefecture-level nodes that only group counties; not part of a full name."""


def read_seed(path: Path) -> list[dict[str, str]]:
    """The rows of a seed CSV, skipping its `#` header lines."""
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(_data_lines(fh)))


def _data_lines(lines: Iterator[str] | Any) -> Iterator[str]:
    for line in lines:
        if not line.startswith("#"):
            yield line


def full_names(rows: list[dict[str, str]]) -> dict[str, str]:
    """code → full name (河南省郑州市中原区; 北京市东城区 without 市辖区)."""
    names = {r["code"]: r["name"] for r in rows}
    parents = {r["code"]: r["parent_code"] or None for r in rows}
    out: dict[str, str] = {}
    for code in names:
        parts: list[str] = []
        cur: str | None = code
        while cur and cur != "000000" and cur in names:
            if names[cur] not in GROUPING_NAMES:
                parts.append(names[cur])
            cur = parents[cur]
        out[code] = "".join(reversed(parts)) or names[code]
    return out


def seed_regions(
    session: Session, path: Path = REGIONS_CSV, retired_path: Path = RETIRED_CSV
) -> int:
    """Insert or update every region and retired code of the seed files; returns rows changed.

    Nothing is deleted: a region the ledger still refers to stays (assets keep their code)."""
    rows = read_seed(path)
    full = full_names(rows)
    existing = {r.code: r for r in session.scalars(select(Region))}
    changed = 0
    for r in rows:
        values = {
            "name": r["name"],
            "level": r["level"],
            "parent_code": r["parent_code"] or None,
            "province_code": r["code"][:2],
            "full_name": full[r["code"]],
        }
        changed += _upsert(session, Region, existing.get(r["code"]), r["code"], values)
    if retired_path.exists():
        retired = {r.code: r for r in session.scalars(select(RetiredRegion))}
        for r in read_seed(retired_path):
            if r["code"] in full:
                continue
            old: dict[str, Any] = {
                "name": r["name"],
                "full_name": r["full_name"],
                "retired_in": int(r["retired_in"]) if r["retired_in"] else None,
                "successors": r["successors"],
                "note": r["note"],
            }
            changed += _upsert(session, RetiredRegion, retired.get(r["code"]), r["code"], old)
    session.flush()
    return changed


def _upsert(session: Session, model: Any, row: Any, code: str, values: dict[str, Any]) -> int:
    if row is None:
        session.add(model(code=code, **values))
        return 1
    if any(getattr(row, k) != v for k, v in values.items()):
        for k, v in values.items():
            setattr(row, k, v)
        return 1
    return 0
