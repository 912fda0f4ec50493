"""Plans under rule matrix v2 (DOMAIN.md §7): assessments costed as assessments with the renewal
they may lead to beside them, advisory lines marked and optional, and elevator renewals only
where the owners have not voted against."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
from fastapi.testclient import TestClient

from tests.factories import create
from tests.plans.helpers import API, all_lines, by_asset, make_plan

D = Decimal


def _young_hazard_pipe(client: TestClient, region: str) -> dict[str, object]:
    return create(client, "gas_pipe", region_code=region, material="steel",
                  commissioned_on="2015-01-01", assessment_result="hazard",
                  length_m="300")  # fmt: skip


def test_assessment_lines_are_costed_as_assessments(client: TestClient) -> None:
    lift = create(client, "elevator", region_code="410102", commissioned_on="2008-01-01")
    pipe = _young_hazard_pipe(client, "410102")  # GAS-HAZARD-YOUNG: assess (advisory in HA)
    plan = make_plan(client, as_of="2026-03-01", budgets={"2026": 1, "2027": 1, "2028": 1})
    lines = by_asset(all_lines(client, plan["id"]))
    elev, gas = lines[lift["id"]], lines[pipe["id"]]
    assert (elev["work"], D(elev["amount"]), D(elev["contingent_amount"])) == (
        "assessment", D("0.5"), D("40"),
    )  # fmt: skip
    # 300 m × 0.001 万/m; the renewal it may lead to: 300 m × 0.15
    assert (gas["work"], D(gas["amount"]), D(gas["contingent_amount"])) == (
        "assessment", D("0.3"), D("45"),
    )  # fmt: skip
    # both rest on another province's text in Henan (SH's ELV-ASSESS-15, GD's young-pipe rule)
    assert gas["advisory"] is True and elev["advisory"] is True
    # the budget of 1 万 a year holds both assessments: contingent costs are not budgeted
    assert not elev["beyond_budget"] and not gas["beyond_budget"]
    assert D(plan["total_cost"]) == D("0.8") and D(plan["contingent_cost"]) == D("85")
    assert D(plan["renewal_cost"]) == 0
    cell = next(c for c in plan["summary"] if c["category"] == "gas_pipe" and c["assessments"])
    assert D(cell["quantity"]) == 0  # an assessment renews no metres
    progress = client.get(f"{API}/{plan['id']}/progress").json()
    assert D(progress["planned_assessment_cost"]) == D("0.8")
    raw = client.get(f"{API}/{plan['id']}/export.xlsx").content
    wb = openpyxl.load_workbook(io.BytesIO(raw))
    rows = [r for r in wb[f"{elev['year']}年"].iter_rows(min_row=2, values_only=True) if r[1]]
    marks = {r[1]: (r[15], r[16], r[17]) for r in rows}
    assert marks[lift["asset_code"]] == ("评估", 40, "参考")
    assert marks[pipe["asset_code"]] == ("评估", 45, "参考")
    notes = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert "评估 0.80 万元" in notes["其中"] and "85.00" in notes["其中"]


def test_assessment_price_can_be_overridden(client: TestClient) -> None:
    lift = create(client, "elevator", region_code="410102", commissioned_on="2008-01-01")
    plan = make_plan(client, unit_costs={"elevator.assessment": "0.8", "elevator": "50"})
    (line,) = all_lines(client, plan["id"])
    assert line["asset"]["id"] == lift["id"]
    assert (D(line["amount"]), D(line["contingent_amount"])) == (D("0.8"), D("50"))
    assert line["cost_source"] == "plan"


def test_advisory_lines_can_be_left_out(client: TestClient) -> None:
    henan = _young_hazard_pipe(client, "410102")
    guangdong = _young_hazard_pipe(client, "440106")
    lift = create(client, "elevator", region_code="410102", commissioned_on="2005-01-01")
    both = make_plan(client, region="", as_of="2026-03-01")
    assert {henan["id"], guangdong["id"]} <= set(by_asset(all_lines(client, both["id"])))
    binding = make_plan(client, region="", as_of="2026-03-01", include_advisory=False)
    planned = by_asset(all_lines(client, binding["id"]))
    assert guangdong["id"] in planned and henan["id"] not in planned
    assert lift["id"] not in planned  # ELV-ASSESS-15 is Shanghai's text
    assert binding["parameters"]["include_advisory"] is False
    assert binding["stats"]["left_out"]["advisory"] == 1  # the elevator; the pipe turns 20 later


def test_elevator_renewal_only_where_owners_have_not_refused(client: TestClient) -> None:
    agreed = create(client, "elevator", region_code="410102", assessment_result="renew",
                    commissioned_on="2020-01-01", owners_agree=True)  # fmt: skip
    silent = create(client, "elevator", region_code="410102", assessment_result="renew",
                    commissioned_on="2020-01-01")  # fmt: skip
    refused = create(client, "elevator", region_code="410102", assessment_result="renew",
                     commissioned_on="2020-01-01", owners_agree=False)  # fmt: skip
    plan = make_plan(client, include_encouraged=True)
    planned = set(by_asset(all_lines(client, plan["id"])))
    assert {agreed["id"], silent["id"]} <= planned and refused["id"] not in planned
    assert plan["stats"]["left_out"]["owners_disagree"] == 1
    # the flag itself stays on the ledger: the due list still shows it
    due = client.get("/api/v1/due", params={"level": "encouraged", "category": "elevator"})
    assert refused["asset_code"] in {i["asset_code"] for i in due.json()["items"]}
