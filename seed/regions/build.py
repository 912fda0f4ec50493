"""Build seed/regions/regions.csv and seed/regions/retired.csv from the published division lists.

    python seed/regions/build.py --nbs PATH --mca PATH [--out seed/regions]

--nbs: a checkout (or bare git directory) of github.com/modood/Administrative-divisions-of-China,
       whose dist/provinces.csv, dist/cities.csv and dist/areas.csv are the 国家统计局
       2023年统计用区划代码 (截止 2023-06-30, 发布 2023-09-11): provinces, prefectures, counties.
--mca: a checkout (or bare git directory) of github.com/yescallop/areacodes (CC0): 民政部
       县级以上行政区划代码 for every year since 1981 (data/YYYY.txt) and result.csv, every
       code ever used with its status and the codes its area went to (新代码).

Only the rows (facts) of both are read; nothing of their code. The output is deterministic: the
same inputs give byte-identical files, so a rebuild is reviewable as a diff.

Current divisions = the NBS rows, plus the codes of the newest MCA year that NBS does not have yet
(divisions created after 2023-06-30, e.g. 653228 和康县). NBS pseudo-units that only group counties
(市辖区, 县, 省直辖县级行政区划) stay as prefecture-level nodes of the tree; a county-level row that
repeats its prefecture's code (441900 东莞市) is the prefecture itself. Each row's `source` says
where it comes from: `both` (MCA and NBS), `nbs` (a statistical code only: development zones and
the like, 130171 石家庄高新技术产业开发区), `mca` (newer than the NBS list).

Retired codes = every code of result.csv that is not current, with its successors: the codes its
area went to when it was retired (新代码 without a [year] mark), followed through later
retirements to current codes. A code with one successor resolves to it (with a warning); one with
several is ambiguous and names them. NBS county-level codes that only duplicate a prefecture
(620201 嘉峪关市 under 620200) are retired entries pointing at the prefecture.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

NBS_FILES = ("dist/provinces.csv", "dist/cities.csv", "dist/areas.csv")
NBS_DATASET = "国家统计局 2023年统计用区划代码 (截止 2023-06-30, 发布 2023-09-11)"
MCA_DATASET = "民政部 县级以上行政区划代码 {year} (截至 {year}-12-31)"
GROUPING = ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划")
_MARK = re.compile(r"^(\d{6})(?:\[(\d{4})\])?$")


class Source:
    """Files of one repository: a work tree, or a bare git directory read with `git show`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.bare = not (path / ".git").exists() and (path / "HEAD").exists()

    def read(self, name: str) -> str:
        if self.bare:
            out = subprocess.run(
                ["git", "--git-dir", str(self.path), "show", f"HEAD:{name}"],
                check=True,
                capture_output=True,
            ).stdout
        else:
            out = (self.path / name).read_bytes()
        return out.decode("utf-8-sig")

    def names(self, folder: str) -> list[str]:
        if self.bare:
            out = subprocess.run(
                ["git", "--git-dir", str(self.path), "ls-tree", "--name-only", f"HEAD:{folder}"],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            return sorted(f"{folder}/{n}" for n in out.split())
        return sorted(f"{folder}/{p.name}" for p in (self.path / folder).iterdir())

    def commit(self) -> str:
        args = ["git", "--git-dir", str(self.path)] if self.bare else ["git", "-C", str(self.path)]
        try:
            return subprocess.run(
                [*args, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return "unknown"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def build(nbs: Source, mca: Source) -> tuple[list[dict[str, str]], list[dict[str, str]], dict]:
    """(current rows, retired rows, facts for the header)."""
    provinces, cities, areas = (_rows(nbs.read(n)) for n in NBS_FILES)
    years = [n for n in mca.names("data") if re.fullmatch(r"data/\d{4}\.txt", n)]
    latest = years[-1]
    year = latest[5:9]
    newest: dict[str, str] = {}
    for line in mca.read(latest).splitlines():
        if line.strip():
            code, name = line.split(None, 1)
            newest[code] = name.strip()

    current: dict[str, dict[str, str]] = {
        "000000": {"code": "000000", "name": "全国", "level": "national", "parent_code": ""}
    }
    aliases: dict[str, tuple[str, str]] = {}
    for r in provinces:
        code = r["code"] + "0000"
        current[code] = {
            "code": code,
            "name": r["name"],
            "level": "province",
            "parent_code": "000000",
        }
    for r in cities:
        code = r["code"] + "00"
        parent = r["provinceCode"] + "0000"
        current[code] = {"code": code, "name": r["name"], "level": "city", "parent_code": parent}
    for r in areas:
        code, parent = r["code"], r["cityCode"] + "00"
        if code in current:  # 441900 东莞市: a prefecture without counties
            continue
        if r["name"] == current[parent]["name"] and code not in newest:
            aliases[code] = (r["name"], parent)  # 620201 嘉峪关市 under 620200 嘉峪关市
            continue
        current[code] = {
            "code": code,
            "name": r["name"],
            "level": "district",
            "parent_code": parent,
        }
    for code, name in sorted(newest.items()):
        if code in current:
            if current[code]["name"] != name:
                current[code]["name"] = name  # the newer MCA name
            continue
        if code.endswith("0000"):
            level, parent = "province", "000000"
        elif code.endswith("00"):
            level, parent = "city", code[:2] + "0000"
        else:
            level, parent = "district", code[:4] + "00"
            if parent not in current:
                parent = code[:2] + "0000"
        current[code] = {"code": code, "name": name, "level": level, "parent_code": parent}
    nbs_codes = {r["code"] + "0000" for r in provinces} | {r["code"] + "00" for r in cities}
    nbs_codes |= {r["code"] for r in areas}
    for code, row in current.items():
        in_mca, in_nbs = code in newest, code in nbs_codes
        row["source"] = (
            "" if code == "000000" else "both" if in_mca and in_nbs else "mca" if in_mca else "nbs"
        )
    retired = _retired(mca, current, aliases)
    facts = {"mca_year": year, "nbs_commit": nbs.commit(), "mca_commit": mca.commit()}
    return [current[c] for c in sorted(current)], retired, facts


def _retired(
    mca: Source, current: dict[str, dict[str, str]], aliases: dict[str, tuple[str, str]]
) -> list[dict[str, str]]:
    """Codes no longer in use, each with its current successors."""
    records: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in _rows(mca.read("result.csv")):
        records[r["代码"]].append(r)
    last = {
        code: max(rs, key=lambda r: (r["启用时间"], r["变更/弃用时间"] or "9999"))
        for code, rs in records.items()
    }

    def successors_of(code: str, seen: frozenset[str]) -> set[str]:
        if code in current:
            return {code}
        if code in seen or code not in last:
            return set()
        r = last[code]
        marks = [_MARK.match(p) for p in r["新代码"].split(";") if p]
        plain = [m.group(1) for m in marks if m and not m.group(2)]
        nxt = plain or [m.group(1) for m in marks if m]
        out: set[str] = set()
        for n in nxt:
            out |= successors_of(n, seen | {code})
        return out

    rows: list[dict[str, str]] = []
    for code in sorted(last):
        if code in current:
            continue
        r = last[code]
        found = sorted(successors_of(code, frozenset()))
        if not found:
            continue
        parent = "" if r["级别"] == "省级" else r["二级行政区"]
        if parent in ("直辖", r["名称"]):
            parent = ""
        full = r["一级行政区"] + parent + ("" if r["级别"] == "省级" else r["名称"])
        rows.append(
            {
                "code": code,
                "name": r["名称"],
                "full_name": full,
                "retired_in": r["变更/弃用时间"],
                "successors": ";".join(found),
                "note": "",
            }
        )
    for code, (name, parent) in sorted(aliases.items()):
        rows.append(
            {
                "code": code,
                "name": name,
                "full_name": name,
                "retired_in": "",
                "successors": parent,
                "note": "统计用代码",
            }
        )
    rows.sort(key=lambda r: r["code"])
    return rows


def write(
    out: Path, current: list[dict[str, str]], retired: list[dict[str, str]], facts: dict
) -> None:
    mca_name = MCA_DATASET.format(year=facts["mca_year"])
    header = [
        "# 行政区划 (GB/T 2260 县级及以上; 国家统计局统计用区划代码)",
        f"# sources: {NBS_DATASET},",
        f"#   github.com/modood/Administrative-divisions-of-China@{facts['nbs_commit'][:12]};",
        f"#   {mca_name}, github.com/yescallop/areacodes@{facts['mca_commit'][:12]} (CC0)",
        "# built by seed/regions/build.py; do not edit by hand",
        "# source column: both = MCA and NBS, nbs = statistical code only,",
        "#   mca = newer than the NBS list",
    ]
    _write(out / "regions.csv", header, ["code", "name", "level", "parent_code", "source"], current)
    header_r = [
        "# 已撤销或变更的行政区划代码及其现行承继代码 (多个: 区域已分属多个区划)",
        f"# source: {mca_name},",
        f"#   github.com/yescallop/areacodes@{facts['mca_commit'][:12]} result.csv (CC0)",
        "# built by seed/regions/build.py; do not edit by hand",
    ]
    fields = ["code", "name", "full_name", "retired_in", "successors", "note"]
    _write(out / "retired.csv", header_r, fields, retired)


def _write(path: Path, header: list[str], fields: list[str], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    for line in header:
        buf.write(line + "\n")
    writer = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nbs", type=Path, required=True)
    p.add_argument("--mca", type=Path, required=True)
    p.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = p.parse_args(argv)
    current, retired, facts = build(Source(args.nbs), Source(args.mca))
    write(args.out, current, retired, facts)
    levels = defaultdict(int)
    for r in current:
        levels[r["level"]] += 1
    print(f"{len(current)} divisions {dict(levels)}; {len(retired)} retired codes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
