"""The shipped division table, name resolution, retired codes, and every province end to end."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.regions.lookup import RegionIndex
from app.regions.models import Region, RetiredRegion
from app.regions.service import REGIONS_CSV, RETIRED_CSV, read_seed
from app.rules.packs import get_registry
from tests.factories import create, payload

MAINLAND = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65",
]  # fmt: skip


@pytest.fixture(scope="module")
def index(engine: Any) -> RegionIndex:
    from app.db import make_sessionmaker

    with make_sessionmaker(engine)() as s:
        return RegionIndex.load(s)


def resolve(index: RegionIndex, text: str = "", scope: str = "", **parts: str) -> Any:
    return index.resolve(text, parts, scope)


class TestTable:
    def test_every_county_level_division_is_shipped(self, db: sessionmaker[Session]) -> None:
        with db() as s:
            regions = s.scalars(select(Region)).all()
        levels = Counter(r.level for r in regions)
        assert levels["province"] == 34  # 31 + 台湾, 香港, 澳门
        assert levels["city"] >= 333
        assert levels["district"] >= 2840
        by_code = {r.code: r for r in regions}
        for r in regions:
            if r.level != "national":
                assert r.parent_code in by_code, r.code
                assert by_code[r.parent_code].code[:2] in (r.code[:2], "00")
        assert by_code["320102"].full_name == "江苏省南京市玄武区"
        assert by_code["110101"].full_name == "北京市东城区"  # no 市辖区
        assert by_code["500229"].full_name == "重庆市城口县"  # no 县 grouping node
        assert by_code["653228"].name == "和康县"  # created 2024 (MCA), newer than NBS 2023

    def test_seed_files_record_their_sources_and_dates(self) -> None:
        head = REGIONS_CSV.read_text(encoding="utf-8").split("\ncode,")[0]
        assert "2023-06-30" in head and "modood/Administrative-divisions-of-China@" in head
        assert "2024-12-31" in head and "yescallop/areacodes@" in head
        codes = {r["code"] for r in read_seed(REGIONS_CSV)}
        for r in read_seed(RETIRED_CSV):
            assert r["code"] not in codes
            assert set(r["successors"].split(";")) <= codes, r

    def test_every_mainland_province_has_counties(self, db: sessionmaker[Session]) -> None:
        with db() as s:
            districts = s.scalars(select(Region.province_code).where(Region.level == "district"))
            assert set(districts) >= set(MAINLAND)
            assert s.get(RetiredRegion, "110103") is not None


class TestResolution:
    @pytest.mark.parametrize(
        "text",
        [
            "410102",
            "河南省郑州市中原区",
            "郑州市中原区",
            "郑州中原区",
            "河南中原区",
            "中原区",
            "中原",
        ],
    )
    def test_one_cell(self, index: RegionIndex, text: str) -> None:
        assert resolve(index, text).code == "410102"

    def test_columns(self, index: RegionIndex) -> None:
        assert resolve(index, province="河南省", city="郑州市", district="中原区").code == "410102"
        assert resolve(index, province="河南", city="郑州", district="中原").code == "410102"
        assert resolve(index, city="南京", district="玄武区").code == "320102"
        assert resolve(index, province="河南省", city="济源市").code == "419001"
        assert resolve(index, province="广东省", city="东莞市").code == "441900"
        assert resolve(index, province="山西省").code == "140000"

    def test_whole_names_of_every_level(self, index: RegionIndex) -> None:
        assert resolve(index, "新疆维吾尔自治区乌鲁木齐市天山区").code == "650102"
        assert resolve(index, "新疆乌鲁木齐天山区").code == "650102"
        assert resolve(index, "上海市浦东新区").code == "310115"
        assert resolve(index, "湖北仙桃").code == "429004"
        assert resolve(index, "晋城市城区").code == "140502"

    def test_ambiguous_names_list_the_candidates(self, index: RegionIndex) -> None:
        with pytest.raises(ValueError, match="不唯一") as err:
            resolve(index, "朝阳区")
        assert "110105 北京市朝阳区" in str(err.value)
        assert "220104 吉林省长春市朝阳区" in str(err.value)
        with pytest.raises(ValueError, match=r"140302.*140502"):
            resolve(index, "城区")

    def test_the_scope_picks_among_equal_names(self, index: RegionIndex) -> None:
        assert resolve(index, "朝阳区", scope="11").code == "110105"
        assert resolve(index, "朝阳区", scope="2201").code == "220104"
        assert resolve(index, district="城区", scope="1405").code == "140502"
        with pytest.raises(ValueError, match="不唯一"):
            resolve(index, "城区", scope="14")

    def test_unknown(self, index: RegionIndex) -> None:
        for text, message in [
            ("419999", "未知的行政区划代码"),
            ("4101", "6 位数字"),
            ("河南省郑州市不存在区", "无法识别"),
        ]:
            with pytest.raises(ValueError, match=message):
                resolve(index, text)

    def test_retired_code_resolves_to_its_successor_with_a_warning(
        self, index: RegionIndex
    ) -> None:
        found = resolve(index, "110103")  # 崇文区, merged into 东城区 in 2010
        assert found.code == "110101"
        assert found.note is not None
        assert "110103" in found.note and "2010" in found.note and "110101" in found.note
        assert resolve(index, "北京市崇文区").code == "110101"
        assert resolve(index, "500234").code == "500154"  # 开县 → 开州区 (2016)
        assert resolve(index, "620201").code == "620200"  # NBS code of 嘉峪关市

    def test_split_retired_code_names_its_successors(self, index: RegionIndex) -> None:
        with pytest.raises(ValueError, match=r"130102.*130104"):
            resolve(index, "130103")  # 石家庄市桥东区 (2014), split


def _expected_pack(province: str) -> str:
    return get_registry().by_province.get(province, "CN")


class TestEveryProvince:
    def test_a_county_of_every_province_registers_evaluates_and_is_due(
        self, client: TestClient, db: sessionmaker[Session]
    ) -> None:
        with db() as s:
            first = {
                code[:2]: code
                for code in s.scalars(
                    select(Region.code)
                    .where(Region.level == "district")
                    .order_by(Region.code.desc())
                )
            }
        packs_seen = set()
        for province in MAINLAND:
            code = first[province]
            asset = create(
                client,
                "gas_pipe",
                asset_code=f"P-{code}",
                region_code=code,
                material="grey_cast_iron",
            )
            assert asset["region_code"] == code
            assert asset["flag_status"] == "mandatory", (code, asset)
            live = client.get(f"/api/v1/assets/{asset['id']}/flags").json()
            assert live["pack"] == _expected_pack(province), code
            packs_seen.add(live["pack"])
            items = client.get("/api/v1/due", params={"region": province}).json()["items"]
            assert [i["asset_code"] for i in items] == [f"P-{code}"], province
            assert {f["pack"] for f in items[0]["flags"]} == {_expected_pack(province)}
        assert packs_seen == set(get_registry().packs)


class TestApi:
    def test_names_and_retired_codes_in_post(self, make_client: Any) -> None:
        national = make_client("editor")
        a = create(national, region_code="江苏省南京市玄武区")
        assert a["region_code"] == "320102" and "warnings" not in a
        resp = national.post("/api/v1/assets", json=payload(region_code="110103"))
        assert resp.status_code == 201, resp.text
        assert resp.json()["region_code"] == "110101"
        assert "110101" in resp.json()["warnings"][0]
        resp = national.post("/api/v1/assets", json=payload(region_code="朝阳区"))
        assert resp.status_code == 422
        error = resp.json()["errors"][0]
        assert error["field"] == "region_code" and "110105" in error["msg"]
        assert "220104" in error["msg"]
        beijing = make_client("editor", region="11")
        assert create(beijing, region_code="朝阳区")["region_code"] == "110105"

    def test_patch_with_a_name(self, client: TestClient) -> None:
        a = create(client)
        resp = client.patch(f"/api/v1/assets/{a['id']}", json={"region_code": "郑州市金水区"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["region_code"] == "410105"
