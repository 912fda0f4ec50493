"""Role × scope × endpoint: what each role may do inside its own scope, and category limits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.accounts.conftest import A, B, C, collect
from tests.factories import create, payload

API = "/api/v1"

# role -> expected status of (list, read, history, create, patch, delete, changes, accounts)
EXPECTED = {
    "viewer": (200, 200, 200, 403, 403, 403, 200, 403),
    "editor": (200, 200, 200, 201, 200, 204, 200, 403),
    "admin": (200, 200, 200, 201, 200, 204, 200, 200),
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
@pytest.mark.parametrize("region", ["", "41", "4101", A])
def test_role_inside_own_scope(
    client: TestClient, make_client: Callable[..., TestClient], role: str, region: str
) -> None:
    me = make_client(role, region)
    asset = create(client, "elevator", region_code=A)
    victim = create(client, "boiler", region_code=A)
    got = (
        me.get(f"{API}/assets").status_code,
        me.get(f"{API}/assets/{asset['id']}").status_code,
        me.get(f"{API}/assets/{asset['id']}/history").status_code,
        me.post(f"{API}/assets", json=payload("elevator", region_code=A)).status_code,
        me.patch(f"{API}/assets/{asset['id']}", json={"name": "新名称"}).status_code,
        me.delete(f"{API}/assets/{victim['id']}").status_code,
        me.get(f"{API}/changes").status_code,
        me.get(f"{API}/accounts").status_code,
    )
    assert got == EXPECTED[role]


def test_viewer_refusal_names_the_role_and_changes_nothing(
    client: TestClient, make_client: Callable[..., TestClient]
) -> None:
    viewer = make_client("viewer", A)
    asset = create(client, "elevator", region_code=A, name="旧名")
    resp = viewer.patch(f"{API}/assets/{asset['id']}", json={"name": "新名"})
    assert resp.status_code == 403
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert "viewer" in resp.json()["detail"]
    assert client.get(f"{API}/assets/{asset['id']}").json()["name"] == "旧名"
    history = client.get(f"{API}/assets/{asset['id']}/history").json()["items"]
    assert [c["action"] for c in history] == ["create"]


@pytest.mark.parametrize(
    ("prefix", "visible"),
    [("", {A, B, C}), ("41", {A, B}), ("4101", {A, B}), (A, {A}), ("44", {C})],
)
def test_region_prefix_scopes_the_ledger(
    client: TestClient, make_client: Callable[..., TestClient], prefix: str, visible: set[str]
) -> None:
    made = {r: create(client, "elevator", region_code=r) for r in (A, B, C)}
    viewer = make_client("viewer", prefix)
    seen = {a["region_code"] for a in collect(viewer, f"{API}/assets")}
    assert seen == visible
    for region, asset in made.items():
        expected = 200 if region in visible else 404
        assert viewer.get(f"{API}/assets/{asset['id']}").status_code == expected


def test_category_restricted_account_sees_and_writes_only_its_category(
    client: TestClient, make_client: Callable[..., TestClient]
) -> None:
    gas = create(client, "gas_pipe", region_code=A)
    lift = create(client, "elevator", region_code=A)
    gas_editor = make_client("editor", A, "gas_pipe")
    assert {a["id"] for a in collect(gas_editor, f"{API}/assets")} == {gas["id"]}
    assert gas_editor.get(f"{API}/assets/{lift['id']}").status_code == 404
    assert gas_editor.get(f"{API}/assets/{lift['id']}/history").status_code == 404
    assert gas_editor.patch(f"{API}/assets/{lift['id']}", json={"name": "x"}).status_code == 404
    resp = gas_editor.post(f"{API}/assets", json=payload("elevator", region_code=A))
    assert resp.status_code == 403
    assert "类别 gas_pipe" in resp.json()["detail"]
    assert (
        gas_editor.post(f"{API}/assets", json=payload("gas_pipe", region_code=A)).status_code == 201
    )
    categories = {c["category"] for c in collect(gas_editor, f"{API}/changes")}
    assert categories == {"gas_pipe"}


def test_account_endpoints_are_admin_only(make_client: Callable[..., TestClient]) -> None:
    for role in ("viewer", "editor"):
        me = make_client(role, A)
        own_id = me.get(f"{API}/me").json()["account_id"]
        calls = [
            me.get(f"{API}/accounts"),
            me.post(f"{API}/accounts", json={"name": "x", "role": "viewer", "region_prefix": A}),
            me.get(f"{API}/accounts/{own_id}"),
            me.patch(f"{API}/accounts/{own_id}", json={"role": "admin"}),
            me.post(f"{API}/accounts/{own_id}/tokens"),
            me.get(f"{API}/accounts/{own_id}/tokens"),
            me.delete(f"{API}/tokens/1"),
        ]
        assert [r.status_code for r in calls] == [403] * len(calls), role
        assert me.get(f"{API}/me").json()["role"] == role
