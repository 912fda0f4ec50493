"""Plans take amounts and dates as people write them: 8万元, 80000元, 1.5亿元, 2026年3月."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.plans.helpers import API, all_lines, by_asset, due_asset, make_plan

D = Decimal


def test_budgets_prices_and_as_of_in_chinese(client: TestClient, db: sessionmaker[Session]) -> None:
    lift = due_asset(client, db, cost="60", due_on=date(2026, 12, 31))
    plan = make_plan(
        client,
        budgets={"2026": "100万元", "2027": "400000元", "2028": {"elevator": "0.01亿元"}},
        unit_costs={"elevator": "45万"},
        as_of="2026年3月",
    )
    assert plan["as_of"] == "2026-03-01"
    budgets = [D(y["budget"]) for y in plan["years"]]
    assert budgets == [D(100), D(40), D(100)]
    line = by_asset(all_lines(client, plan["id"]))[lift["id"]]
    assert D(line["amount"]) == D(60)  # the asset's own price comes before the plan's


def test_bad_amount_is_a_422_naming_it(client: TestClient) -> None:
    resp = client.post(
        API,
        json={"region": "41", "first_year": 2026, "last_year": 2026, "budgets": {"2026": "8块"}},
    )
    assert resp.status_code == 422
    assert any("8块" in e["msg"] and "8万元" in e["msg"] for e in resp.json()["errors"])
    plan = {"region": "41", "first_year": 2026, "last_year": 2026, "as_of": "2026年13月"}
    resp = client.post(API, json=plan)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == "as_of"


def test_line_and_project_edits_in_chinese(client: TestClient, db: sessionmaker[Session]) -> None:
    a = due_asset(client, db, cost="10", due_on=date(2027, 12, 31))
    plan = make_plan(client)
    line = by_asset(all_lines(client, plan["id"]))[a["id"]]
    url = f"{API}/{plan['id']}/lines/{line['id']}"
    got = client.patch(url, json={"amount": "80000元"})
    assert got.status_code == 200, got.text
    assert D(got.json()["line"]["amount"]) == D(8)
    got = client.patch(url, json={"unit_cost": "12.5万元"})
    assert D(got.json()["line"]["amount"]) == D("12.5")
    project = f"{API}/{plan['id']}/projects/{line['project']['id']}"
    resp = client.patch(project, json={"start_month": "2026年3月", "finish_month": "2026/11"})
    assert resp.status_code == 200, resp.text
    assert (resp.json()["project"]["start_month"], resp.json()["project"]["finish_month"]) == (
        "2026-03",
        "2026-11",
    )
    bad = client.patch(project, json={"finish_month": "2026年13月"})
    assert bad.status_code == 422 and "2026年13月" in bad.json()["errors"][0]["msg"]


def test_renewal_date_and_cost_in_chinese(client: TestClient, db: sessionmaker[Session]) -> None:
    a = due_asset(client, db, cost="40", due_on=date(2027, 12, 31))
    plan = make_plan(client)
    body = {"status": "renewed", "renewed_on": "2026年5月", "cost": "425000元"}
    resp = client.post(f"/api/v1/assets/{a['id']}/renewal", json=body)
    assert resp.status_code == 200, resp.text
    line = by_asset(all_lines(client, plan["id"]))[a["id"]]
    assert (line["done_on"], D(line["actual_cost"])) == ("2026-05-01", D("42.5"))
