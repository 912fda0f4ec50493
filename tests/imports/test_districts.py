"""Survey sheets as districts write them: regions by name or by a retired code, the elevator's
assessment label 合格, the old LPG model names; the same values through the API."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.factories import payload
from tests.imports.conftest import run, sheet

ASSETS = "/api/v1/assets"


def assets(client: TestClient, **params: Any) -> dict[str, dict[str, Any]]:
    items = client.get(ASSETS, params={"limit": 500, **params}).json()["items"]
    return {a["asset_code"]: a for a in items}


def test_region_in_one_cell_and_by_columns(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet(
        [
            ["设备编号", "行政区划", "使用场所"],
            ["E-1", "河南省郑州市中原区", "住宅"],
            ["E-2", "郑州中原区", "住宅"],
            ["E-3", "中原区", "住宅"],
            ["E-4", "江苏省南京市玄武区", "住宅"],
            ["E-5", "朝阳区", "住宅"],
            ["E-6", "320102", "住宅"],
        ],
        title="电梯",
    )
    body = run(client, db, wb, dry_run=False)
    got = assets(client, category="elevator")
    assert {c: got[c]["region_code"] for c in ("E-1", "E-2", "E-3", "E-4", "E-6")} == {
        "E-1": "410102",
        "E-2": "410102",
        "E-3": "410102",
        "E-4": "320102",
        "E-6": "320102",
    }
    (error,) = body["errors"]
    assert error["row"] == 6 and error["field"] == "region_code" and error["column"] == "行政区划"
    assert "110105 北京市朝阳区" in error["message"]
    assert "220104 吉林省长春市朝阳区" in error["message"]


def test_the_uploaders_scope_makes_a_name_unique(
    make_client: Any, db: sessionmaker[Session]
) -> None:
    beijing = make_client("editor", region="11")
    wb = sheet(
        [["设备编号", "省", "市", "区县", "使用场所"], ["E-1", "", "", "朝阳区", "住宅"]],
        title="电梯",
    )
    body = run(beijing, db, wb, dry_run=False)
    assert body["counts"]["created"] == 1, body
    assert assets(beijing)["E-1"]["region_code"] == "110105"


def test_retired_codes_import_under_their_successor_with_a_warning(
    client: TestClient, db: sessionmaker[Session]
) -> None:
    wb = sheet(
        [
            ["管段编号", "行政区划代码", "管材", "投入使用日期"],
            ["G-1", "110103", "灰口铸铁", "1990"],
            ["G-2", "110103", "灰口铸铁", "1990"],
            ["G-3", "130103", "灰口铸铁", "1990"],
            ["G-4", "110101", "灰口铸铁", "1990"],
        ],
        title="燃气管道",
    )
    body = run(client, db, wb, dry_run=False)
    got = assets(client, category="gas_pipe")
    assert got["G-1"]["region_code"] == got["G-2"]["region_code"] == "110101"
    (warning,) = [w for w in body["warnings"] if "110103" in w]
    assert "第 2、3 行" in warning and "110101" in warning and "北京市东城区" in warning
    (error,) = body["errors"]
    assert error["row"] == 4 and "130102" in error["message"] and "130104" in error["message"]


def test_elevator_and_gas_assessment_labels(client: TestClient, db: sessionmaker[Session]) -> None:
    wb = sheet(
        [
            ["设备编号", "行政区划代码", "使用场所", "安全评估结论"],
            ["E-1", "410102", "住宅", "合格"],
            ["E-2", "410102", "住宅", "通过"],
            ["E-3", "410102", "住宅", "安全"],
            ["E-4", "410102", "住宅", "大修"],
            ["E-5", "410102", "住宅", "可继续使用"],
        ],
        title="电梯",
    )
    wb = sheet(
        [
            ["管段编号", "行政区划代码", "管材", "老化评估结论"],
            ["G-1", "410102", "钢", "可继续使用"],
            ["G-2", "410102", "钢", "安全"],
            ["G-3", "410102", "钢", "合格"],
        ],
        title="燃气管道",
        wb=wb,
    )
    body = run(client, db, wb, dry_run=False)
    lifts = assets(client, category="elevator")
    assert [lifts[f"E-{i}"]["assessment_result"] for i in range(1, 5)] == [
        "safe",
        "safe",
        "safe",
        "repair",
    ]
    pipes = assets(client, category="gas_pipe")
    assert pipes["G-1"]["assessment_result"] == pipes["G-2"]["assessment_result"] == "safe"
    errors = {(e["sheet"], e["row"]): e["message"] for e in body["errors"]}
    assert set(errors) == {("电梯", 6), ("燃气管道", 4)}
    assert "合格" in errors[("电梯", 6)]  # the elevator's labels are offered
    assert "可继续使用" in errors[("燃气管道", 4)]


@pytest.mark.parametrize(
    ("old", "new"),
    [("YSP-2", "YSP4.7"), ("YSP-5", "YSP12"), ("YSP-10", "YSP26.2"), ("YSP-15", "YSP35.5"),
     ("YSP-50", "YSP118")],
)  # fmt: skip
def test_old_lpg_model_names_both_paths(
    client: TestClient, db: sessionmaker[Session], old: str, new: str
) -> None:
    wb = sheet(
        [["钢瓶编号", "行政区划代码", "型号", "出厂日期"], [f"C-{old}", "410102", old, "2015-05"]],
        title="钢瓶",
    )
    body = run(client, db, wb, dry_run=False)
    assert body["counts"]["created"] == 1, body
    assert assets(client, category="lpg_cylinder")[f"C-{old}"]["model"] == new
    resp = client.post(ASSETS, json=payload("lpg_cylinder", model=old))
    assert resp.status_code == 201, resp.text
    assert resp.json()["model"] == new


def test_api_takes_the_elevator_label_and_refuses_the_other_categorys(
    client: TestClient,
) -> None:
    for label in ("合格", "通过", "安全", "safe"):
        resp = client.post(ASSETS, json=payload("elevator", assessment_result=label))
        assert resp.status_code == 201, resp.text
        assert resp.json()["assessment_result"] == "safe"
    resp = client.post(ASSETS, json=payload("elevator", assessment_result="存在安全隐患"))
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"].endswith("assessment_result")
    resp = client.post(ASSETS, json=payload("gas_pipe", assessment_result="合格"))
    assert resp.status_code == 422
    resp = client.post(ASSETS, json=payload("gas_pipe", assessment_result="可继续使用"))
    assert resp.status_code == 201 and resp.json()["assessment_result"] == "safe"


def test_export_writes_the_categorys_label(client: TestClient) -> None:
    from app.assets.spec import FIELDS_BY_NAME
    from app.imports.workbooks import cell_value

    spec = FIELDS_BY_NAME["assessment_result"]
    assert cell_value(spec, "safe", "elevator") == "合格"
    assert cell_value(spec, "safe", "gas_pipe") == "可继续使用"
