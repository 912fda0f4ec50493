"""Recording renewals, plan progress, deadline risk and plan-level targets."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.kit.dates import today
from app.rules.models import AssetFlag
from tests.factories import create
from tests.plans.helpers import API, all_lines, by_asset, due_asset, make_plan
from tests.sheets import check_print

D = Decimal
RENEWAL = "/api/v1/assets/{}/renewal"


def _renew(client: TestClient, asset_id: int, **body: object) -> dict:
    payload = {"status": "renewed", "renewed_on": "2026-05-01", "cost": 42.5, **body}
    resp = client.post(RENEWAL.format(asset_id), json=payload)
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def test_renewal_clears_flags_and_marks_lines_done(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    a = due_asset(client, db, cost="40", due_on=date(2027, 12, 31))
    b = due_asset(client, db, cost="30", due_on=date(2026, 6, 30))
    plan = make_plan(client)
    result = _renew(client, a["id"])
    assert result["plans"] == [plan["id"]] and result["status"] == "renewed"
    asset = client.get(f"/api/v1/assets/{a['id']}").json()
    assert (asset["status"], asset["renewed_on"]) == ("renewed", "2026-05-01")
    assert asset["flag_status"] in (None, "none")
    with db() as s:
        assert s.scalars(select(AssetFlag).where(AssetFlag.asset_id == a["id"])).all() == []
    line = by_asset(all_lines(client, plan["id"]))[a["id"]]
    assert (line["done_on"], D(line["actual_cost"]), line["outcome"]) == (
        "2026-05-01", D("42.5"), "renewed")  # fmt: skip
    progress = client.get(f"{API}/{plan['id']}/progress").json()
    assert (progress["planned"], progress["done"]) == (2, 1)
    assert D(progress["actual_cost"]) == D("42.5")
    (row,) = progress["by_year_category"]
    assert (row["year"], row["category"], row["planned"], row["done"]) == (2026, "elevator", 2, 1)
    risk = progress["risk"]
    if today() > date(2026, 6, 30):
        assert risk["past_due"]["count"] == 1
        assert risk["past_due"]["by_category"]["elevator"]["count"] == 1
    assert risk["scheduled_after_deadline"]["count"] == 0
    # a new plan no longer contains the renewed asset
    assert set(by_asset(all_lines(client, make_plan(client)["id"]))) == {b["id"]}


def test_lines_moved_late_are_a_risk(client: TestClient, db: sessionmaker[Session]) -> None:
    a = due_asset(client, db, cost="40", due_on=date(2026, 12, 31))
    plan = make_plan(client)
    line = by_asset(all_lines(client, plan["id"]))[a["id"]]
    client.patch(f"{API}/{plan['id']}/lines/{line['id']}", json={"year": 2028})
    risk = client.get(f"{API}/{plan['id']}/progress").json()["risk"]
    assert risk["scheduled_after_deadline"]["count"] == 1
    assert D(risk["scheduled_after_deadline"]["cost"]) == D(40)


def test_archived_versions_are_not_marked(client: TestClient, db: sessionmaker[Session]) -> None:
    a = due_asset(client, db, cost="40")
    v1 = make_plan(client)
    client.post(f"{API}/{v1['id']}/approve")
    line = by_asset(all_lines(client, v1["id"]))[a["id"]]
    v2 = client.patch(f"{API}/{v1['id']}/lines/{line['id']}", json={"unit_cost": 41}).json()
    client.post(f"{API}/{v2['plan_id']}/approve")
    draft = make_plan(client)
    result = _renew(client, a["id"], status="retired", cost=None)
    assert result["plans"] == sorted([v2["plan_id"], draft["id"]])
    assert by_asset(all_lines(client, v1["id"]))[a["id"]]["done_on"] is None
    done = by_asset(all_lines(client, v2["plan_id"]))[a["id"]]
    assert (done["outcome"], done["actual_cost"]) == ("retired", None)


def test_renewal_validation_and_access(
    client: TestClient, make_client: object, db: sessionmaker[Session]
) -> None:
    a = due_asset(client, db)
    future = client.post(RENEWAL.format(a["id"]), json={"status": "renewed",
                                                        "renewed_on": "2999-01-01"})  # fmt: skip
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "renewed_on"
    bad = client.post(
        RENEWAL.format(a["id"]), json={"status": "broken", "renewed_on": "2026-01-01"}
    )
    assert bad.status_code == 422
    viewer = make_client("viewer", "41")  # type: ignore[operator]
    body = {"status": "renewed", "renewed_on": "2026-01-01"}
    assert viewer.post(RENEWAL.format(a["id"]), json=body).status_code == 403
    outsider = make_client("editor", "44")  # type: ignore[operator]
    assert outsider.post(RENEWAL.format(a["id"]), json=body).status_code == 404
    assert client.post(RENEWAL.format(999999), json=body).status_code == 404


def test_targets(client: TestClient, db: sessionmaker[Session]) -> None:
    """Shanxi: ≈40 % of sanitation vehicles renewed by end-2025 (SX-SANITATION-40PCT)."""
    vehicles = [
        create(client, "sanitation_vehicle", region_code="140105", emission_stage=3)
        for _ in range(5)
    ]
    _renew(client, vehicles[0]["id"], renewed_on="2025-06-01")
    plan = make_plan(client, region="14", first_year=2025, last_year=2027,
                     as_of="2025-03-01", include_encouraged=True)  # fmt: skip
    (target,) = [t for t in plan["targets"] if t["id"] == "SX-SANITATION-40PCT"]
    assert D(target["target"]) == D("0.4") and target["by"] == "2025-12-31"
    assert D(target["fleet"]) == 5 and D(target["achieved"]) == D("0.2")
    # the four diesel vehicles (国三) are encouraged in Shanxi (v2: mandatory in Hebei only):
    # with no budget all go into 2025
    assert D(target["planned"]) == D(1) and target["status"] == "on_track"
    tight = make_plan(client, region="14", first_year=2025, last_year=2027, as_of="2025-03-01",
                      budgets={"2025": 60, "2026": 1000, "2027": 1000},
                      include_encouraged=True)  # fmt: skip
    (target,) = [t for t in tight["targets"] if t["id"] == "SX-SANITATION-40PCT"]
    assert D(target["planned"]) == D("0.4") and target["status"] == "on_track"
    progress = client.get(f"{API}/{tight['id']}/progress").json()
    assert [t["id"] for t in progress["targets"]] == ["SX-LPG-TRACE", "SX-SANITATION-40PCT"]
    henan = make_plan(client, region="41")
    assert henan["targets"] == []


def test_shanxi_traceability_target(client: TestClient) -> None:
    """SX-LPG-TRACE: every cylinder in service carries an electronic tag by 2024-09-30."""
    for tagged in (True, False, None):
        create(client, "lpg_cylinder", region_code="140105", manufactured_on="2020-01-01",
               has_electronic_tag=tagged)  # fmt: skip
    create(client, "lpg_cylinder", region_code="140105", manufactured_on="2020-01-01",
           has_electronic_tag=False, status="retired")  # fmt: skip
    plain = make_plan(client, region="14", first_year=2025, last_year=2027,
                      as_of="2025-03-01", categories=["lpg_cylinder"])  # fmt: skip
    (target,) = plain["targets"]
    assert (target["id"], target["metric"], target["by"]) == ("SX-LPG-TRACE", "tagged_rate",
                                                             "2024-09-30")  # fmt: skip
    assert D(target["fleet"]) == 3 and D(target["achieved"]) == D("0.3333")
    assert target["status"] == "short"
    # tagging is encouraged (LPG-NO-TAG): planned with the encouraged items, the untagged
    # cylinder counts as tagged once its line is done
    assert D(target["planned"]) == D("0.3333")  # the target date is before the plan
    encouraged = make_plan(client, region="14", first_year=2024, last_year=2027,
                           as_of="2024-03-01", categories=["lpg_cylinder"],
                           include_encouraged=True)  # fmt: skip
    (target,) = encouraged["targets"]
    assert D(target["planned"]) == D("0.6667")  # the None one is not known to lack a tag


def test_status_changed_elsewhere_counts_as_done(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    """A renewal recorded with PATCH /assets/{id} (no cost or date on the line) is still done."""
    a = due_asset(client, db, cost="40")
    due_asset(client, db, cost="30")
    plan = make_plan(client)
    resp = client.patch(f"/api/v1/assets/{a['id']}", json={"status": "retired"})
    assert resp.status_code == 200, resp.text
    progress = client.get(f"{API}/{plan['id']}/progress").json()
    assert (progress["planned"], progress["done"]) == (2, 1)
    assert D(progress["by_year_category"][0]["done_planned_cost"]) == D(40)


def test_deleted_asset_stays_in_its_plans(client: TestClient, db: sessionmaker[Session]) -> None:
    """Plan lines are a snapshot: deleting the ledger row changes no plan."""
    a = due_asset(client, db, cost="40", address="建设路1号")
    plan = make_plan(client)
    client.post(f"{API}/{plan['id']}/approve")
    assert client.delete(f"/api/v1/assets/{a['id']}").status_code == 204
    (line,) = all_lines(client, plan["id"])
    assert line["asset"] == {"id": a["id"], "code": a["asset_code"], "category": "elevator",
                             "region_code": "410102", "address": "建设路1号"}  # fmt: skip
    progress = client.get(f"{API}/{plan['id']}/progress").json()
    assert (progress["planned"], progress["done"]) == (1, 0)


def test_progress_downloads_as_xlsx_and_csv(client: TestClient, db: sessionmaker[Session]) -> None:
    a = due_asset(client, db, cost="40", due_on=date(2027, 12, 31))
    due_asset(client, db, cost="30", due_on=date(2027, 6, 30))
    plan = make_plan(client)
    _renew(client, a["id"])
    url = f"{API}/{plan['id']}/progress"
    resp = client.get(url, params={"format": "xlsx"})
    assert resp.status_code == 200, resp.text
    assert "attachment" in resp.headers["content-disposition"]
    assert "%E6%89%A7%E8%A1%8C%E8%BF%9B%E5%BA%A6" in resp.headers["content-disposition"]  # 执行进度
    book = openpyxl.load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["执行进度", "风险", "目标"]
    for ws in book.worksheets:
        narrow = ws.title == "风险"  # four columns fit a portrait page
        check_print(ws, landscape=not narrow, title_rows="1:2", header_has=("执行进度", "截至"))
    rows = list(book["执行进度"].iter_rows(values_only=True))
    assert rows[1][:5] == ("年度", "类别", "计划数", "已完成", "完成率")
    (line,) = [r for r in rows[2:] if r[0] == 2026]
    assert line[1:5] == ("电梯", 2, 1, "50.0%")
    assert rows[-1][0] == "合计" and rows[-1][2:4] == (2, 1)
    assert D(str(rows[-1][8])) == D("42.5")  # the actual cost, 万元
    csv_resp = client.get(url, params={"format": "csv"})
    assert csv_resp.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
    assert lines[0][:3] == ["年度", "类别", "计划数"]
    assert [r[0] for r in lines[1:]] == [str(r[0]) for r in rows[2:]]
    assert client.get(url, params={"format": "pdf"}).status_code == 422
