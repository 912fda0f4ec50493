"""Resolving a region as people write it: a 6-digit code (current, or retired with a successor), a
name in one cell (河南省郑州市中原区, 郑州中原区, 中原区) or 省/市/区 in separate cells.

Everything is in memory: dicts built once from the regions table (a few thousand rows), and a
cache of resolved spellings, so a survey of a million rows costs one dict hit per row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.kit.values import norm
from app.regions.models import Region, RetiredRegion
from app.regions.service import GROUPING_NAMES

_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "自治旗",
    "地区",
    "林区",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "盟",
    "旗",
)
_CODE = re.compile(r"^\d{6}$")
MAX_CANDIDATES = 5


def loose(name: str) -> str:
    """A place name without its administrative suffix: 河南省 → 河南, 中原区 → 中原."""
    key = norm(name)
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


class _RegionRow(Protocol):
    code: str
    name: str
    level: str
    parent_code: str | None
    full_name: str


class _RetiredRow(Protocol):
    code: str
    name: str
    full_name: str
    retired_in: int | None
    successors: str


@dataclass(frozen=True)
class _Entry:
    code: str
    name: str
    level: str
    full_name: str
    forms: tuple[str, ...]
    """How the name may be written: as is, without suffix."""
    ancestors: tuple[tuple[str, ...], ...]
    """The forms of each ancestor, nearest first (national excluded)."""


@dataclass(frozen=True)
class Resolved:
    """A resolved region: the current code, and a warning when a retired code was replaced."""

    code: str
    note: str | None = None


class RegionIndex:
    """Every region in dicts built once: by code, by every written form of a name, retired codes."""

    def __init__(self, regions: Iterable[_RegionRow], retired: Iterable[_RetiredRow] = ()) -> None:
        rows = [r for r in regions if r.level != "national"]
        by_code = {r.code: r for r in rows}
        self.codes = frozenset(by_code)
        self.entries: dict[str, _Entry] = {}
        self.by_form: dict[str, list[_Entry]] = defaultdict(list)
        for r in rows:
            chain: list[tuple[str, ...]] = []
            parent = by_code.get(r.parent_code or "")
            while parent is not None:
                chain.append(_forms(parent.name))
                parent = by_code.get(parent.parent_code or "")
            entry = _Entry(r.code, r.name, r.level, r.full_name, _forms(r.name), tuple(chain))
            self.entries[r.code] = entry
            if r.name not in GROUPING_NAMES:
                for form in entry.forms:
                    self.by_form[form].append(entry)
        self.longest = max((len(f) for f in self.by_form), default=0)
        self.retired: dict[str, _RetiredRow] = {old.code: old for old in retired}
        self.retired_by_name: dict[str, list[_RetiredRow]] = defaultdict(list)
        for old in self.retired.values():
            self.retired_by_name[norm(old.full_name)].append(old)
        self._cache: dict[tuple[str, str, str, str, str], Resolved | ValueError | None] = {}

    @classmethod
    def load(cls, session: Session) -> RegionIndex:
        """Every region and retired code of the database."""
        # plain rows, not ORM objects: a third of the time for ~6,400 rows
        regions = session.execute(
            select(Region.code, Region.name, Region.level, Region.parent_code, Region.full_name)
        ).all()
        retired = session.execute(
            select(
                RetiredRegion.code,
                RetiredRegion.name,
                RetiredRegion.full_name,
                RetiredRegion.retired_in,
                RetiredRegion.successors,
            )
        ).all()
        return cls(regions, retired)

    def resolve(self, text: str, parts: dict[str, str], scope: str = "") -> Resolved | None:
        """The region of a code/name cell or of 省/市/区 cells (None when all are blank); `scope`
        (the caller's region prefix) picks among equal names. ValueError names the problem."""
        key = (
            text,
            parts.get("province", ""),
            parts.get("city", ""),
            parts.get("district", ""),
            scope,
        )
        hit = self._cache.get(key)
        if hit is None and key not in self._cache:
            try:
                hit = self._resolve(*key)
            except ValueError as exc:
                hit = exc
            self._cache[key] = hit
        if isinstance(hit, ValueError):
            raise hit
        return hit

    def _resolve(
        self, text: str, province: str, city: str, district: str, scope: str
    ) -> Resolved | None:
        text = text.strip()
        if text:
            if _CODE.match(text):
                return self._by_code(text)
            if text.isdigit():
                raise ValueError(f"行政区划代码应为 6 位数字: {text}")
            return self._by_name(text, text, scope)
        written = "/".join(p for p in (province, city, district) if p)
        if not written:
            return None
        return self._by_name("".join(p.strip() for p in (province, city, district)), written, scope)

    def _by_code(self, code: str) -> Resolved:
        if code in self.codes:
            return Resolved(code)
        old = self.retired.get(code)
        if old is None:
            raise ValueError(f"未知的行政区划代码: {code}")
        return self._successor(old, f"行政区划代码 {code}")

    def _successor(self, old: _RetiredRow, what: str) -> Resolved:
        when = f"已于{old.retired_in}年撤销或变更" if old.retired_in else "不是民政部代码"
        what = what if old.full_name in what else f"{what}({old.full_name})"
        found = [self.entries[c] for c in old.successors.split(";") if c in self.entries]
        if not found:
            raise ValueError(f"{what}{when}, 无现行代码")
        if len(found) > 1:
            options = "、".join(f"{e.code} {e.full_name}" for e in found[:MAX_CANDIDATES])
            raise ValueError(f"{what}{when}, 其区域现分属 {options};请填写现行代码")
        new = found[0]
        note = f"{what}{when}, 已按现行代码 {new.code} {new.full_name} 处理"
        return Resolved(new.code, note)

    def _by_name(self, text: str, written: str, scope: str) -> Resolved:
        key = norm(text)
        found = self._matches(key)
        if not found:
            old = self.retired_by_name.get(key, [])
            if len(old) == 1:
                return self._successor(old[0], f"行政区划 {written}")
            raise ValueError(f"无法识别的行政区划: {written}")
        if len(found) > 1 and scope:
            inside = [e for e in found if e.code.startswith(scope)]
            found = inside or found
        if len(found) > 1:
            found.sort(key=lambda e: e.code)
            options = "、".join(f"{e.code} {e.full_name}" for e in found[:MAX_CANDIDATES])
            more = f" 等 {len(found)} 个" if len(found) > MAX_CANDIDATES else ""
            raise ValueError(
                f"行政区划 {written} 不唯一({options}{more});请补充省/市或填写行政区划代码"
            )
        return Resolved(found[0].code)

    def _matches(self, key: str) -> list[_Entry]:
        """Entries whose name ends the text and whose ancestors, in order, account for the rest."""
        out: dict[str, _Entry] = {}
        for start in range(max(0, len(key) - self.longest), len(key)):
            for entry in self.by_form.get(key[start:], ()):
                if _chain_matches(key[:start], entry.ancestors):
                    out[entry.code] = entry
        return list(out.values())


def _forms(name: str) -> tuple[str, ...]:
    full, short = norm(name), loose(name)
    return (full,) if short == full else (full, short)


def _chain_matches(prefix: str, ancestors: tuple[tuple[str, ...], ...]) -> bool:
    """Can `prefix` be written as some of the ancestors' forms, outermost first?"""
    if not prefix:
        return True
    for i, forms in enumerate(ancestors):
        for form in forms:
            if prefix.endswith(form) and _chain_matches(prefix[: -len(form)], ancestors[i + 1 :]):
                return True
    return False


_SHARED: dict[str, tuple[tuple[int, int], RegionIndex]] = {}


def shared_index(session: Session) -> RegionIndex:
    """The index of this database, built once per process (rebuilt when the tables' row counts
    change, i.e. after a seed run of a newer list)."""
    key = str(session.get_bind().engine.url)
    stamp = (
        session.scalar(select(func.count()).select_from(Region)) or 0,
        session.scalar(select(func.count()).select_from(RetiredRegion)) or 0,
    )
    hit = _SHARED.get(key)
    if hit is None or hit[0] != stamp:
        hit = _SHARED[key] = (stamp, RegionIndex.load(session))
    return hit[1]
