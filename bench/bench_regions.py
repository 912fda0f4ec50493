"""What the full division table costs the import: the region index's build (once per import) and
the per-row region lookup, with the full table against the old 184-row table, over generated rows.

    .venv/bin/python bench/bench_regions.py [--rows 100000] [--repeat 5]

No database: both indexes are built from the seed CSVs (the old one from git, commit a8ae099) and
the rows go through the importer's RowMapper, so the numbers are the parser's own path. Cases:
- `codes-8`: the 8 districts of bench_import.py in a 行政区划代码 column (its workload);
- `codes-all`: every district of the table, cycled (a national survey: many distinct cells);
- `names`: 省/市/区 name columns (河南省 / 郑州市 / 中原区), every district of the table cycled;
- `one-cell`: the full name in one cell (河南省郑州市中原区), every district cycled.
Each row also carries an asset code and a material, as a minimal gas-pipe row; the figure of
interest is the difference between the tables and the region part of a row's cost.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.accounts.scope import Principal  # noqa: E402
from app.imports.headers import layout  # noqa: E402
from app.imports.rows import RowMapper  # noqa: E402
from app.regions.lookup import RegionIndex  # noqa: E402
from app.regions.service import (  # noqa: E402
    REGIONS_CSV,
    RETIRED_CSV,
    full_names,
    read_seed,
)

OLD_COMMIT = "a8ae099"
BENCH_DISTRICTS = ["410102", "410103", "410105", "130102", "310101", "140105", "440103", "110105"]
IMPORT_SECONDS_1M = 32.8
"""First import of 1M rows on PostgreSQL, committed (bench/RESULTS-import.md, round 6)."""


@dataclass
class Row:
    code: str
    name: str
    level: str
    parent_code: str | None
    full_name: str


@dataclass
class Old:
    code: str
    name: str
    full_name: str
    retired_in: int | None
    successors: str


def regions(rows: list[dict[str, str]]) -> list[Row]:
    full = full_names(rows)
    return [
        Row(r["code"], r["name"], r["level"], r["parent_code"] or None, full[r["code"]])
        for r in rows
    ]


def old_rows() -> list[dict[str, str]]:
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{OLD_COMMIT}:seed/regions/regions.csv"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    import csv

    return list(csv.DictReader(io.StringIO(text)))


def retired() -> list[Old]:
    return [
        Old(
            r["code"],
            r["name"],
            r["full_name"],
            int(r["retired_in"]) if r["retired_in"] else None,
            r["successors"],
        )
        for r in read_seed(RETIRED_CSV)
    ]


def build(table: list[Row], old: list[Old], repeat: int) -> tuple[RegionIndex, float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        index = RegionIndex(table, old)
        times.append(time.perf_counter() - t)
    return index, statistics.median(times)


def mapper(index: RegionIndex, names: bool) -> RowMapper:
    if names:
        headers = {0: "管段编号", 1: "省", 2: "市", 3: "区县", 4: "管材"}
    else:
        headers = {0: "管段编号", 1: "行政区划代码", 2: "管材"}
    lay = layout("燃气管道", 0, headers, headers)
    lay.category = "gas_pipe"
    return RowMapper(lay, index, Principal(None, "bench", "admin"), {})


def rows_for(case: str, table: list[Row], n: int) -> list[list[Any]]:
    by_code = {r.code: r for r in table}
    districts = [r for r in table if r.level == "district"]
    if case == "codes-8":
        cells = [[c] for c in BENCH_DISTRICTS if c in by_code]
    elif case == "codes-all":
        cells = [[r.code] for r in districts]
    elif case == "one-cell":
        cells = [[r.full_name] for r in districts]
    else:
        cells = []
        for r in districts:
            city = by_code.get(r.parent_code or "")
            province = by_code.get(r.code[:2] + "0000")
            cells.append(
                [
                    province.name if province else "",
                    city.name if city and city.name != "市辖区" else "",
                    r.name,
                ]
            )
    return [[f"P{i:08d}", *cells[i % len(cells)], "钢"] for i in range(n)]


def run(index: RegionIndex, case: str, table: list[Row], n: int, repeat: int) -> tuple[float, int]:
    rows = rows_for(case, table, n)
    times, rejected = [], 0
    for _ in range(repeat):
        m = mapper(index, case == "names")
        index._cache.clear()
        t = time.perf_counter()
        rejected = 0
        for i, values in enumerate(rows):
            if type(m.map(i + 1, 0, values)).__name__ == "Rejected":
                rejected += 1
        times.append(time.perf_counter() - t)
    return statistics.median(times) / n * 1e6, rejected


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args()
    old_table = regions(old_rows())
    new_table = regions(read_seed(REGIONS_CSV))
    old_index, old_build = build(old_table, [], args.repeat)
    new_index, new_build = build(new_table, retired(), args.repeat)
    print(
        f"tables: old {len(old_table)} regions, new {len(new_table)} regions"
        f" + {len(new_index.retired)} retired"
    )
    print(
        f"index build (once per import): old {old_build * 1000:.1f} ms,"
        f" new {new_build * 1000:.1f} ms"
    )
    budget = IMPORT_SECONDS_1M / 1_000_000 * 1e6  # µs per row
    print(
        f"import budget: {budget:.1f} µs/row (1M rows in {IMPORT_SECONDS_1M} s);"
        f" 2 % = {budget * 0.02:.2f} µs/row"
    )
    print(
        f"{'case':10} {'old µs/row':>11} {'new µs/row':>11} {'delta':>8} {'% of import':>12}"
        "  rejected old/new"
    )
    for case in ("codes-8", "codes-all", "names", "one-cell"):
        old_us, old_rej = run(old_index, case, old_table, args.rows, args.repeat)
        new_us, new_rej = run(new_index, case, new_table, args.rows, args.repeat)
        delta = new_us - old_us
        print(
            f"{case:10} {old_us:11.2f} {new_us:11.2f} {delta:+8.2f} {delta / budget * 100:11.2f}%  "
            f"{old_rej}/{new_rej}"
        )
    share = new_build / IMPORT_SECONDS_1M * 100
    print(f"index build share of a 1M import: {share:.3f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
