"""Account administration over HTTP: create, list, change, tokens, revocation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.accounts.models import ApiToken
from app.accounts.service import hash_token
from tests.accounts.conftest import A, B, collect

API = "/api/v1"


def new_account(client: TestClient, **body: Any) -> dict[str, Any]:
    body = {"name": "张三", "role": "editor", "region_prefix": A, **body}
    resp = client.post(f"{API}/accounts", json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]


def as_token(app: TestClient, token: str) -> TestClient:
    other = TestClient(app.app, raise_server_exceptions=False)
    other.headers["Authorization"] = f"Bearer {token}"
    return other


class TestAccounts:
    def test_create_read_list(self, client: TestClient) -> None:
        acc = new_account(client, category="gas_pipe")
        assert acc["name"] == "张三" and acc["role"] == "editor" and acc["active"] is True
        assert acc["region_prefix"] == A and acc["category"] == "gas_pipe"
        assert client.get(f"{API}/accounts/{acc['id']}").json() == acc
        assert acc in collect(client, f"{API}/accounts")

    def test_list_pages_by_id(self, client: TestClient) -> None:
        for n in range(5):
            new_account(client, name=f"user{n}")
        first = client.get(f"{API}/accounts", params={"limit": 2}).json()
        assert len(first["items"]) == 2 and first["next_cursor"]
        ids = [a["id"] for a in collect(client, f"{API}/accounts")]
        assert ids == sorted(ids) and len(ids) == len(set(ids)) >= 6

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"role": "superuser"}, "role"),
            ({"region_prefix": "4101023"}, "region_prefix"),
            ({"region_prefix": "410"}, "region_prefix"),
            ({"region_prefix": "99"}, "region_prefix"),
            ({"category": "spaceship"}, "category"),
            ({"name": ""}, "name"),
            ({"password": "x"}, "password"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, client: TestClient, body: dict[str, Any], field: str
    ) -> None:
        resp = client.post(f"{API}/accounts", json={"name": "x", "role": "viewer", **body})
        assert resp.status_code == 422, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json")
        problem = resp.json()
        fields = {e["field"] for e in problem.get("errors", [])} | {problem.get("field")}
        assert field in fields
        assert all(a["name"] != "x" for a in collect(client, f"{API}/accounts"))

    def test_duplicate_name_is_409(self, client: TestClient) -> None:
        new_account(client)
        resp = client.post(f"{API}/accounts", json={"name": "张三", "role": "viewer"})
        assert resp.status_code == 409
        assert "张三" in resp.json()["detail"]

    def test_unknown_account_is_404(self, client: TestClient) -> None:
        assert client.get(f"{API}/accounts/987654").status_code == 404
        assert client.patch(f"{API}/accounts/987654", json={"active": False}).status_code == 404
        assert client.post(f"{API}/accounts/987654/tokens").status_code == 404
        assert client.delete(f"{API}/tokens/987654").status_code == 404

    def test_regional_admin_manages_inside_its_scope(
        self, make_client: Callable[..., TestClient]
    ) -> None:
        city_admin = make_client("admin", "4101")
        made = new_account(city_admin, name="district-admin", role="admin", region_prefix=A)
        assert made["region_prefix"] == A
        resp = city_admin.patch(f"{API}/accounts/{made['id']}", json={"role": "viewer"})
        assert resp.status_code == 200 and resp.json()["role"] == "viewer"
        for prefix in ("", "41", "44", "4401"):
            body = {"name": f"wide{prefix}", "role": "viewer", "region_prefix": prefix}
            assert city_admin.post(f"{API}/accounts", json=body).status_code == 403

    def test_category_admin_cannot_create_an_all_category_account(
        self, make_client: Callable[..., TestClient]
    ) -> None:
        gas_admin = make_client("admin", A, "gas_pipe")
        resp = gas_admin.post(f"{API}/accounts", json={"name": "all", "role": "viewer"})
        assert resp.status_code == 403
        body = {"name": "all2", "role": "viewer", "region_prefix": A}
        assert gas_admin.post(f"{API}/accounts", json=body).status_code == 403
        body["category"] = "gas_pipe"
        assert gas_admin.post(f"{API}/accounts", json=body).status_code == 201

    def test_admin_cannot_demote_or_disable_itself(self, client: TestClient) -> None:
        me = client.get(f"{API}/me").json()["account_id"]
        for change in ({"role": "viewer"}, {"active": False}):
            resp = client.patch(f"{API}/accounts/{me}", json=change)
            assert resp.status_code == 403
        assert client.get(f"{API}/me").status_code == 200
        assert client.get(f"{API}/accounts/{me}").json()["role"] == "admin"


class TestTokens:
    def test_issued_token_is_shown_once_and_works(self, client: TestClient) -> None:
        acc = new_account(client, role="viewer")
        resp = client.post(f"{API}/accounts/{acc['id']}/tokens")
        assert resp.status_code == 201
        issued = resp.json()
        assert issued["token"].startswith(issued["prefix"])
        assert as_token(client, issued["token"]).get(f"{API}/me").json()["name"] == "张三"
        listing = client.get(f"{API}/accounts/{acc['id']}/tokens").json()
        assert [t["id"] for t in listing] == [issued["id"]]
        assert set(listing[0]) == {
            "id",
            "account_id",
            "prefix",
            "created_at",
            "last_used_at",
            "revoked_at",
        }
        text = client.get(f"{API}/accounts/{acc['id']}/tokens").text
        assert issued["token"] not in text and hash_token(issued["token"]) not in text

    def test_revocation_takes_effect_on_the_next_request(self, client: TestClient) -> None:
        acc = new_account(client, role="viewer")
        issued = client.post(f"{API}/accounts/{acc['id']}/tokens").json()
        spare = client.post(f"{API}/accounts/{acc['id']}/tokens").json()
        user = as_token(client, issued["token"])
        assert user.get(f"{API}/assets").status_code == 200
        assert client.delete(f"{API}/tokens/{issued['id']}").status_code == 204
        resp = user.get(f"{API}/assets")
        assert resp.status_code == 401
        assert resp.headers["www-authenticate"] == "Bearer"
        assert as_token(client, spare["token"]).get(f"{API}/me").status_code == 200
        listing = {t["id"]: t for t in client.get(f"{API}/accounts/{acc['id']}/tokens").json()}
        assert listing[issued["id"]]["revoked_at"] is not None
        assert listing[spare["id"]]["revoked_at"] is None
        assert client.delete(f"{API}/tokens/{issued['id']}").status_code == 204  # idempotent

    def test_deactivated_account_is_locked_out_until_reactivated(self, client: TestClient) -> None:
        acc = new_account(client, role="viewer")
        user = as_token(client, client.post(f"{API}/accounts/{acc['id']}/tokens").json()["token"])
        assert (
            client.patch(f"{API}/accounts/{acc['id']}", json={"active": False}).status_code == 200
        )
        assert user.get(f"{API}/me").status_code == 401
        assert client.patch(f"{API}/accounts/{acc['id']}", json={"active": True}).status_code == 200
        assert user.get(f"{API}/me").status_code == 200

    def test_role_change_applies_on_the_next_request(self, client: TestClient) -> None:
        acc = new_account(client, role="editor")
        user = as_token(client, client.post(f"{API}/accounts/{acc['id']}/tokens").json()["token"])
        assert user.get(f"{API}/me").json()["role"] == "editor"
        client.patch(f"{API}/accounts/{acc['id']}", json={"role": "viewer"})
        assert user.get(f"{API}/me").json()["role"] == "viewer"

    def test_only_the_hash_is_stored(self, client: TestClient, db: sessionmaker[Session]) -> None:
        acc = new_account(client)
        issued = client.post(f"{API}/accounts/{acc['id']}/tokens").json()
        with db() as session:
            row = session.scalars(select(ApiToken).where(ApiToken.id == issued["id"])).one()
        assert row.token_hash == hash_token(issued["token"]) != issued["token"]
        assert issued["token"] not in {row.token_hash, row.prefix}

    def test_revoking_another_regions_token_is_404_and_it_keeps_working(
        self, client: TestClient, make_client: Callable[..., TestClient]
    ) -> None:
        other = new_account(client, name="b-user", region_prefix=B)
        issued = client.post(f"{API}/accounts/{other['id']}/tokens").json()
        district_admin = make_client("admin", A)
        assert district_admin.delete(f"{API}/tokens/{issued['id']}").status_code == 404
        assert as_token(client, issued["token"]).get(f"{API}/me").status_code == 200
