"""Rule packs, per-asset flags, the due list with its filters and exports, and stats over HTTP."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from app.kit.pagination import encode_cursor
from tests.factories import create
from tests.sheets import check_print

AS_OF = "2026-11-29"


@pytest.fixture
def ledger(client: TestClient) -> dict[str, dict[str, Any]]:
    """A small ledger across packs with known flags."""
    return {
        "grey_ha": create(
            client,
            "gas_pipe",
            region_code="410102",
            material="grey_cast_iron",
            length_m="300",
            commissioned_on="1995-01-01",
        ),
        "grey_hb": create(
            client,
            "gas_pipe",
            region_code="130102",
            material="grey_cast_iron",
            length_m="100",
            commissioned_on="1995-01-01",
        ),
        "steel_young": create(
            client,
            "gas_pipe",
            region_code="410103",
            material="steel",
            commissioned_on="2009-06-01",
            length_m="50",
        ),
        "elev_old": create(
            client,
            "elevator",
            region_code="310101",
            building_use="residential",
            commissioned_on="2005-01-01",
        ),
        "elev_new": create(
            client,
            "elevator",
            region_code="310101",
            building_use="residential",
            commissioned_on="2020-01-01",
        ),
        "boiler": create(
            client,
            "boiler",
            region_code="140105",
            fuel="coal",
            capacity_tph="20",
            efficiency_grade="2",
            emissions_compliant=True,
            design_life_years=30,
            commissioned_on="2010-01-01",
        ),
        "nodata": create(
            client,
            "elevator",
            region_code="410102",
            building_use="residential",
            commissioned_on=None,
        ),
    }


def _due(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    params.setdefault("as_of", AS_OF)
    resp = client.get("/api/v1/due", params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]  # type: ignore[no-any-return]


def _codes(items: list[dict[str, Any]]) -> list[str]:
    return [i["asset_code"] for i in items]


class TestPacks:
    def test_list_and_read(self, client: TestClient) -> None:
        packs = {p["id"]: p for p in client.get("/api/v1/rule-packs").json()}
        assert set(packs) == {"CN", "HA", "HB", "SH", "SX", "GD"}
        assert packs["HA"]["deadlines"]["default"] == "2028-12-31"
        ha = client.get("/api/v1/rule-packs/HA").json()
        rule = next(r for r in ha["rules"] if r["id"] == "BLR-COAL-35")
        assert rule["basis"]["source_lines"].startswith("S0:3226")
        assert rule["deadline"] == "2028-12-31"
        assert client.get("/api/v1/rule-packs/XX").status_code == 404


class TestAssetFlags:
    def test_flags_explain_rule_dates_and_basis(
        self, client: TestClient, ledger: dict[str, Any]
    ) -> None:
        body = client.get(
            f"/api/v1/assets/{ledger['grey_ha']['id']}/flags", params={"as_of": AS_OF}
        ).json()
        assert body["status"] == "mandatory"
        assert body["pack"] == "HA"
        grey = next(f for f in body["flags"] if f["rule_id"] == "GAS-GREY-IRON")
        assert grey["due_on"] == "2025-12-31"
        assert grey["overdue"] is True
        assert grey["basis"]["document"].startswith("国办发〔2022〕22号")
        assert grey["facts"] == {"material": "grey_cast_iron"}

    def test_unknown_flag_names_missing(self, client: TestClient, ledger: dict[str, Any]) -> None:
        body = client.get(f"/api/v1/assets/{ledger['nodata']['id']}/flags").json()
        gap = next(f for f in body["flags"] if f["rule_id"] == "ELV-ASSESS-15")
        assert gap["level"] == "unknown"
        assert gap["missing"] == ["commissioned_on"]
        assert "ELV-ASSESS-15" in body["gaps"]

    def test_as_of_another_date(self, client: TestClient, ledger: dict[str, Any]) -> None:
        url = f"/api/v1/assets/{ledger['elev_new']['id']}/flags"
        assert client.get(url, params={"as_of": AS_OF}).json()["status"] == "none"
        later = client.get(url, params={"as_of": "2035-06-01"}).json()
        assert later["status"] == "assess"

    def test_flags_follow_asset_changes(self, client: TestClient, ledger: dict[str, Any]) -> None:
        aid = ledger["steel_young"]["id"]
        assert _codes(_due(client, rule="GAS-UNSAFE-YOUNG")) == []
        client.patch(f"/api/v1/assets/{aid}", json={"assessment_result": "not_allowed"})
        assert _codes(_due(client, rule="GAS-UNSAFE-YOUNG")) == [
            ledger["steel_young"]["asset_code"]
        ]
        client.patch(f"/api/v1/assets/{aid}", json={"status": "renewed"})
        assert _codes(_due(client, rule="GAS-UNSAFE-YOUNG")) == []

    def test_unknown_asset_is_404(self, client: TestClient) -> None:
        assert client.get("/api/v1/assets/987654/flags").status_code == 404


class TestDueList:
    def test_default_is_mandatory_and_assess_earliest_first(
        self, client: TestClient, ledger: dict[str, Any]
    ) -> None:
        items = _due(client)
        codes = _codes(items)
        assert codes[:2] == sorted(
            [ledger["grey_hb"]["asset_code"], ledger["grey_ha"]["asset_code"]],
            key=lambda c: c != ledger["grey_hb"]["asset_code"],
        )
        assert items[0]["due_on"] == "2025-06-30"
        assert ledger["elev_old"]["asset_code"] in codes
        dues = [i["due_on"] for i in items]
        assert dues == sorted(dues)
        assert len(codes) == len(set(codes))

    def test_filters(self, client: TestClient, ledger: dict[str, Any]) -> None:
        assert _codes(_due(client, region="13")) == [ledger["grey_hb"]["asset_code"]]
        elevators = _codes(_due(client, category="elevator", due_by="2027-12-31"))
        assert elevators == [ledger["elev_old"]["asset_code"]]
        # the newer elevator turns 15 in 2035: it is on the list only when asked that far ahead
        later = _codes(_due(client, category="elevator"))
        assert later == [ledger["elev_old"]["asset_code"], ledger["elev_new"]["asset_code"]]
        assert _codes(_due(client, rule="GAS-GREY-IRON", region="4101")) == [
            ledger["grey_ha"]["asset_code"]
        ]
        overdue = _due(client, overdue="true")
        assert {i["asset_code"] for i in overdue} == {
            ledger["grey_ha"]["asset_code"],
            ledger["grey_hb"]["asset_code"],
        }
        assert all(i["overdue"] for i in overdue)

    def test_due_by_includes_assets_that_age_into_scope(
        self, client: TestClient, ledger: dict[str, Any]
    ) -> None:
        # the young steel pipe turns 20 on 2029-06-01
        code = ledger["steel_young"]["asset_code"]
        assert code not in _codes(_due(client, due_by="2027-12-31"))
        item = next(i for i in _due(client, due_by="2029-12-31") if i["asset_code"] == code)
        assert item["due_on"] == "2029-06-01"

    @pytest.mark.parametrize(
        ("due_by", "listed"),
        [
            ("2029年6月", True),  # a month as an upper bound: by its last day
            ("2029-06", True),
            ("2029/6/1", True),
            ("2029年6月1日", True),
            ("2029年5月31日", False),
            ("2029年5月", False),
        ],
    )
    def test_due_by_in_chinese(
        self, client: TestClient, ledger: dict[str, Any], due_by: str, listed: bool
    ) -> None:
        code = ledger["steel_young"]["asset_code"]  # due 2029-06-01
        assert (code in _codes(_due(client, due_by=due_by, as_of="2026年11月29日"))) is listed

    def test_as_of_month_is_its_first_day(self, client: TestClient, ledger: dict[str, Any]) -> None:
        asset = ledger["grey_ha"]["id"]
        got = client.get(f"/api/v1/assets/{asset}/flags", params={"as_of": "2026年11月"})
        assert got.status_code == 200 and got.json()["as_of"] == "2026-11-01"
        bad = client.get("/api/v1/due", params={"due_by": "2029年13月"})
        assert bad.status_code == 422 and "2029年13月" in bad.json()["errors"][0]["msg"]

    def test_encouraged_on_request(self, client: TestClient) -> None:
        e = create(
            client,
            "elevator",
            region_code="410102",
            assessment_result="renew",
            building_use="commercial",
        )
        assert e["asset_code"] not in _codes(_due(client))
        assert e["asset_code"] in _codes(_due(client, level=["encouraged"]))

    @pytest.mark.parametrize("sort", ["due_on", "region", "category"])
    def test_pages_cover_list_once(
        self, client: TestClient, ledger: dict[str, Any], sort: str
    ) -> None:
        for i in range(7):
            create(
                client,
                "gas_pipe",
                region_code=["410102", "130102", "440106"][i % 3],
                material="grey_cast_iron",
            )
        full = _codes(_due(client, sort=sort, limit=500))
        seen: list[str] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"as_of": AS_OF, "limit": 3, "sort": sort}
            if cursor:
                params["cursor"] = cursor
            body = client.get("/api/v1/due", params=params).json()
            seen += _codes(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                break
        assert seen == full

    def test_a_cursor_of_other_types_is_422(self, client: TestClient) -> None:
        """A cursor carries a date and numbers; one with a region code as text (as cursors
        made before the keyed indexes did) or a damaged date is refused, not a 500."""
        for sort, values in (
            ("region", ["410102", "2027-12-31", 5]),
            ("category", [1, "2027-13-45", 5]),
            ("due_on", ["2027-12-31", "5"]),
            ("due_on", [20271231, 5]),
        ):
            params = {"sort": sort, "cursor": encode_cursor(values)}
            resp = client.get("/api/v1/due", params=params)
            assert resp.status_code == 422, (sort, values, resp.text)
            assert resp.json()["field"] == "cursor"

    def test_bad_parameters_are_422(self, client: TestClient) -> None:
        for params in (
            {"level": "urgent"},
            {"limit": 501},
            {"due_by": "2027"},
            {"region": "abc"},
            {"sort": "name"},
            {"cursor": "zzz"},
        ):
            resp = client.get("/api/v1/due", params=params)
            assert resp.status_code == 422, params
            assert resp.headers["content-type"].startswith("application/problem+json")

    def test_csv_export(self, client: TestClient, ledger: dict[str, Any]) -> None:
        resp = client.get("/api/v1/due", params={"format": "csv", "as_of": AS_OF})
        assert resp.status_code == 200
        rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["设备编号", "设备类别", "行政区划代码"]
        assert len(rows) - 1 == len(_due(client, limit=500))
        col = {name: i for i, name in enumerate(rows[0])}
        grey = next(r for r in rows if r[0] == ledger["grey_ha"]["asset_code"])
        assert grey[1] == "燃气管道" and grey[col["是否逾期"]] == "是"
        assert "国办发〔2022〕22号" in grey[col["依据条款"]]

    def test_xlsx_export(self, client: TestClient, ledger: dict[str, Any]) -> None:
        resp = client.get("/api/v1/due", params={"format": "xlsx", "as_of": AS_OF, "region": "41"})
        assert resp.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(resp.content))
        sheet = book["到期清单"]
        rows = list(sheet.iter_rows(values_only=True))
        assert str(rows[0][0]).startswith("设备更新到期清单")  # the title row
        assert rows[1][0] == "设备编号"
        assert {r[0] for r in rows[2:]} == set(_codes(_due(client, region="41")))
        assert sheet.freeze_panes == "B3"
        check_print(sheet, title_rows="1:2", header_has=("到期清单", "河南省", f"截至 {AS_OF}"))
        # long texts wrap in their own cells, and their rows are tall enough to show them
        basis = rows[1].index("依据条款") + 1
        long_rows = [
            r for r in range(3, sheet.max_row + 1)
            if len(str(sheet.cell(r, basis).value or "")) > 60
        ]  # fmt: skip
        assert long_rows
        for r in long_rows:
            assert sheet.cell(r, basis).alignment.wrap_text
            assert (sheet.row_dimensions[r].height or 15) >= 30, r


class TestStats:
    def test_stats_download_prints_on_a4(self, client: TestClient, ledger: dict[str, Any]) -> None:
        params = {"as_of": AS_OF, "region": "41", "format": "xlsx"}
        resp = client.get("/api/v1/stats", params=params)
        assert resp.status_code == 200, resp.text
        book = openpyxl.load_workbook(io.BytesIO(resp.content))
        assert book.sheetnames == ["统计", "资料不全"]
        for ws in book.worksheets:
            wide = ws.title == "统计"  # 资料不全 has five columns: portrait
            head = ("设备更新统计", "河南省", AS_OF)
            check_print(ws, landscape=wide, title_rows="1:2", header_has=head)
        rows = list(book["统计"].iter_rows(values_only=True))
        assert str(rows[0][0]).startswith("设备更新统计 河南省")
        assert any(r[2] == "燃气管道" for r in rows[2:])
        csv_resp = client.get("/api/v1/stats", params={**params, "format": "csv"})
        lines = list(csv.reader(io.StringIO(csv_resp.content.decode("utf-8-sig"))))
        assert len(lines) == len(rows) - 1  # the same rows under the same header, no title row

    def test_stats_by_region_category_level_year(
        self, client: TestClient, ledger: dict[str, Any]
    ) -> None:
        body = client.get("/api/v1/stats", params={"as_of": AS_OF}).json()
        rows = {(r["region"], r["category"], r["level"], r["due_year"]): r for r in body["rows"]}
        ha = rows[("41", "gas_pipe", "mandatory", 2025)]
        assert ha["assets"] == 1 and ha["length_m"] == 300 and ha["overdue"] == 1
        assert rows[("13", "gas_pipe", "mandatory", 2025)]["length_m"] == 100
        assert any(g["rule_id"] == "ELV-ASSESS-15" and g["region"] == "41" for g in body["gaps"])

    def test_stats_follow_asset_changes(self, client: TestClient, ledger: dict[str, Any]) -> None:
        """Quantities and the in-service state are read from the flags: an asset's change
        re-evaluates its flags, so the stats move with it."""
        pipe = ledger["grey_ha"]

        def ha() -> dict[str, Any]:
            body = client.get("/api/v1/stats", params={"as_of": AS_OF, "region": "41"}).json()
            (row,) = (
                r for r in body["rows"] if (r["category"], r["level"]) == ("gas_pipe", "mandatory")
            )
            return row  # type: ignore[no-any-return]

        assert (ha()["length_m"], ha()["overdue"]) == (300, 1)
        assert client.patch(f"/api/v1/assets/{pipe['id']}", json={"length_m": "450.5"}).is_success
        assert (ha()["length_m"], ha()["overdue"]) == (450.5, 1)
        assert client.patch(f"/api/v1/assets/{pipe['id']}", json={"status": "renewing"}).is_success
        assert (ha()["assets"], ha()["length_m"], ha()["overdue"]) == (1, 450.5, 0)

    def test_stats_for_one_province_by_city(
        self, client: TestClient, ledger: dict[str, Any]
    ) -> None:
        body = client.get("/api/v1/stats", params={"region": "41", "as_of": AS_OF}).json()
        assert body["group_by"] == "city"
        assert {r["region"] for r in body["rows"]} == {"4101"}


class TestScope:
    def test_district_user_sees_only_its_district(
        self, make_client: Callable[..., TestClient], ledger: dict[str, Any]
    ) -> None:
        district = make_client("viewer", region="410102")
        codes = _codes(_due(district, level=["mandatory", "assess", "encouraged"]))
        assert codes == [ledger["grey_ha"]["asset_code"]]
        assert district.get(f"/api/v1/assets/{ledger['grey_hb']['id']}/flags").status_code == 404
        stats = district.get("/api/v1/stats", params={"as_of": AS_OF}).json()
        assert {r["region"] for r in stats["rows"]} == {"41"}
        assert sum(r["assets"] for r in stats["rows"]) == 1
        rows = list(
            csv.reader(
                io.StringIO(
                    district.get("/api/v1/due", params={"format": "csv"}).content.decode(
                        "utf-8-sig"
                    )
                )
            )
        )
        assert [r[0] for r in rows[1:]] == [ledger["grey_ha"]["asset_code"]]

    def test_category_restricted_user(
        self, make_client: Callable[..., TestClient], ledger: dict[str, Any]
    ) -> None:
        gas = make_client("viewer", region="41", category="elevator")
        assert _codes(_due(gas)) == []


def test_stale_flags_are_refreshed(db: Any, client: TestClient) -> None:
    from datetime import date as _date

    from sqlalchemy import select, update

    from app.kit.dates import today
    from app.rules.models import AssetFlag
    from app.rules.tasks import refresh_if_stale

    create(client, "gas_pipe", material="grey_cast_iron")
    assert refresh_if_stale(db) is False
    with db() as session, session.begin():
        session.execute(update(AssetFlag).values(as_of=_date(2020, 1, 1)))
    assert refresh_if_stale(db) is True
    with db() as session:
        assert set(session.scalars(select(AssetFlag.as_of))) == {today()}


def test_export_stream_leaves_the_session_usable(db: Any, client: TestClient) -> None:
    """Streaming the due list must not make later statements of the transaction stream too."""
    from datetime import date as _date

    from app.accounts.scope import SYSTEM
    from app.rules import queries

    for _ in range(3):
        create(client, "gas_pipe", material="grey_cast_iron")
    f = queries.DueFilters()
    with db() as session, session.begin():
        first = list(
            queries.iter_due(session, SYSTEM, f, as_of=_date(2026, 11, 29), sort="due_on", chunk=2)
        )
        second = list(
            queries.iter_due(session, SYSTEM, f, as_of=_date(2026, 11, 29), sort="due_on", chunk=2)
        )
        page, _ = queries.due_page(
            session, SYSTEM, f, as_of=_date(2026, 11, 29), sort="due_on", limit=10, cursor=None
        )
    assert first == second
    assert len(first) == 3
    # the export rows say what the JSON list says, asset by asset
    assert [
        (
            i["asset_code"],
            i["level"],
            i["due_on"],
            i["overdue"],
            [f["rule_id"] for f in i["flags"]],
            [f["reason"] for f in i["flags"]],
        )
        for i in page
    ] == [
        (
            r.asset_code,
            r.level,
            r.due_on,
            r.overdue,
            [x[0] for x in r.flags],
            [x[1] for x in r.flags],
        )
        for r in first
    ]
    assert all(r.flags[0][2].startswith("国办发〔2022〕22号") for r in first)
