"""Access: plans are made, read and changed only within the caller's scope and role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.plans.helpers import API, all_lines, by_asset, due_asset, make_plan

Make = Callable[..., TestClient]


def test_plan_covers_only_the_callers_region(
    client: TestClient, make_client: Make, db: sessionmaker[Session]
) -> None:
    zhengzhou = due_asset(client, db, region_code="410102")
    luoyang = due_asset(client, db, region_code="410305")
    editor = make_client("editor", "4101")
    assert make_plan(editor, expect=403, region="41")["type"] == "/problems/forbidden"
    plan = make_plan(editor, region="4101")
    assert set(by_asset(all_lines(editor, plan["id"]))) == {zhengzhou["id"]}
    default = make_plan(editor, region=None)  # the caller's own scope
    assert default["region"] == "4101"
    province = make_plan(client, region="41")
    assert set(by_asset(all_lines(client, province["id"]))) == {zhengzhou["id"], luoyang["id"]}


def test_other_scopes_plans_are_invisible(client: TestClient, make_client: Make) -> None:
    henan = make_plan(client, region="41")
    national = make_plan(client, region="")
    guangdong = make_client("editor", "44")
    for plan_id in (henan["id"], national["id"]):
        assert guangdong.get(f"{API}/{plan_id}").status_code == 404
        assert guangdong.get(f"{API}/{plan_id}/lines").status_code == 404
        assert guangdong.get(f"{API}/{plan_id}/progress").status_code == 404
        assert guangdong.post(f"{API}/{plan_id}/approve").status_code == 404
    mine = make_plan(guangdong, region="44")
    listed = [p["id"] for p in guangdong.get(API).json()["items"]]
    assert listed == [mine["id"]]
    everything = [p["id"] for p in client.get(API).json()["items"]]
    assert everything == [mine["id"], national["id"], henan["id"]]


def test_viewers_read_but_cannot_change(
    client: TestClient, make_client: Make, db: sessionmaker[Session]
) -> None:
    a = due_asset(client, db)
    plan = make_plan(client)
    viewer = make_client("viewer", "41")
    assert viewer.get(f"{API}/{plan['id']}").status_code == 200
    line = by_asset(all_lines(viewer, plan["id"]))[a["id"]]
    assert make_plan(viewer, expect=403)["type"] == "/problems/forbidden"
    assert viewer.post(f"{API}/{plan['id']}/approve").status_code == 403
    resp = viewer.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2027})
    assert resp.status_code == 403
    resp = viewer.patch(f"{API}/{plan['id']}/projects/{line['project']['id']}", json={"name": "x"})
    assert resp.status_code == 403
    assert client.get(f"{API}/{plan['id']}").json()["status"] == "draft"


def test_category_bound_accounts(
    client: TestClient, make_client: Make, db: sessionmaker[Session]
) -> None:
    lift = due_asset(client, db, due_on=date(2027, 12, 31))
    due_asset(client, db, category="water_pump")
    lift_company = make_client("editor", "41", "elevator")
    denied = make_plan(lift_company, expect=403, categories=["water_pump"])
    assert denied["type"] == "/problems/forbidden"
    own = make_plan(lift_company)
    assert own["categories"] == ["elevator"]
    assert set(by_asset(all_lines(lift_company, own["id"]))) == {lift["id"]}
    all_categories = make_plan(client)
    elevators_only = make_plan(client, categories=["elevator"])
    assert lift_company.get(f"{API}/{all_categories['id']}").status_code == 404
    assert lift_company.get(f"{API}/{elevators_only['id']}").status_code == 200
