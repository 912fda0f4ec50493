"""Bad files get a clear 4xx problem+json, never a 500, and nothing is queued."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.config import get_settings
from tests.imports.conftest import API, sheet, upload, xlsx_bytes


def problem(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    return resp.json()  # type: ignore[no-any-return]


@pytest.fixture
def limits() -> Iterator[Any]:
    """Import limits that a test may lower; restored afterwards."""
    settings = get_settings().imports
    saved = settings.model_copy()
    yield settings
    for key, value in saved.model_dump().items():
        setattr(settings, key, value)


def test_not_an_xlsx(client: TestClient) -> None:
    body = problem(upload(client, b"name,code\nx,1\n", name="survey.csv"), 415)
    assert "xlsx" in body["detail"]


def test_a_zip_that_is_not_a_workbook(client: TestClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    problem(upload(client, buf.getvalue()), 415)


def _ole2(*streams: str) -> bytes:
    names = b"".join(s.encode("utf-16-le") for s in streams)
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + names + b"\x00" * 512


def test_encrypted_workbook(client: TestClient) -> None:
    body = problem(upload(client, _ole2("EncryptionInfo", "EncryptedPackage")), 422)
    assert body["reason"] == "encrypted" and "已加密" in body["detail"]


def test_legacy_xls(client: TestClient) -> None:
    body = problem(upload(client, _ole2("Workbook"), name="old.xls"), 415)
    assert ".xls" in body["detail"] and "另存为 .xlsx" in body["detail"]


def test_empty_file_and_empty_workbook(client: TestClient) -> None:
    assert "空的" in problem(upload(client, b""), 422)["detail"]
    body = problem(upload(client, sheet([])), 422)
    assert body["reason"] == "empty" and "没有数据" in body["detail"]


def test_no_recognisable_header(client: TestClient) -> None:
    wb = sheet([["姓名", "电话"], ["张三", "123"]], title="电梯")
    body = problem(upload(client, wb), 422)
    assert body["reason"] == "no_header"
    assert "表头" in body["detail"] and "设备编号" in body["detail"]


def test_sheet_for_an_unknown_category(client: TestClient) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["L-1", "410102"]], title="路灯")
    body = problem(upload(client, wb), 422)
    assert "路灯" in body["detail"] and body["sheet"] == "路灯"


def test_category_param_conflicting_with_sheet_name(client: TestClient) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="电梯")
    problem(upload(client, wb, category="boiler"), 422)
    problem(upload(client, wb, category="bogus"), 422)


def test_oversize_file(client: TestClient, limits: Any) -> None:
    limits.max_file_mb = 0
    body = problem(upload(client, sheet([["设备编号", "行政区划代码"]], title="电梯")), 413)
    assert "0 MB 的上限" in body["detail"]


def test_too_many_rows(client: TestClient, limits: Any) -> None:
    limits.max_rows = 2
    rows = [["设备编号", "行政区划代码"], *[[f"E-{i}", "410102"] for i in range(5)]]
    body = problem(upload(client, sheet(rows, title="电梯")), 413)
    assert "超过 2 行的上限" in body["detail"]


def test_zip_bomb_by_total_size(client: TestClient, limits: Any) -> None:
    limits.max_uncompressed_mb = 1
    wb = sheet(
        [["设备编号", "行政区划代码"], *[[f"E-{i}", "x" * 200] for i in range(20000)]], title="电梯"
    )
    body = problem(upload(client, wb), 413)
    assert "解压后" in body["detail"] and "1 MB 的上限" in body["detail"]


def test_zip_bomb_by_ratio(client: TestClient) -> None:
    data = xlsx_bytes(sheet([["设备编号", "行政区划代码"]], title="电梯"))
    buf = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out,
    ):
        for item in src.infolist():
            out.writestr(item, src.read(item.filename))
        out.writestr("xl/media/padding.bin", b"\x00" * (40 * 2**20))
    body = problem(upload(client, buf.getvalue()), 422)
    assert body["reason"] == "zip_bomb" and "压缩炸弹" in body["detail"]


def test_bad_form_values(client: TestClient) -> None:
    wb = sheet([["设备编号", "行政区划代码"], ["E-1", "410102"]], title="电梯")
    problem(upload(client, wb, mode="sometimes"), 422)
    assert client.get(API).json()["items"] == []


def test_row_limit_holds_when_the_file_understates_its_size(
    client: TestClient, db: Any, limits: Any
) -> None:
    from tests.imports.conftest import wait

    limits.max_rows = 3
    rows = [["设备编号", "行政区划代码"], *[[f"E-{i}", "410102"] for i in range(6)]]
    data = xlsx_bytes(sheet(rows, title="电梯"))
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w") as out:
        for item in src.infolist():
            part = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                part = part.replace(b'<dimension ref="A1:B7" />', b'<dimension ref="A1:B2" />')
            out.writestr(item, part)
    resp = upload(client, buf.getvalue())
    assert resp.status_code == 202, resp.text
    body = wait(client, db, resp.json()["id"])
    assert body["status"] == "failed" and "超过 3 行的上限" in body["error"]
    assert client.get("/api/v1/assets").json()["items"] == []
