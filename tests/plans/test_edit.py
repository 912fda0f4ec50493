"""Editing drafts, approving, and new versions of approved plans."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.models import Change
from tests.plans.helpers import API, all_lines, by_asset, due_asset, make_plan

D = Decimal


def _plan_with_lines(client: TestClient, db: sessionmaker[Session]) -> tuple[dict, dict, dict]:
    a = due_asset(client, db, cost="10", due_on=date(2027, 12, 31), community="幸福里")
    b = due_asset(client, db, cost="20", due_on=date(2028, 12, 31), community="幸福里")
    plan = make_plan(client, budgets={"2026": 100, "2027": 100, "2028": 100})
    return plan, a, b


def _line(client: TestClient, plan_id: int, asset_id: int) -> dict:
    return by_asset(all_lines(client, plan_id))[asset_id]


class TestLineEdits:
    def test_move_past_deadline_warns_and_counts_as_shortfall(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        plan, a, b = _plan_with_lines(client, db)
        line = _line(client, plan["id"], a["id"])
        resp = client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2028})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["new_version"] is False and body["plan_id"] == plan["id"]
        assert any("misses its deadline 2027-12-31" in w for w in body["warnings"])
        moved = body["line"]
        assert moved["year"] == 2028 and moved["late"] is True
        assert moved["project"]["year"] == 2028 and moved["project"]["label"] == "幸福里"
        summary = client.get(f"{API}/{plan['id']}").json()
        assert summary["shortfall"]["count"] == 1
        assert summary["shortfall"]["items"][0]["year"] == 2028
        projects = client.get(f"{API}/{plan['id']}/projects").json()["items"]
        assert {(p["year"], p["lines"]) for p in projects} == {(2026, 1), (2028, 1)}
        # moving the other line too leaves the 2026 project empty: it is removed
        other = _line(client, plan["id"], b["id"])
        client.patch(f"{API}/{plan['id']}/lines/{other['id']}", json={"year": 2028})
        projects = client.get(f"{API}/{plan['id']}/projects").json()["items"]
        assert {(p["year"], p["lines"]) for p in projects} == {(2028, 2)}

    def test_move_over_budget_warns(self, client: TestClient, db: sessionmaker[Session]) -> None:
        a = due_asset(client, db, cost="80", due_on=date(2026, 12, 31))
        b = due_asset(client, db, cost="80", due_on=date(2027, 12, 31))
        plan = make_plan(client, budgets={"2026": 100, "2027": 100, "2028": 100})
        line = _line(client, plan["id"], b["id"])
        assert line["year"] == 2027
        resp = client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2026})
        assert resp.json()["warnings"] == ["2026 年度预算(100 万元)已超出 60.0000 万元"]
        assert _line(client, plan["id"], a["id"])["year"] == 2026

    def test_change_cost_and_funding(self, client: TestClient, db: sessionmaker[Session]) -> None:
        plan, a, _ = _plan_with_lines(client, db)
        line = _line(client, plan["id"], a["id"])
        url = f"{API}/{plan['id']}/lines/{line['id']}"
        got = client.patch(url, json={"unit_cost": "12.5", "funding_source": "超长期特别国债"})
        assert got.status_code == 200, got.text
        edited = got.json()["line"]
        assert D(edited["amount"]) == D("12.5") and edited["cost_source"] == "edited"
        assert edited["funding_source"] == "超长期特别国债"
        assert D(client.get(f"{API}/{plan['id']}").json()["total_cost"]) == D("32.5")
        bad = client.patch(url, json={"funding_source": "天上掉馅饼"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "funding_source"
        both = client.patch(url, json={"unit_cost": 1, "amount": 2})
        assert both.status_code == 422
        out = client.patch(url, json={"year": 2031})
        assert out.status_code == 422 and out.json()["errors"][0]["field"] == "year"

    def test_move_to_another_project(self, client: TestClient, db: sessionmaker[Session]) -> None:
        a = due_asset(client, db, community="幸福里")
        b = due_asset(client, db, community="阳光苑")
        pump = due_asset(client, db, category="water_pump", community="阳光苑")
        plan = make_plan(client)
        lines = by_asset(all_lines(client, plan["id"]))
        target = lines[b["id"]]["project"]["id"]
        url = f"{API}/{plan['id']}/lines/{lines[a['id']]['id']}"
        resp = client.patch(url, json={"project_id": target})
        assert resp.status_code == 200 and resp.json()["line"]["project"]["label"] == "阳光苑"
        wrong = client.patch(url, json={"project_id": lines[pump["id"]]["project"]["id"]})
        assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "project_id"

    def test_line_of_another_plan_is_404(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        plan, a, _ = _plan_with_lines(client, db)
        other = make_plan(client)
        line = _line(client, plan["id"], a["id"])
        resp = client.patch(f"{API}/{other['id']}/lines/{line['id']}", json={"year": 2027})
        assert resp.status_code == 404


class TestProjects:
    def test_edit_project(self, client: TestClient, db: sessionmaker[Session]) -> None:
        plan, a, _ = _plan_with_lines(client, db)
        project = _line(client, plan["id"], a["id"])["project"]
        url = f"{API}/{plan['id']}/projects/{project['id']}"
        body = {"implementation_subject": "幸福里业主委员会", "start_month": "2026-04",
                "finish_month": "2026-09", "funding_source": "住宅专项维修资金"}  # fmt: skip
        resp = client.patch(url, json=body)
        assert resp.status_code == 200, resp.text
        assert resp.json()["project"]["implementation_subject"] == "幸福里业主委员会"
        assert _line(client, plan["id"], a["id"])["project"]["finish_month"] == "2026-09"
        bad = client.patch(url, json={"start_month": "2026-10"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "finish_month"
        assert client.patch(url, json={"finish_month": "2026-13"}).status_code == 422
        assert client.patch(url, json={"name": None}).status_code == 422


class TestVersions:
    def test_approve_freezes_and_edit_makes_new_version(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        plan, a, b = _plan_with_lines(client, db)
        approved = client.post(f"{API}/{plan['id']}/approve")
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        assert client.post(f"{API}/{plan['id']}/approve").status_code == 409
        line = _line(client, plan["id"], a["id"])
        resp = client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2027})
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["new_version"] is True and body["plan_version"] == 2
        new_id = body["plan_id"]
        assert new_id != plan["id"] and body["line"]["plan_id"] == new_id
        assert body["line"]["year"] == 2027
        # the approved version is unchanged; the new one has every line and project
        assert _line(client, plan["id"], a["id"])["year"] == line["year"]
        old_lines, new_lines = all_lines(client, plan["id"]), all_lines(client, new_id)
        assert len(new_lines) == len(old_lines) == 2
        assert by_asset(new_lines)[b["id"]]["project"]["name"] == by_asset(old_lines)[b["id"]][
            "project"]["name"]  # fmt: skip
        new = client.get(f"{API}/{new_id}").json()
        assert (new["status"], new["series_id"], new["previous_id"]) == (
            "draft",
            plan["id"],
            plan["id"],
        )
        # the old version can no longer be edited: edit the newest
        again = client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2028})
        assert again.status_code == 409 and again.json()["current_id"] == new_id
        assert client.post(f"{API}/{new_id}/approve").status_code == 200
        assert client.get(f"{API}/{plan['id']}").json()["status"] == "archived"
        listed = client.get(API, params={"status": "approved"}).json()["items"]
        assert [p["id"] for p in listed] == [new_id]

    def test_project_edit_on_approved_plan(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        plan, a, _ = _plan_with_lines(client, db)
        client.post(f"{API}/{plan['id']}/approve")
        project = _line(client, plan["id"], a["id"])["project"]
        resp = client.patch(f"{API}/{plan['id']}/projects/{project['id']}",
                            json={"responsible_unit": "金水区住建局"})  # fmt: skip
        assert resp.status_code == 200
        body = resp.json()
        assert body["new_version"] is True
        assert body["project"]["plan_id"] == body["plan_id"] != plan["id"]
        assert (
            _line(client, body["plan_id"], a["id"])["project"]["responsible_unit"] == "金水区住建局"
        )
        assert _line(client, plan["id"], a["id"])["project"]["responsible_unit"] != "金水区住建局"

    def test_project_ids_of_the_approved_version_are_translated(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        a = due_asset(client, db, community="幸福里")
        b = due_asset(client, db, community="阳光苑")
        plan = make_plan(client)
        client.post(f"{API}/{plan['id']}/approve")
        lines = by_asset(all_lines(client, plan["id"]))
        old_target = lines[b["id"]]["project"]
        url = f"{API}/{plan['id']}/lines/{lines[a['id']]['id']}"
        body = client.patch(url, json={"project_id": old_target["id"]}).json()
        moved = body["line"]["project"]
        assert body["new_version"] is True
        assert moved["key"] == old_target["key"] and moved["id"] != old_target["id"]
        assert moved["plan_id"] == body["plan_id"]

    def test_changes_are_logged(self, client: TestClient, db: sessionmaker[Session]) -> None:
        plan, a, _ = _plan_with_lines(client, db)
        line = _line(client, plan["id"], a["id"])
        client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"unit_cost": 11})
        client.post(f"{API}/{plan['id']}/approve")
        with db() as s:
            rows = s.execute(
                select(Change.object_type, Change.action, func.count())
                .where(Change.object_type.in_(["plan", "plan_line"]))
                .group_by(Change.object_type, Change.action)
            ).all()
        assert {(t, a, n) for t, a, n in rows} == {
            ("plan", "create", 1), ("plan", "approve", 1), ("plan_line", "update", 1)
        }  # fmt: skip
