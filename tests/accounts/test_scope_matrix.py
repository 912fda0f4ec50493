"""Every /api/v1 route applies the caller's scope: district A cannot read or change B's or C's data.

`CASES` maps each route (method, path) to a check run as district A's accounts against objects
of district B (410103, same city) and C (440106, another province). A route added to the app
without a case here fails `test_every_api_route_has_a_scope_case`: add its case when you add the
route (reading another scope's object = 404; writing into another scope = 403 naming the scope).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from tests.accounts.conftest import A, B, C, World, collect, import_workbook
from tests.factories import payload

API = "/api/v1"
EXEMPT_PREFIXES = (
    f"{API}/health",
    f"{API}/me",
    f"{API}/regions",
    f"{API}/rule-packs",
    f"{API}/templates",
    f"{API}/openapi",
    f"{API}/docs",
)
"""Reference data and the caller's own identity: no region-scoped data behind them."""

Case = Callable[[World], None]
CASES: dict[tuple[str, str], Case] = {}


def case(method: str, path: str) -> Callable[[Case], Case]:
    def register(fn: Case) -> Case:
        CASES[(method, API + path)] = fn
        return fn

    return register


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) of every versioned route the app serves, hidden-from-schema ones too."""
    routes = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        path = route.path or ""
        if path.startswith(API + "/") and not path.startswith(EXEMPT_PREFIXES):
            routes |= {(method, path) for method in route.methods or ()}
    return routes


def test_every_api_route_has_a_scope_case(app: TestClient) -> None:
    routes = api_routes(app)
    missing = sorted(routes - CASES.keys())
    assert not missing, f"routes without a scope case in {__name__}: {missing}"
    stale = sorted(CASES.keys() - routes)
    assert not stale, f"scope cases for routes that no longer exist: {stale}"


def _ids(items: list[dict[str, object]]) -> set[object]:
    return {i["id"] for i in items}


# --- assets ---------------------------------------------------------------------------------


@case("GET", "/assets")
def _list_assets(w: World) -> None:
    for client in (w.editor_a, w.viewer_a, w.admin_a):
        seen = _ids(collect(client, f"{API}/assets"))
        assert seen == {w.own["id"]}
        for region in (B, C, "41", "44"):
            narrowed = _ids(collect(client, f"{API}/assets", region=region))
            assert narrowed <= {w.own["id"]}
    assert _ids(w.others) <= _ids(collect(w.admin, f"{API}/assets"))


@case("POST", "/assets")
def _create_asset(w: World) -> None:
    for region in (B, C):
        before = len(collect(w.admin, f"{API}/assets", region=region))
        for client in (w.editor_a, w.admin_a):
            resp = client.post(f"{API}/assets", json=payload("elevator", region_code=region))
            assert resp.status_code == 403, resp.text
            assert A in resp.json()["detail"]
        assert len(collect(w.admin, f"{API}/assets", region=region)) == before


@case("GET", "/assets/{asset_id}")
def _read_asset(w: World) -> None:
    assert w.viewer_a.get(f"{API}/assets/{w.own['id']}").status_code == 200
    for other in w.others:
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            resp = client.get(f"{API}/assets/{other['id']}")
            assert resp.status_code == 404
            assert resp.json()["detail"] == f"设备 {other['id']} 不存在或不在您的管辖范围内"


@case("PATCH", "/assets/{asset_id}")
def _patch_asset(w: World) -> None:
    for other in w.others:
        for client in (w.editor_a, w.admin_a):
            assert (
                client.patch(f"{API}/assets/{other['id']}", json={"name": "x"}).status_code == 404
            )
        assert w.admin.get(f"{API}/assets/{other['id']}").json().get("name") == other.get("name")
    for region in (B, C):  # moving one's own asset out of the scope is a write there
        resp = w.editor_a.patch(f"{API}/assets/{w.own['id']}", json={"region_code": region})
        assert resp.status_code == 403
    assert w.admin.get(f"{API}/assets/{w.own['id']}").json()["region_code"] == A


@case("DELETE", "/assets/{asset_id}")
def _delete_asset(w: World) -> None:
    for other in w.others:
        for client in (w.editor_a, w.admin_a):
            assert client.delete(f"{API}/assets/{other['id']}").status_code == 404
        assert w.admin.get(f"{API}/assets/{other['id']}").status_code == 200


# --- change log -----------------------------------------------------------------------------


@case("GET", "/assets/{asset_id}/history")
def _asset_history(w: World) -> None:
    assert w.viewer_a.get(f"{API}/assets/{w.own['id']}/history").status_code == 200
    for other in w.others:
        assert w.admin.get(f"{API}/assets/{other['id']}/history").json()["items"]
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/assets/{other['id']}/history").status_code == 404


@case("GET", "/changes")
def _changes(w: World) -> None:
    everything = collect(w.admin, f"{API}/changes")
    assert {c["region_code"] for c in everything} >= {A, B, C}
    for client in (w.editor_a, w.viewer_a, w.admin_a):
        seen = collect(client, f"{API}/changes")
        assert seen and {c["region_code"] for c in seen} == {A}
        for other in w.others:
            probe = {"object_type": "asset", "object_id": str(other["id"])}
            assert collect(client, f"{API}/changes", **probe) == []


# --- account administration -----------------------------------------------------------------


@case("GET", "/accounts")
def _list_accounts(w: World) -> None:
    seen = {a["id"] for a in collect(w.admin_a, f"{API}/accounts")}
    assert {w.account_id(c) for c in (w.admin_a, w.editor_a, w.viewer_a)} <= seen
    assert not seen & set(w.other_accounts)
    assert set(w.other_accounts) <= {a["id"] for a in collect(w.admin, f"{API}/accounts")}


@case("POST", "/accounts")
def _create_account(w: World) -> None:
    before = len(collect(w.admin, f"{API}/accounts"))
    for n, region in enumerate((B, C, "", "41", "4101")):
        body = {"name": f"escalate-{n}", "role": "editor", "region_prefix": region}
        resp = w.admin_a.post(f"{API}/accounts", json=body)
        assert resp.status_code == 403, (region, resp.text)
        assert f"超出您的管辖范围(区划 {A})" in resp.json()["detail"]
    assert len(collect(w.admin, f"{API}/accounts")) == before
    body = {"name": "a-clerk", "role": "editor", "region_prefix": A}
    assert w.admin_a.post(f"{API}/accounts", json=body).status_code == 201


@case("GET", "/accounts/{account_id}")
def _read_account(w: World) -> None:
    assert w.admin_a.get(f"{API}/accounts/{w.account_id(w.editor_a)}").status_code == 200
    for account_id in w.other_accounts:
        assert w.admin_a.get(f"{API}/accounts/{account_id}").status_code == 404


@case("PATCH", "/accounts/{account_id}")
def _patch_account(w: World) -> None:
    for account_id, other in zip(w.other_accounts, w.other_clients, strict=True):
        resp = w.admin_a.patch(f"{API}/accounts/{account_id}", json={"active": False})
        assert resp.status_code == 404
        assert other.get(f"{API}/me").status_code == 200


@case("POST", "/accounts/{account_id}/tokens")
def _create_token(w: World) -> None:
    for account_id in w.other_accounts:
        assert w.admin_a.post(f"{API}/accounts/{account_id}/tokens").status_code == 404
        assert len(w.admin.get(f"{API}/accounts/{account_id}/tokens").json()) == 1


@case("GET", "/accounts/{account_id}/tokens")
def _list_tokens(w: World) -> None:
    assert w.admin_a.get(f"{API}/accounts/{w.account_id(w.viewer_a)}/tokens").status_code == 200
    for account_id in w.other_accounts:
        assert w.admin_a.get(f"{API}/accounts/{account_id}/tokens").status_code == 404


@case("DELETE", "/tokens/{token_id}")
def _revoke_token(w: World) -> None:
    for token_id in w.other_tokens:
        assert w.admin_a.delete(f"{API}/tokens/{token_id}").status_code == 404
    for other in w.other_clients:
        assert other.get(f"{API}/me").status_code == 200


# --- ledger export, flags, due list and stats ------------------------------------------------


def _xlsx_cells(content: bytes) -> set[object]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return {cell for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for cell in row}


@case("GET", "/assets/export.xlsx")
def _export_ledger(w: World) -> None:
    for client in (w.editor_a, w.viewer_a):
        resp = client.get(f"{API}/assets/export.xlsx")
        assert resp.status_code == 200
        cells = _xlsx_cells(resp.content)
        assert w.own["asset_code"] in cells
        assert not {o["asset_code"] for o in w.others} & cells
    everything = _xlsx_cells(w.admin.get(f"{API}/assets/export.xlsx").content)
    assert {o["asset_code"] for o in w.others} <= everything


@case("GET", "/assets/{asset_id}/flags")
def _asset_flags(w: World) -> None:
    assert w.viewer_a.get(f"{API}/assets/{w.own['id']}/flags").status_code == 200
    for other in w.others:
        assert w.admin.get(f"{API}/assets/{other['id']}/flags").json()["flags"]
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/assets/{other['id']}/flags").status_code == 404


@case("GET", "/due")
def _due(w: World) -> None:
    assert _asset_ids(w.admin.get(f"{API}/due").json()) >= _ids(w.others)
    for client in (w.editor_a, w.viewer_a):
        assert _asset_ids(client.get(f"{API}/due").json()) == {w.own["id"]}
        for region in (B, C):
            assert client.get(f"{API}/due", params={"region": region}).json()["items"] == []
        text = client.get(f"{API}/due", params={"format": "csv"}).text
        assert w.own["asset_code"] in text
        assert not any(o["asset_code"] in text for o in w.others)


def _asset_ids(page: dict[str, Any]) -> set[object]:
    return {item["asset_id"] for item in page["items"]}


@case("GET", "/stats")
def _stats(w: World) -> None:
    everywhere = w.admin.get(f"{API}/stats", params={"group_by": "district"}).json()
    assert {r["region"] for r in everywhere["rows"]} >= {A, B, C}
    for client in (w.editor_a, w.viewer_a):
        mine = client.get(f"{API}/stats", params={"group_by": "district"}).json()
        assert {r["region"] for r in mine["rows"]} == {A}
        province = client.get(f"{API}/stats").json()["rows"]
        assert sum(r["assets"] for r in province) == 1
        assert client.get(f"{API}/stats", params={"region": B}).json()["rows"] == []


# --- imports --------------------------------------------------------------------------------


@case("POST", "/imports")
def _upload(w: World) -> None:
    before = {r: len(collect(w.admin, f"{API}/assets", region=r)) for r in (B, C)}
    rows = [["GD-A-1", A, "钢", "2001-01-01"], ["GD-B-1", B, "钢", "2001-01-01"]]
    rows.append(["GD-C-1", C, "钢", "2001-01-01"])
    batch = import_workbook(w.editor_a, rows, dry_run=False)
    assert (batch["counts"]["created"], batch["counts"]["rejected"]) == (1, 2), batch
    assert {r: len(collect(w.admin, f"{API}/assets", region=r)) for r in (B, C)} == before
    refused = w.viewer_a.post(
        f"{API}/imports", files={"file": ("x.xlsx", b"PK", "application/octet-stream")}
    )
    assert refused.status_code == 403


@case("GET", "/imports")
def _list_imports(w: World) -> None:
    others = {b["id"] for b in w.other_batches}
    assert others <= {b["id"] for b in w.admin.get(f"{API}/imports").json()["items"]}
    for client in (w.editor_a, w.viewer_a, w.admin_a):
        assert not others & {b["id"] for b in client.get(f"{API}/imports").json()["items"]}


@case("GET", "/imports/{batch_id}")
def _read_import(w: World) -> None:
    for batch in w.other_batches:
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/imports/{batch['id']}").status_code == 404


@case("GET", "/imports/{batch_id}/rows")
def _import_rows(w: World) -> None:
    for batch in w.other_batches:
        assert w.admin.get(f"{API}/imports/{batch['id']}/rows").status_code == 200
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/imports/{batch['id']}/rows").status_code == 404


@case("GET", "/imports/{batch_id}/errors.xlsx")
def _import_errors(w: World) -> None:
    for batch in w.other_batches:
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/imports/{batch['id']}/errors.xlsx").status_code == 404


@case("POST", "/imports/{batch_id}/commit")
def _commit_import(w: World) -> None:
    for batch in w.other_batches:
        assert batch["status"] == "validated"
        for client in (w.editor_a, w.admin_a):
            assert client.post(f"{API}/imports/{batch['id']}/commit").status_code == 404
        assert w.admin.get(f"{API}/imports/{batch['id']}").json()["status"] == "validated"


# --- plans and renewals ---------------------------------------------------------------------


@case("POST", "/plans")
def _create_plan(w: World) -> None:
    for region in (B, C, "41", ""):
        body = {"region": region, "first_year": 2026, "last_year": 2027}
        resp = w.editor_a.post(f"{API}/plans", json=body)
        assert resp.status_code == 403, (region, resp.text)
    assert w.admin.get(f"{API}/plans").json()["items"] == []
    body = {"region": A, "first_year": 2026, "last_year": 2027}
    assert w.viewer_a.post(f"{API}/plans", json=body).status_code == 403
    assert w.editor_a.post(f"{API}/plans", json=body).status_code == 201


@case("GET", "/plans")
def _list_plans(w: World) -> None:
    others = {p["id"] for p in w.other_plans}
    assert others <= {p["id"] for p in w.admin.get(f"{API}/plans").json()["items"]}
    for client in (w.editor_a, w.viewer_a, w.admin_a):
        assert not others & {p["id"] for p in client.get(f"{API}/plans").json()["items"]}


def _plan_reads_are_404(w: World, suffix: str) -> None:
    for plan in w.other_plans:
        assert w.admin.get(f"{API}/plans/{plan['id']}{suffix}").status_code == 200
        for client in (w.editor_a, w.viewer_a, w.admin_a):
            assert client.get(f"{API}/plans/{plan['id']}{suffix}").status_code == 404


@case("GET", "/plans/{plan_id}")
def _read_plan(w: World) -> None:
    _plan_reads_are_404(w, "")


@case("GET", "/plans/{plan_id}/lines")
def _plan_lines(w: World) -> None:
    _plan_reads_are_404(w, "/lines")


@case("GET", "/plans/{plan_id}/projects")
def _plan_projects(w: World) -> None:
    _plan_reads_are_404(w, "/projects")


@case("GET", "/plans/{plan_id}/progress")
def _plan_progress(w: World) -> None:
    _plan_reads_are_404(w, "/progress")


@case("GET", "/plans/{plan_id}/export.xlsx")
def _plan_export(w: World) -> None:
    _plan_reads_are_404(w, "/export.xlsx")


@case("PATCH", "/plans/{plan_id}/lines/{line_id}")
def _patch_plan_line(w: World) -> None:
    own = w.editor_a.post(
        f"{API}/plans", json={"region": A, "first_year": 2026, "last_year": 2027}
    ).json()
    for plan in w.other_plans:
        line = plan["line"]
        url = f"{API}/plans/{plan['id']}/lines/{line['id']}"
        assert w.editor_a.patch(url, json={"year": 2027}).status_code == 404
        borrowed = f"{API}/plans/{own['id']}/lines/{line['id']}"  # another plan's line id
        assert w.editor_a.patch(borrowed, json={"year": 2027}).status_code == 404
        lines = w.admin.get(f"{API}/plans/{plan['id']}/lines").json()["items"]
        assert [(x["id"], x["year"]) for x in lines] == [(line["id"], line["year"])]


@case("PATCH", "/plans/{plan_id}/projects/{project_id}")
def _patch_plan_project(w: World) -> None:
    for plan in w.other_plans:
        project = plan["line"]["project"]
        url = f"{API}/plans/{plan['id']}/projects/{project['id']}"
        assert w.editor_a.patch(url, json={"name": "挪用"}).status_code == 404
        names = [
            p["name"] for p in w.admin.get(f"{API}/plans/{plan['id']}/projects").json()["items"]
        ]
        assert names == [project["name"]]


@case("POST", "/plans/{plan_id}/approve")
def _approve_plan(w: World) -> None:
    for plan in w.other_plans:
        for client in (w.editor_a, w.admin_a):
            assert client.post(f"{API}/plans/{plan['id']}/approve").status_code == 404
        assert w.admin.get(f"{API}/plans/{plan['id']}").json()["status"] == "draft"


@case("POST", "/assets/{asset_id}/renewal")
def _record_renewal(w: World) -> None:
    body = {"status": "renewed", "renewed_on": "2026-01-15"}
    for other in w.others:
        for client in (w.editor_a, w.admin_a):
            assert client.post(f"{API}/assets/{other['id']}/renewal", json=body).status_code == 404
        assert w.admin.get(f"{API}/assets/{other['id']}").json()["status"] == "in_service"
    assert w.viewer_a.post(f"{API}/assets/{w.own['id']}/renewal", json=body).status_code == 403


# Parametrized last: the cases above must be registered before the list is taken.
@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_route_applies_scope(route: tuple[str, str], world: World) -> None:
    CASES[route](world)


def test_import_cannot_take_over_another_districts_asset(world: World) -> None:
    """A row keyed like district B's asset but placed in A must not change or move B's asset."""
    victim = world.others[0]
    row = [victim["asset_code"], A, "钢", "2001-01-01"]
    batch = import_workbook(world.editor_a, [row], dry_run=True)
    rows = world.editor_a.get(f"{API}/imports/{batch['id']}/rows").text
    assert "grey_cast_iron" not in rows and "灰口铸铁" not in rows  # B's values do not leak
    assert batch["counts"]["rejected"] == 1 if "counts" in batch else batch["rejected"] == 1
    from app.assets.service import code_unavailable

    assert code_unavailable(victim["asset_code"]) in str(batch["errors"])
    import_workbook(world.editor_a, [row], dry_run=False)
    after = world.admin.get(f"{API}/assets/{victim['id']}").json()
    assert (after["region_code"], after["material"]) == (B, "grey_cast_iron")


def test_a_code_held_elsewhere_is_refused_without_saying_where(world: World) -> None:
    """Creating, or renaming an own asset to, a code another district's asset holds: one 409
    whose body names neither that asset nor its district, the same for every such code."""
    from app.assets.service import code_unavailable

    bodies = []
    for other in world.others:
        body = payload(other["category"], asset_code=other["asset_code"], region_code=A)
        resp = world.editor_a.post(f"{API}/assets", json=body)
        assert resp.status_code == 409, resp.text
        problem = resp.json()
        assert problem["detail"] == code_unavailable(other["asset_code"])
        assert "existing_id" not in problem
        text = resp.text
        assert str(other["id"]) not in text.replace(other["asset_code"], "")
        assert other["region_code"] not in text
        bodies.append({k: v for k, v in problem.items() if k not in ("detail", "asset_code")})
    assert all(b == bodies[0] for b in bodies)
    own = world.own
    resp = world.editor_a.patch(
        f"{API}/assets/{own['id']}", json={"asset_code": world.others[0]["asset_code"]}
    )
    assert resp.status_code == 409, resp.text
    assert resp.json()["detail"] == code_unavailable(world.others[0]["asset_code"])
