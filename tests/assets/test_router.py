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
        "value",
        ["2005", "2005-03-01T00:00:00", 20050301, "2005-02-30", "2005年13月", "03/01/2005"],
    )
    def test_api_refuses_dates_it_cannot_read(self, client: TestClient, value: object) -> None:
        resp = client.post(API, json=payload("elevator", commissioned_on=value))
        assert resp.status_code == 422, value

    @pytest.mark.parametrize(
        ("value", "stored"),
        [
            ("2005-03-01", "2005-03-01"),
            ("2005-3-1", "2005-03-01"),
            ("2005/03/31", "2005-03-31"),
            ("2005年3月31日", "2005-03-31"),
            ("2005年3月", "2005-03-01"),
            ("2005-03", "2005-03-01"),
        ],
    )
    def test_api_takes_chinese_and_month_dates(
        self, client: TestClient, value: str, stored: str
    ) -> None:
        asset = create(client, "elevator", commissioned_on=value)
        assert asset["commissioned_on"] == stored

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


class TestSurveyNotations:
    """The API takes the notations survey sheets use, as the import does (test_mapping)."""

    @pytest.mark.parametrize(
        ("written", "mm"),
        [("DN150", 150), ("dn150", 150), ("DN 150", 150), ("150mm", 150), ("150", 150), (150, 150)],
    )
    def test_nominal_diameter(self, client: TestClient, written: object, mm: int) -> None:
        assert create(client, "gas_pipe", diameter_mm=written)["diameter_mm"] == mm

    @pytest.mark.parametrize("written", ["Φ159", "φ159×6", "De110"])
    def test_outside_diameter_is_refused_saying_why(self, client: TestClient, written: str) -> None:
        resp = client.post(API, json=payload("gas_pipe", diameter_mm=written))
        assert resp.status_code == 422
        error = resp.json()["errors"][0]
        assert error["field"].endswith("diameter_mm")
        assert written in error["msg"] and "外径" in error["msg"] and "DN" in error["msg"]

    @pytest.mark.parametrize(
        ("written", "code"),
        [
            ("镀锌钢管", "steel"),
            ("螺旋钢管", "steel"),
            ("PE100", "pe"),
            ("聚乙烯管", "pe"),
        ],
    )
    def test_pipe_materials(self, client: TestClient, written: str, code: str) -> None:
        assert create(client, "gas_pipe", material=written)["material"] == code

    @pytest.mark.parametrize("written", ["铸铁", "铸铁管"])
    def test_cast_iron_must_say_which(self, client: TestClient, written: str) -> None:
        resp = client.post(API, json=payload("gas_pipe", material=written))
        assert resp.status_code == 422
        msg = resp.json()["errors"][0]["msg"]
        assert written in msg and "灰口铸铁" in msg and "球墨铸铁" in msg

    @pytest.mark.parametrize(
        ("written", "wan"),
        [
            ("8万元", "8"),
            ("8万", "8"),
            ("80000元", "8"),
            ("1.5亿元", "15000"),
            ("8", "8"),
            (8, "8"),
        ],
    )
    def test_unit_cost_in_wan(self, client: TestClient, written: object, wan: str) -> None:
        asset = create(client, "elevator", unit_cost=written)
        assert Decimal(asset["unit_cost"]) == Decimal(wan)

    @pytest.mark.parametrize("written", ["8块", "-8万元", "0.5元", "万元"])
    def test_bad_amounts_are_refused(self, client: TestClient, written: str) -> None:
        resp = client.post(API, json=payload("elevator", unit_cost=written))
        assert resp.status_code == 422, written
        assert resp.json()["errors"][0]["field"].endswith("unit_cost")

    def test_patch_takes_the_same_notations(self, client: TestClient) -> None:
        pipe = create(client, "gas_pipe")
        resp = client.patch(
            f"{API}/{pipe['id']}",
            json={"diameter_mm": "DN200", "material": "无缝钢管", "assessed_on": "2025年6月"},
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert (body["diameter_mm"], body["material"], body["assessed_on"]) == (
            200,
            "steel",
            "2025-06-01",
        )
        bad = client.patch(f"{API}/{pipe['id']}", json={"material": "铸铁"})
        assert bad.status_code == 422 and "球墨铸铁" in bad.json()["errors"][0]["msg"]

    def test_list_filters_take_chinese_dates(self, client: TestClient) -> None:
        old = create(client, "elevator", commissioned_on="2001-06-15")
        new = create(client, "elevator", commissioned_on="2001-07-01")
        got = client.get(API, params={"commissioned_before": "2001年7月", "limit": 500}).json()
        ids = {a["id"] for a in got["items"]}
        assert old["id"] in ids and new["id"] not in ids
        bad = client.get(API, params={"commissioned_after": "2001年13月"})
        assert bad.status_code == 422
        assert "2001年13月" in bad.json()["errors"][0]["msg"]
