"""Resolving a row's region: a 6-digit code, a full name, or 省/市/区 name columns."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.kit.values import norm
from app.regions.models import Region

_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "地区", "省", "市", "区", "县", "盟", "旗")
_CODE = re.compile(r"^\d{6}$")
LEVELS = {"district": "district", "city": "city", "province": "province"}


def loose(name: str) -> str:
    """A place name without its administrative suffix: 河南省 → 河南, 中原区 → 中原."""
    key = norm(name)
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix) + 1:
            return key[: -len(suffix)]
    return key


@dataclass(frozen=True)
class _Entry:
    code: str
    name: str
    level: str
    full_name: str
    ancestors: frozenset[str]


class RegionIndex:
    """All regions in memory (a few thousand at most), with a cache of resolved spellings."""

    def __init__(self, regions: Sequence[Region]) -> None:
        by_code = {r.code: r for r in regions}
        self.codes = frozenset(by_code)
        self.entries: list[_Entry] = []
        for r in regions:
            names: set[str] = set()
            parent = by_code.get(r.parent_code or "")
            while parent is not None and parent.code != "000000":
                names.add(loose(parent.name))
                parent = by_code.get(parent.parent_code or "")
            self.entries.append(
                _Entry(r.code, r.name, r.level, norm(r.full_name), frozenset(names))
            )
        self._cache: dict[tuple[str, ...], str | ValueError | None] = {}

    @classmethod
    def load(cls, session: Session) -> RegionIndex:
        """Every region of the database."""
        return cls(session.scalars(select(Region)).all())

    def resolve(self, text: str, parts: dict[str, str]) -> str | None:
        """The region code of a code/name cell or of 省/市/区 cells; None when all are blank."""
        key = (text, parts.get("province", ""), parts.get("city", ""), parts.get("district", ""))
        if key not in self._cache:
            try:
                self._cache[key] = self._resolve(*key)
            except ValueError as exc:
                self._cache[key] = exc
        hit = self._cache[key]
        if isinstance(hit, ValueError):
            raise hit
        return hit

    def _resolve(self, text: str, province: str, city: str, district: str) -> str | None:
        if text:
            if _CODE.match(text):
                if text not in self.codes:
                    raise ValueError(f"未知的行政区划代码: {text}")
                return text
            return self._by_full_name(text)
        if not (province or city or district):
            return None
        return self._by_parts(province, city, district)

    def _by_full_name(self, text: str) -> str:
        key = norm(text)
        exact = [e for e in self.entries if e.full_name == key]
        found = exact or [
            e for e in self.entries if e.full_name.endswith(key) and e.level != "national"
        ]
        return self._one(found, text)

    def _by_parts(self, province: str, city: str, district: str) -> str:
        target, level = next(
            (n, lv)
            for n, lv in ((district, "district"), (city, "city"), (province, "province"))
            if n
        )
        found = [e for e in self.entries if e.level == level and loose(e.name) == loose(target)]
        for outer in (city, province):
            if outer and outer != target:
                found = [e for e in found if loose(outer) in e.ancestors]
        return self._one(found, "/".join(p for p in (province, city, district) if p))

    def _one(self, found: list[_Entry], text: str) -> str:
        if not found:
            raise ValueError(f"无法识别的行政区划: {text}")
        if len(found) > 1:
            options = "、".join(f"{e.code} {e.full_name}" for e in found[:5])
            raise ValueError(f"行政区划 {text} 不唯一({options});请补充省/市或填写行政区划代码")
        return found[0].code
