"""Rule matrix v2 (DOMAIN.md §7): one table-driven case per changed rule (holds, does not hold,
boundary), advisory marks per pack, citations that land on text, and the due list's advisory
filter with its exports."""

from __future__ import annotations

import csv
import io
import os
import re
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.config import ROOT
from app.rules.packs import get_registry
from tests.factories import create
from tests.rules.test_evaluate import AS_OF, flags, level

# the policy texts live beside the checkout (../shared), or where APP_POLICY_SOURCES says
SOURCES = next(
    (
        p
        for p in (
            Path(os.environ.get("APP_POLICY_SOURCES", ROOT.parent / "shared/policy/sources")),
            Path("/work/shared/policy/sources"),
        )
        if p.is_dir()
    ),
    Path("/nonexistent"),
)


D = date
PIPE_20 = {"commissioned_on": D(2006, 11, 29), "material": "steel"}  # twenty on AS_OF
PIPE_19 = {"commissioned_on": D(2006, 11, 30), "material": "steel"}  # twenty tomorrow

# (pack, category, rule, facts, expected level or None)
CASES: list[tuple[str, str, str, dict[str, Any], str | None]] = [
    # GAS-AGED-20: hazard or not_allowed at twenty years
    ("CN", "gas_pipe", "GAS-AGED-20", {**PIPE_20, "assessment_result": "hazard"}, "mandatory"),
    ("CN", "gas_pipe", "GAS-AGED-20", {**PIPE_20, "assessment_result": "not_allowed"}, "mandatory"),
    ("HA", "gas_pipe", "GAS-AGED-20", {**PIPE_20, "assessment_result": "not_allowed"}, "mandatory"),
    ("GD", "gas_pipe", "GAS-AGED-20", {**PIPE_20, "assessment_result": "not_allowed"}, "mandatory"),
    ("CN", "gas_pipe", "GAS-AGED-20", {**PIPE_20, "assessment_result": "safe"}, None),
    # GAS-HAZARD-YOUNG: under twenty, not grey cast iron, a recorded hazard
    ("GD", "gas_pipe", "GAS-HAZARD-YOUNG", {**PIPE_19, "assessment_result": "hazard"}, "assess"),
    ("CN", "gas_pipe", "GAS-HAZARD-YOUNG", {**PIPE_19, "assessment_result": "hazard"}, "assess"),
    ("GD", "gas_pipe", "GAS-HAZARD-YOUNG", {**PIPE_20, "assessment_result": "hazard"}, None),
    ("GD", "gas_pipe", "GAS-HAZARD-YOUNG", {**PIPE_19, "assessment_result": "not_allowed"}, None),
    (
        "GD",
        "gas_pipe",
        "GAS-HAZARD-YOUNG",
        {**PIPE_19, "material": "grey_cast_iron", "assessment_result": "hazard"},
        None,
    ),
    ("GD", "gas_pipe", "GAS-HAZARD-YOUNG", {**PIPE_19}, None),
    # BLR-EMISSION: coal on the policy text; other fuels on GB 13271, advisory
    ("HA", "boiler", "BLR-EMISSION", {"fuel": "coal", "emissions_compliant": False}, "mandatory"),
    ("HA", "boiler", "BLR-EMISSION", {"fuel": "gas", "emissions_compliant": False}, None),
    ("HA", "boiler", "BLR-EMISSION", {"fuel": "coal", "emissions_compliant": True}, None),
    (
        "HA",
        "boiler",
        "BLR-EMISSION-NONCOAL",
        {"fuel": "gas", "emissions_compliant": False},
        "mandatory",
    ),
    ("HA", "boiler", "BLR-EMISSION-NONCOAL", {"fuel": "coal", "emissions_compliant": False}, None),
    ("HA", "boiler", "BLR-EMISSION-NONCOAL", {"fuel": "oil", "emissions_compliant": True}, None),
    ("HA", "boiler", "BLR-EMISSION-NONCOAL", {"emissions_compliant": False}, "unknown"),
    # SAN-EMISSION: mandatory in Hebei only
    (
        "HB",
        "sanitation_vehicle",
        "SAN-EMISSION",
        {"fuel": "diesel", "emission_stage": 3},
        "mandatory",
    ),
    (
        "HA",
        "sanitation_vehicle",
        "SAN-EMISSION",
        {"fuel": "diesel", "emission_stage": 3},
        "encouraged",
    ),
    (
        "SH",
        "sanitation_vehicle",
        "SAN-EMISSION",
        {"fuel": "diesel", "emission_stage": 3},
        "encouraged",
    ),
    ("HB", "sanitation_vehicle", "SAN-EMISSION", {"fuel": "diesel", "emission_stage": 4}, None),
    # LPG-NO-TAG: encouraged in Shanxi as everywhere
    (
        "SX",
        "lpg_cylinder",
        "LPG-NO-TAG",
        {"has_electronic_tag": False, "manufactured_on": D(2020, 1, 1)},
        "encouraged",
    ),
    (
        "SX",
        "lpg_cylinder",
        "LPG-NO-TAG",
        {"has_electronic_tag": True, "manufactured_on": D(2020, 1, 1)},
        None,
    ),
    # LPG-OLD-STANDARD: no data gap once the manufacture date rules the old standard out
    ("CN", "lpg_cylinder", "LPG-OLD-STANDARD", {"manufactured_on": D(2007, 2, 1)}, None),
    ("CN", "lpg_cylinder", "LPG-OLD-STANDARD", {"manufactured_on": D(2007, 1, 31)}, "mandatory"),
    ("CN", "lpg_cylinder", "LPG-OLD-STANDARD", {"standard": "GB 5842-2006"}, None),
    ("CN", "lpg_cylinder", "LPG-OLD-STANDARD", {"standard": "GB 5842-1996"}, "mandatory"),
    ("CN", "lpg_cylinder", "LPG-OLD-STANDARD", {}, "unknown"),
    (
        "CN",
        "lpg_cylinder",
        "LPG-OLD-STANDARD",
        {"standard": "GB 5842-1996", "manufactured_on": D(2010, 1, 1)},
        "mandatory",
    ),
]


@pytest.mark.parametrize(
    ("pack", "category", "rule", "facts", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)],
)
def test_v2_rule(
    pack: str, category: str, rule: str, facts: dict[str, Any], expected: str | None
) -> None:
    assert level(pack, category, rule, **facts) == expected


@pytest.mark.parametrize("result", ["hazard", "not_allowed"])
def test_young_rule_hands_over_to_aged_20_on_the_twentieth_birthday(result: str) -> None:
    young = "GAS-HAZARD-YOUNG" if result == "hazard" else "GAS-UNSAFE-YOUNG"
    f = flags("GD", "gas_pipe", **PIPE_19, assessment_result=result)
    assert f[young].in_scope_on is None and f[young].due_on == D(2025, 12, 31)
    assert f["GAS-AGED-20"].in_scope_on == D(2026, 11, 30)  # the birthday, not before
    on_birthday = flags("GD", "gas_pipe", **PIPE_20, assessment_result=result)
    assert young not in on_birthday
    assert on_birthday["GAS-AGED-20"].in_scope_on == AS_OF


@pytest.mark.parametrize(
    ("rule", "advisory_in"),
    [
        ("GAS-HAZARD-YOUNG", {"CN", "HA", "HB", "SH", "SX"}),
        ("GAS-UNSAFE-YOUNG", {"CN", "HA", "HB", "SH", "SX"}),
        ("BLR-EMISSION-NONCOAL", {"CN", "HA", "HB", "SH", "SX", "GD"}),
        ("BLR-EMISSION", set()),
        ("SAN-EMISSION", {"CN", "HA", "SH", "SX", "GD"}),
        ("GAS-AGED-20", set()),
    ],
)
def test_advisory_where_the_text_is_another_provinces(rule: str, advisory_in: set[str]) -> None:
    packs = get_registry().packs.values()
    assert {p.id for p in packs if rule in p.rules and p.rules[rule].basis.advisory} == advisory_in


def test_every_pack_is_version_2026_2() -> None:
    assert {p.id: p.version for p in get_registry().packs.values()} == dict.fromkeys(
        ("CN", "GD", "HA", "HB", "SH", "SX"), "2026.2"
    )


def test_shanxi_traceability_goal_is_a_plan_target() -> None:
    sx = get_registry().packs["SX"]
    target = next(t for t in sx.targets if t.id == "SX-LPG-TRACE")
    assert (target.metric, target.value, target.by) == ("tagged_rate", 1.0, D(2024, 9, 30))
    assert sx.rules["LPG-NO-TAG"].level == "encouraged"
    assert sx.rules["LPG-NO-TAG"].deadline == D(2027, 12, 31)


def test_effective_dates_say_where_they_come_from() -> None:
    packs = get_registry().packs
    assert packs["HA"].effective_on_basis.startswith("S0:3097")
    assert packs["SH"].effective_on_basis == "assumption"


CITE = re.compile(r"(S\d):([\d\-, ]+)")


def _citations() -> list[tuple[str, str, str]]:
    """(where, source file key, range) of every S-line citation of every rule and target."""
    out = []
    for pack in get_registry().packs.values():
        bases = [(r.id, r.basis) for r in pack.rules.values()]
        bases += [(t.id, t.basis) for t in pack.targets]
        for rid, basis in bases:
            for m in CITE.finditer(basis.source_lines):
                for rng in m.group(2).split(","):
                    if rng.strip():
                        out.append((f"{pack.id} {rid} ({basis.source_lines})", m.group(1), rng))
    return sorted(set(out))


@pytest.mark.skipif(not SOURCES.is_dir(), reason="policy sources not beside the checkout")
def test_every_cited_line_range_lands_on_text() -> None:
    texts = {p.name[:2]: p.read_text(encoding="utf-8").split("\n") for p in SOURCES.glob("S*.txt")}
    bad = []
    cites = _citations()
    assert len(cites) > 60
    for where, key, rng in cites:
        lines = texts[key]
        start, _, end = rng.strip().partition("-")
        a, b = int(start), int(end or start)
        if not 1 <= a <= b <= len(lines):
            bad.append(f"{where}: {key}:{rng} outside the file ({len(lines)} lines)")
        elif not lines[a - 1].strip() or not lines[b - 1].strip():
            bad.append(f"{where}: {key}:{rng} starts or ends on an empty line")
    assert bad == []


def test_corrected_citations() -> None:
    cn = get_registry().packs["CN"].rules
    assert cn["GAS-IMMEDIATE"].basis.source_lines == "S0:4817-4819"
    assert "S0:1153" not in cn["PUMP-ELIM"].basis.source_lines
    assert "S0:4873" in cn["BLR-ELIM"].basis.source_lines
    assert "TSG 23-2021" in cn["LPG-END-OF-LIFE"].basis.source_lines
    assert "S0:3238" not in cn["LPG-FAILED"].basis.source_lines


# ---------------------------------------------------------------- stored flags and the due list


def _due(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("as_of", AS_OF.isoformat())
    # the young pipes turn twenty in 2035 (GAS-AGED-20 then): look no further than the deadline
    params.setdefault("due_by", "2027-12-31")
    resp = client.get("/api/v1/due", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


@pytest.fixture
def hazards(client: TestClient) -> dict[str, dict[str, Any]]:
    young = {"material": "steel", "commissioned_on": "2015-01-01", "assessment_result": "hazard"}
    return {
        "henan": create(client, "gas_pipe", region_code="410102", **young),
        "guangdong": create(client, "gas_pipe", region_code="440106", **young),
        "old_not_allowed": create(
            client,
            "gas_pipe",
            region_code="410102",
            material="pe",
            commissioned_on="2000-01-01",
            assessment_result="not_allowed",
        ),
    }


def test_stored_flags_follow_v2(client: TestClient, hazards: dict[str, Any]) -> None:
    ha = client.get(f"/api/v1/assets/{hazards['henan']['id']}/flags").json()
    flag = next(f for f in ha["flags"] if f["rule_id"] == "GAS-HAZARD-YOUNG")
    assert (flag["level"], flag["advisory"], flag["pack_version"]) == ("assess", True, "2026.2")
    gd = client.get(f"/api/v1/assets/{hazards['guangdong']['id']}/flags").json()
    flag = next(f for f in gd["flags"] if f["rule_id"] == "GAS-HAZARD-YOUNG")
    assert flag["advisory"] is False
    rules = {i["asset_code"]: {f["rule_id"] for f in i["flags"]} for i in _due(client)}
    assert "GAS-AGED-20" in rules[hazards["old_not_allowed"]["asset_code"]]
    assert "GAS-HAZARD-YOUNG" in rules[hazards["henan"]["asset_code"]]


def test_due_list_advisory_filter(client: TestClient, hazards: dict[str, Any]) -> None:
    henan, guangdong = hazards["henan"]["asset_code"], hazards["guangdong"]["asset_code"]
    every = {i["asset_code"]: i for i in _due(client)}
    assert every[henan]["advisory"] is True and every[guangdong]["advisory"] is False
    assert all(f["advisory"] is (f["rule_id"] == "GAS-HAZARD-YOUNG") for f in every[henan]["flags"])
    binding = {i["asset_code"] for i in _due(client, advisory="false")}
    assert henan not in binding and guangdong in binding
    assert hazards["old_not_allowed"]["asset_code"] in binding
    only = _due(client, advisory="true")
    assert {i["asset_code"] for i in only} == {henan}
    assert all(f["advisory"] for i in only for f in i["flags"])


def test_due_exports_mark_advisory_flags(client: TestClient, hazards: dict[str, Any]) -> None:
    henan, guangdong = hazards["henan"]["asset_code"], hazards["guangdong"]["asset_code"]
    params = {"as_of": AS_OF.isoformat(), "due_by": "2027-12-31", "format": "csv"}
    resp = client.get("/api/v1/due", params=params)
    rows = {r["设备编号"]: r for r in csv.DictReader(io.StringIO(resp.content.decode("utf-8-sig")))}
    assert rows[henan]["仅参考依据"] == "是" and "【参考】" in rows[henan]["原因"]
    assert rows[guangdong]["仅参考依据"] == "否" and "【参考】" not in rows[guangdong]["原因"]
    resp = client.get("/api/v1/due", params={**params, "format": "csv", "advisory": "false"})
    assert henan not in resp.content.decode("utf-8-sig")
    resp = client.get("/api/v1/due", params={**params, "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(resp.content), read_only=True).worksheets[0]
    table = [list(r) for r in sheet.iter_rows(values_only=True)]
    top = next(i for i, r in enumerate(table) if "仅参考依据" in r)  # after the title row
    col = table[top].index("仅参考依据")
    marks = {r[0]: r[col] for r in table[top + 1 :]}
    assert marks[henan] == "是" and marks[guangdong] == "否"
