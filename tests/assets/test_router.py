"""Ledger API: create, read, list, change and delete, with every failure path."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import create, payload

API = "/api/v1/assets"


def count(client: TestClient) -> int:
    n, cursor = 0, None
    while True:
        params: dict[str, Any] = {"limit": 500}
        if cursor:
            params["cursor"] = cursor
        body = client.get(API, params=params).json()
        n += len(body["items"])
        cursor = body["next_cursor"]
        if not cursor:
            return n


class TestCreate:
    @pytest.mark.parametrize(
        "category",
        ["elevator", "water_pump", "boiler", "gas_pipe", "lpg_cylinder", "sanitation_vehicle"],
    )
    def test_each_category_round_trips(self, client: TestClient, category: str) -> None:
        body = payload(category)
        resp = client.post(API, json=body)
        assert resp.status_code == 201, resp.text
        got = resp.json()
        assert got["category"] == category
        assert got["status"] == "in_service"
        again = client.get(f"{API}/{got['id']}").json()
        for key, value in body.items():
            if isinstance(value, str) and value.replace(".", "").isdigit():
                assert Decimal(again[key]) == Decimal(value), key
            else:
                assert again[key] == value, key

    def test_missing_required_field_names_it(self, client: TestClient) -> None:
        body = payload("elevator")
        del body["asset_code"]
        resp = client.post(API, json=body)
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert "asset_code" in {e["field"].split(".")[-1] for e in resp.json()["errors"]}

    def test_bad_enum_is_rejected_with_field(self, client: TestClient) -> None:
        resp = client.post(API, json=payload("gas_pipe", material="bamboo"))
        assert resp.status_code == 422
        assert any(e["field"].endswith("material") for e in resp.json()["errors"])

    def test_field_of_another_category_is_rejected(self, client: TestClient) -> None:
        resp = client.post(API, json=payload("elevator", material="steel"))
        assert resp.status_code == 422
        assert any(e["field"].endswith("material") for e in resp.json()["errors"])

    def test_unknown_field_is_rejected(self, client: TestClient) -> None:
        resp = client.post(API, json=payload("elevator", colour="red"))
        assert resp.status_code == 422
        assert "colour" in resp.json()["detail"]

    def test_category_specific_enum_domain(self, client: TestClient) -> None:
        # below_3 is a boiler grade, not a pump grade
        resp = client.post(API, json=payload("water_pump", efficiency_grade="below_3"))
        assert resp.status_code == 422
        assert (
            client.post(API, json=payload("boiler", efficiency_grade="below_3")).status_code == 201
        )

    def test_lpg_cylinder_requires_manufacture_date(self, client: TestClient) -> None:
        body = payload("lpg_cylinder")
        del body["manufactured_on"]
        resp = client.post(API, json=body)
        assert resp.status_code == 422
        assert any(e["field"].endswith("manufactured_on") for e in resp.json()["errors"])

    @pytest.mark.parametrize(
        "value", ["2005", "2005-3-1", "2005/03/01", "2005-03-01T00:00:00", 20050301]
    )
    def test_api_takes_iso_dates_only(self, client: TestClient, value: object) -> None:
        resp = client.post(API, json=payload("elevator", commissioned_on=value))
        assert resp.status_code == 422, value

    def test_unknown_region_is_422(self, client: TestClient) -> None:
        resp = client.post(API, json=payload("elevator", region_code="419999"))
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "region_code"

    def test_malformed_region_is_422(self, client: TestClient) -> None:
        assert client.post(API, json=payload("elevator", region_code="4101")).status_code == 422

    def test_duplicate_code_is_409_naming_it(self, client: TestClient) -> None:
        first = create(client, "elevator", asset_code="DUP-1")
        resp = client.post(API, json=payload("elevator", asset_code="DUP-1"))
        assert resp.status_code == 409
        assert "DUP-1" in resp.json()["detail"]
        assert resp.json()["existing_id"] == first["id"]
        # the same code in another category is a different asset
        assert client.post(API, json=payload("gas_pipe", asset_code="DUP-1")).status_code == 201

    def test_failed_requests_write_nothing(self, client: TestClient) -> None:
        create(client, "elevator", asset_code="KEEP")
        before = count(client)
        client.post(API, json=payload("elevator", asset_code="KEEP"))
        client.post(API, json=payload("elevator", region_code="999999"))
        client.post(API, json=payload("elevator", building_use="castle"))
        assert count(client) == before

    def test_negative_numbers_rejected(self, client: TestClient) -> None:
        assert client.post(API, json=payload("gas_pipe", length_m="-5")).status_code == 422


class TestReadAndList:
    def test_unknown_id_is_404_problem(self, client: TestClient) -> None:
        resp = client.get(f"{API}/999999")
        assert resp.status_code == 404
        assert resp.json()["type"] == "/problems/not-found"

    def test_filters(self, client: TestClient) -> None:
        a = create(
            client,
            "elevator",
            region_code="410102",
            commissioned_on="2000-01-01",
            name="金水河畔1号楼电梯",
        )
        b = create(
            client,
            "gas_pipe",
            region_code="440106",
            commissioned_on="2015-01-01",
            address="天河路100号",
        )
        c = create(
            client, "elevator", region_code="410305", status="retired", commissioned_on="2010-05-05"
        )

        def ids(**params: Any) -> set[int]:
            resp = client.get(API, params=params)
            assert resp.status_code == 200, resp.text
            return {i["id"] for i in resp.json()["items"]}

        assert ids(category="elevator") == {a["id"], c["id"]}
        assert ids(region="41") == {a["id"], c["id"]}
        assert ids(region="4101") == {a["id"]}
        assert ids(region="440106") == {b["id"]}
        assert ids(status="retired") == {c["id"]}
        assert ids(commissioned_before="2005-01-01") == {a["id"]}
        assert ids(commissioned_after="2010-01-01") == {b["id"], c["id"]}
        assert ids(q="金水河") == {a["id"]}
        assert ids(q="天河路") == {b["id"]}
        assert ids(q=b["asset_code"].lower()) == {b["id"]}
        assert ids(q="%") == set()

    @pytest.mark.parametrize("sort", ["id", "asset_code", "region_code"])
    def test_keyset_pages_cover_everything_once(self, client: TestClient, sort: str) -> None:
        made = {
            create(client, "lpg_cylinder", region_code=r)["id"]
            for r in ["410102", "130102", "440106", "310101", "140105"] * 3
        }
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 4, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            body = client.get(API, params=params).json()
            seen += [i["id"] for i in body["items"]]
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(made)
        assert len(seen) == len(set(seen))

    def test_oversize_page_is_422(self, client: TestClient) -> None:
        assert client.get(API, params={"limit": 501}).status_code == 422
        assert client.get(API, params={"limit": 0}).status_code == 422

    def test_bad_cursor_is_422(self, client: TestClient) -> None:
        resp = client.get(API, params={"cursor": "not-a-cursor"})
        assert resp.status_code == 422
        assert resp.json()["field"] == "cursor"

    def test_read_shows_only_own_category_fields(self, client: TestClient) -> None:
        got = create(client, "elevator")
        assert "building_use" in got
        assert "material" not in got


class TestPatchAndDelete:
    def test_patch_changes_fields(self, client: TestClient) -> None:
        a = create(client, "gas_pipe")
        resp = client.patch(f"{API}/{a['id']}", json={"material": "grey_cast_iron", "name": "改"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["material"] == "grey_cast_iron"
        assert client.get(f"{API}/{a['id']}").json()["name"] == "改"

    def test_patch_rejects_bad_values_and_keeps_record(self, client: TestClient) -> None:
        a = create(client, "gas_pipe", material="steel")
        resp = client.patch(f"{API}/{a['id']}", json={"material": "wood", "name": "x"})
        assert resp.status_code == 422
        assert any(e["field"] == "material" for e in resp.json()["errors"])
        after = client.get(f"{API}/{a['id']}").json()
        assert after["material"] == "steel"
        assert after["name"] is None

    def test_patch_rejects_other_category_field(self, client: TestClient) -> None:
        a = create(client, "gas_pipe")
        assert client.patch(f"{API}/{a['id']}", json={"floors": 5}).status_code == 422

    def test_patch_cannot_change_category(self, client: TestClient) -> None:
        a = create(client, "gas_pipe")
        assert client.patch(f"{API}/{a['id']}", json={"category": "elevator"}).status_code == 422

    def test_patch_to_duplicate_code_is_409(self, client: TestClient) -> None:
        create(client, "gas_pipe", asset_code="P-1")
        b = create(client, "gas_pipe", asset_code="P-2")
        resp = client.patch(f"{API}/{b['id']}", json={"asset_code": "P-1"})
        assert resp.status_code == 409
        assert client.get(f"{API}/{b['id']}").json()["asset_code"] == "P-2"

    def test_patch_to_unknown_region_is_422(self, client: TestClient) -> None:
        a = create(client, "gas_pipe")
        assert client.patch(f"{API}/{a['id']}", json={"region_code": "419999"}).status_code == 422

    def test_patch_required_to_null_is_422(self, client: TestClient) -> None:
        a = create(client, "lpg_cylinder")
        assert client.patch(f"{API}/{a['id']}", json={"manufactured_on": None}).status_code == 422

    def test_patch_unknown_is_404(self, client: TestClient) -> None:
        assert client.patch(f"{API}/424242", json={"name": "x"}).status_code == 404

    def test_delete(self, client: TestClient) -> None:
        a = create(client, "boiler")
        assert client.delete(f"{API}/{a['id']}").status_code == 204
        assert client.get(f"{API}/{a['id']}").status_code == 404
        assert client.delete(f"{API}/{a['id']}").status_code == 404


def test_duplicate_in_another_scope_does_not_leak_its_id(make_client: Any) -> None:
    a = make_client("editor", region="410102")
    b = make_client("editor", region="410103")
    assert (
        a.post(API, json=payload("elevator", asset_code="SHARED", region_code="410102")).status_code
        == 201
    )
    resp = b.post(API, json=payload("elevator", asset_code="SHARED", region_code="410103"))
    assert resp.status_code == 409
    assert "SHARED" in resp.json()["detail"]
    assert "existing_id" not in resp.json()


def test_survey_date_defaults_to_today(client: TestClient) -> None:
    from app.kit.dates import today

    assert create(client, "elevator")["surveyed_on"] == today().isoformat()


def test_flag_status_follows_the_stored_flags(client: TestClient) -> None:
    """flag_status on the asset (one, list, create, patch) is the flags endpoint's status."""
    grey = create(client, "gas_pipe", material="grey_cast_iron")
    assert grey["flag_status"] == "mandatory"
    young = create(client, "gas_pipe", material="pe", commissioned_on="2021-05-01")
    old_lift = create(client, "elevator", commissioned_on="1995-01-01")
    listed = {a["id"]: a["flag_status"] for a in client.get(API).json()["items"]}
    for asset in (grey, young, old_lift):
        status = client.get(f"{API}/{asset['id']}/flags").json()["status"]
        assert client.get(f"{API}/{asset['id']}").json()["flag_status"] == status
        assert listed[asset["id"]] == status
    assert client.get(f"{API}/{young['id']}").json()["flag_status"] != "mandatory"
    patched = client.patch(f"{API}/{grey['id']}", json={"material": "pe"}).json()
    assert patched["flag_status"] == client.get(f"{API}/{grey['id']}/flags").json()["status"]
    assert patched["flag_status"] != "mandatory"
