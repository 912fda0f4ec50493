"""POST /plans and reads: scheduling from stored flags, budgets, shortfall, validation, lines."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import create
from tests.plans.helpers import API, all_lines, by_asset, due_asset, make_plan, set_flags

D = Decimal


class TestFromEngineFlags:
    def test_plan_from_real_flags(self, client: TestClient) -> None:
        """Assets registered through the API get flags from the rules engine; the plan uses them."""
        pipe = create(client, "gas_pipe", material="grey_cast_iron", length_m="200",
                      address="建设路12号段")  # fmt: skip
        lift = create(client, "elevator", community="锦绣花园", commissioned_on="2005-03-01")
        create(client, "elevator", commissioned_on="2020-01-01")  # too young: no flag
        create(client, "gas_pipe", material="grey_cast_iron", region_code="440106")  # other region
        plan = make_plan(client, as_of="2026-11-22")
        assert plan["status"] == "draft" and plan["version"] == 1
        lines = by_asset(all_lines(client, plan["id"]))
        assert set(lines) == {pipe["id"], lift["id"]}
        gas = lines[pipe["id"]]
        assert gas["due_on"] == "2025-12-31" and gas["overdue"] is True
        assert gas["year"] == 2026  # overdue: first plan year
        assert D(gas["amount"]) == D("30")  # 200 m × 0.15
        assert gas["rule_ids"] == ["GAS-GREY-IRON"]
        assert "〔" in gas["basis"] or "GB" in gas["basis"]  # a document people can look up
        assert "S0:" not in gas["basis"]
        assert gas["project"]["label"] == "建设路"
        assert gas["project"]["funding_source"] == "中央预算内投资"
        elev = lines[lift["id"]]
        assert elev["level"] == "assess" and elev["due_on"] == "2028-12-31"
        assert elev["project"]["label"] == "锦绣花园"
        # the elevator's line is an assessment (0.5 万), its renewal (40 万) a contingent cost
        assert (elev["work"], elev["work_label"]) == ("assessment", "评估")
        assert D(elev["amount"]) == D("0.5") and D(elev["contingent_amount"]) == D("40")
        assert gas["work"] == "renewal" and gas["contingent_amount"] is None
        assert D(plan["total_cost"]) == D("30.5")
        assert D(plan["renewal_cost"]) == D("30") and D(plan["assessment_cost"]) == D("0.5")
        assert D(plan["contingent_cost"]) == D("40")
        assert plan["packs"]["HA"]["versions"] == ["2026.2"]


class TestScheduling:
    def test_budget_moves_items_and_reports_shortfall(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        a = due_asset(client, db, cost="60", due_on=date(2026, 12, 31))
        b = due_asset(client, db, cost="60", due_on=date(2026, 12, 31))
        c = due_asset(client, db, cost="50", due_on=date(2028, 12, 31))
        budgets = {"2026": 100, "2027": 40, "2028": 100}
        plan = make_plan(client, budgets=budgets)
        lines = by_asset(all_lines(client, plan["id"]))
        assert lines[a["id"]]["year"] == 2026 and not lines[a["id"]]["beyond_budget"]
        assert lines[b["id"]]["year"] == 2026 and lines[b["id"]]["beyond_budget"]
        assert lines[b["id"]]["deadline_missed"] is True
        assert lines[c["id"]]["year"] == 2028  # 2026 and 2027 were short, it could wait
        short = plan["shortfall"]
        assert (short["count"], D(short["cost"])) == (1, D(60))
        assert short["items"] == [
            {"year": 2026, "category": "elevator", "count": 1, "cost": "60.0000",
             "earliest_due_on": "2026-12-31", "latest_due_on": "2026-12-31"}
        ]  # fmt: skip
        y2026 = plan["years"][0]
        assert (D(y2026["budget"]), D(y2026["cost"]), D(y2026["gap"])) == (D(100), D(120), D(-20))

    def test_per_category_budgets(self, client: TestClient, db: sessionmaker[Session]) -> None:
        lift = due_asset(client, db, cost="30")
        pump = due_asset(client, db, cost="8", category="water_pump")
        per_year = {"elevator": 30, "water_pump": 0}
        plan = make_plan(client, budgets={str(y): per_year for y in (2026, 2027, 2028)})
        lines = by_asset(all_lines(client, plan["id"]))
        assert lines[lift["id"]]["year"] == 2026 and not lines[lift["id"]]["beyond_budget"]
        assert lines[pump["id"]]["year"] == 2027 and lines[pump["id"]]["beyond_budget"]
        cell = next(r for r in plan["summary"] if (r["year"], r["category"]) == (2026, "elevator"))
        assert D(cell["budget"]) == D(30) and cell["count"] == 1

    def test_item_entering_scope_mid_horizon(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        later = due_asset(client, db, in_scope_on=date(2027, 6, 1), due_on=date(2028, 12, 31))
        after = due_asset(client, db, in_scope_on=date(2029, 1, 1), due_on=date(2029, 1, 1))
        plan = make_plan(client)
        lines = by_asset(all_lines(client, plan["id"]))
        assert lines[later["id"]]["year"] == 2027
        assert after["id"] not in lines
        assert plan["stats"]["beyond_horizon"] == 1

    def test_asset_with_several_flags_is_one_line(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        asset = create(client, "elevator", unit_cost="10")
        set_flags(
            db,
            asset["id"],
            {"level": "mandatory", "due_on": date(2028, 12, 31), "rule_id": "ELV-RENEW"},
            {"level": "assess", "due_on": date(2027, 12, 31), "rule_id": "ELV-ASSESS-15"},
            {"level": "encouraged", "due_on": date(2026, 6, 30), "rule_id": "ELV-REPAIR"},
            {"level": "unknown", "due_on": None, "rule_id": "X", "missing": ["floors"]},
        )
        plan = make_plan(client, include_encouraged=True)
        (line,) = all_lines(client, plan["id"])
        assert line["level"] == "mandatory"
        assert line["due_on"] == "2027-12-31"  # earliest due of the required flags
        assert line["rule_ids"] == ["ELV-ASSESS-15", "ELV-RENEW"]
        assert plan["stats"]["data_gaps"] == 1

    def test_encouraged_fill(self, client: TestClient, db: sessionmaker[Session]) -> None:
        must = due_asset(client, db, cost="70")
        nice = due_asset(client, db, cost="20", level="encouraged")
        big = due_asset(client, db, cost="200", level="encouraged")
        budgets = {"2026": 100, "2027": 0, "2028": 0}
        without = make_plan(client, budgets=budgets)
        assert set(by_asset(all_lines(client, without["id"]))) == {must["id"]}
        plan = make_plan(client, budgets=budgets, include_encouraged=True)
        lines = by_asset(all_lines(client, plan["id"]))
        assert set(lines) == {must["id"], nice["id"]}
        assert big["id"] not in lines and plan["stats"]["encouraged"] == {
            "candidates": 2,
            "placed": 1,
        }

    def test_same_inputs_same_plan(self, client: TestClient, db: sessionmaker[Session]) -> None:
        for i in range(6):
            due_asset(client, db, cost=str(10 + i), due_on=date(2026 + i % 3, 12, 31))
        body = {"budgets": {"2026": 30, "2027": 30, "2028": 30}}
        first, second = make_plan(client, **body), make_plan(client, **body)

        def shape(plan_id: int) -> list[tuple[object, ...]]:
            return [
                (x["asset"]["id"], x["year"], x["rank"], x["beyond_budget"], x["amount"])
                for x in all_lines(client, plan_id)
            ]

        assert shape(first["id"]) == shape(second["id"])
        assert first["years"] == second["years"]

    def test_price_overrides(self, client: TestClient, db: sessionmaker[Session]) -> None:
        default = create(client, "elevator")
        own = create(client, "elevator", unit_cost="55")
        riser = create(client, "gas_pipe", pipe_level="riser", length_m="100")
        unknown_len = create(client, "boiler", fuel="coal", capacity_tph=None)
        for a in (default, own, riser, unknown_len):
            set_flags(db, a["id"], {"due_on": date(2027, 12, 31)})
        plan = make_plan(client, unit_costs={"elevator": 45, "gas_pipe.riser": "0.1"})
        lines = by_asset(all_lines(client, plan["id"]))
        assert (D(lines[default["id"]]["amount"]), lines[default["id"]]["cost_source"]) == (
            D(45),
            "plan",
        )
        assert (D(lines[own["id"]]["amount"]), lines[own["id"]]["cost_source"]) == (D(55), "asset")
        assert D(lines[riser["id"]]["amount"]) == D(10)
        boiler = lines[unknown_len["id"]]
        assert boiler["quantity_assumed"] is True and D(boiler["amount"]) == D(120)  # 4 t/h × 30


class TestValidation:
    def test_budget_year_outside_horizon(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2027,
                                      "budgets": {"2026": 1, "2027": 1, "2030": 5}})  # fmt: skip
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "budgets.2030"

    def test_budget_missing_year(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2027,
                                      "budgets": {"2026": 1}})  # fmt: skip
        assert resp.status_code == 422 and "2027" in resp.json()["detail"]

    def test_budget_category_not_in_plan(self, client: TestClient) -> None:
        body = {"region": "41", "first_year": 2026, "last_year": 2026, "categories": ["gas_pipe"],
                "budgets": {"2026": {"elevator": 5}}}  # fmt: skip
        resp = client.post(API, json=body)
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "budgets.2026.elevator"

    def test_negative_budget(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2026,
                                      "budgets": {"2026": -1}})  # fmt: skip
        assert resp.status_code == 422

    def test_unknown_price_key(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2026,
                                      "unit_costs": {"gas_pipe.gold": 1}})  # fmt: skip
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "unit_costs.gas_pipe.gold"

    def test_years(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "41", "first_year": 2027, "last_year": 2026})
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "last_year"
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2040})
        assert resp.status_code == 422

    def test_unknown_region_and_category(self, client: TestClient) -> None:
        resp = client.post(API, json={"region": "99", "first_year": 2026, "last_year": 2026})
        assert resp.status_code == 422 and resp.json()["errors"][0]["field"] == "region"
        resp = client.post(API, json={"region": "41", "first_year": 2026, "last_year": 2026,
                                      "categories": ["spaceship"]})  # fmt: skip
        assert resp.status_code == 422

    def test_unknown_plan_is_404(self, client: TestClient) -> None:
        resp = client.get(f"{API}/999999")
        assert resp.status_code == 404 and resp.json()["type"] == "/problems/not-found"


class TestLines:
    def test_filters_and_pages(self, client: TestClient, db: sessionmaker[Session]) -> None:
        for i in range(5):
            due_asset(client, db, cost="10", due_on=date(2026 + i % 3, 12, 31))
        pump = due_asset(client, db, category="water_pump", cost="8")
        plan = make_plan(client, budgets={"2026": 20, "2027": 20, "2028": 40})
        lines = all_lines(client, plan["id"])
        assert len(lines) == 6
        assert [(x["year"], x["rank"]) for x in lines] == sorted(
            (x["year"], x["rank"]) for x in lines
        )
        only = all_lines(client, plan["id"], year=2027)
        assert only and {x["year"] for x in only} == {2027}
        pumps = all_lines(client, plan["id"], category="water_pump")
        assert [x["asset"]["id"] for x in pumps] == [pump["id"]]
        project_id = pumps[0]["project"]["id"]
        assert [x["asset"]["id"] for x in all_lines(client, plan["id"], project_id=project_id)] == [
            pump["id"]]  # fmt: skip
        part = lines[0]["priority"]
        assert D(part["score"]) == D(part["age"]) + D(part["level"]) + D(part["category"])
        bad = client.get(f"{API}/{plan['id']}/lines", params={"cursor": "nope"})
        assert bad.status_code == 422

    def test_projects_listing(self, client: TestClient, db: sessionmaker[Session]) -> None:
        for community in ("幸福里", "幸福里", "阳光苑"):
            due_asset(client, db, cost="10", community=community)
        plan = make_plan(client)
        body = client.get(f"{API}/{plan['id']}/projects").json()
        counts = {p["label"]: p["lines"] for p in body["items"]}
        assert counts == {"幸福里": 2, "阳光苑": 1}
        names = {p["name"] for p in body["items"]}
        assert "2026年中原区幸福里电梯更新项目" in names
        assert {p["responsible_unit"] for p in body["items"]} == {"中原区住房和城乡建设局"}
