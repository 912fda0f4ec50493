"""People read Chinese: every problem a sample of endpoints answers has a Chinese `title` and
`detail` (422 items a Chinese `msg`), while the machine fields (`type`, error `type` codes,
`field`, `reason`) stay ASCII."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.config import HttpSettings, Settings
from app.imports.models import ImportBatch
from app.main import create_app
from tests.factories import create, payload

CJK = re.compile(r"[\u4e00-\u9fff]")
API = "/api/v1"
MB = 1 << 20


@dataclass
class Callers:
    """The clients a case may use: a national admin, a viewer, nobody, a 1 MB-limited app."""

    admin: TestClient
    viewer: TestClient
    anonymous: TestClient
    limited: TestClient
    db: sessionmaker[Session]


@pytest.fixture
def callers(
    app: TestClient,
    settings: Settings,
    db: sessionmaker[Session],
    make_client: Callable[..., TestClient],
) -> Iterator[Callers]:
    admin = make_client("admin")
    small = settings.model_copy(update={"http": HttpSettings(max_body_mb=1, max_json_mb=1)})
    with TestClient(create_app(small), raise_server_exceptions=False) as limited:
        limited.headers["Authorization"] = admin.headers["Authorization"]
        yield Callers(
            admin=admin,
            viewer=make_client("viewer"),
            anonymous=TestClient(app.app, raise_server_exceptions=False),
            limited=limited,
            db=db,
        )


def _running_batch(c: Callers) -> int:
    with c.db() as s, s.begin():
        batch = ImportBatch(
            file_name="a.xlsx", sha256="0" * 64, size_bytes=1, uploaded_by="x", status="running"
        )
        s.add(batch)
        s.flush()
        return batch.id


def _chunks(size: int) -> Iterator[bytes]:
    """A body without Content-Length (chunked), so the limit is found while reading."""
    yield b'{"padding": "'
    for _ in range(size // MB):
        yield b"z" * MB
    yield b'"}'


CASES: dict[str, tuple[Callable[[Callers], Any], int, str, str]] = {
    "bad asset id": (
        lambda c: c.admin.get(f"{API}/assets/999999"),
        404,
        "/problems/not-found",
        "设备 999999",
    ),
    "bad plan id": (
        lambda c: c.admin.get(f"{API}/plans/999999"),
        404,
        "/problems/not-found",
        "计划 999999",
    ),
    "bad import id": (
        lambda c: c.admin.get(f"{API}/imports/999999"),
        404,
        "/problems/not-found",
        "导入批次 999999",
    ),
    "bad account id": (
        lambda c: c.admin.get(f"{API}/accounts/999999"),
        404,
        "/problems/not-found",
        "账号 999999",
    ),
    "unknown rule pack": (
        lambda c: c.admin.get(f"{API}/rule-packs/ZZ"),
        404,
        "/problems/not-found",
        "规则包 ZZ",
    ),
    "unknown route": (
        lambda c: c.admin.get(f"{API}/no-such-thing"),
        404,
        "/problems/not-found",
        "地址不存在",
    ),
    "viewer writes an asset": (
        lambda c: c.viewer.post(f"{API}/assets", json=payload()),
        403,
        "/problems/forbidden",
        "角色 viewer",
    ),
    "viewer imports": (
        lambda c: c.viewer.post(
            f"{API}/imports", files={"file": ("a.xlsx", b"x", "application/octet-stream")}
        ),
        403,
        "/problems/forbidden",
        "不能导入",
    ),
    "viewer makes a plan": (
        lambda c: c.viewer.post(f"{API}/plans", json={"first_year": 2026, "last_year": 2027}),
        403,
        "/problems/forbidden",
        "viewer",
    ),
    "bad enum value": (
        lambda c: c.admin.post(f"{API}/assets", json=payload(building_use="rocket")),
        422,
        "/problems/validation",
        "building_use",
    ),
    "bad category": (
        lambda c: c.admin.post(f"{API}/assets", json={**payload(), "category": "rocket"}),
        422,
        "/problems/validation",
        "category",
    ),
    "bad sort": (
        lambda c: c.admin.get(f"{API}/assets?sort=bogus"),
        422,
        "/problems/validation",
        "sort",
    ),
    "extra field": (
        lambda c: c.admin.post(f"{API}/assets", json=payload(colour="red")),
        422,
        "/problems/validation",
        "colour(不允许的字段)",
    ),
    "missing field": (
        lambda c: c.admin.post(f"{API}/assets", json={"category": "elevator"}),
        422,
        "/problems/validation",
        "缺少必填项",
    ),
    "bad date": (
        lambda c: c.admin.post(f"{API}/assets", json=payload(commissioned_on="2005-13-01")),
        422,
        "/problems/validation",
        "commissioned_on",
    ),
    "number too small": (
        lambda c: c.admin.get(f"{API}/assets?limit=0"),
        422,
        "/problems/validation",
        "limit(应不小于 1)",
    ),
    "bad cursor": (
        lambda c: c.admin.get(f"{API}/assets?cursor=abc"),
        422,
        "/problems/invalid",
        "翻页游标",
    ),
    "plan years reversed": (
        lambda c: c.admin.post(f"{API}/plans", json={"first_year": 2027, "last_year": 2026}),
        422,
        "/problems/invalid",
        "last_year",
    ),
    "bad import mode": (
        lambda c: c.admin.post(
            f"{API}/imports",
            files={"file": ("a.xlsx", b"x", "application/octet-stream")},
            data={"mode": "sometimes"},
        ),
        422,
        "/problems/",
        "mode",
    ),
    "not a workbook": (
        lambda c: c.admin.post(
            f"{API}/imports", files={"file": ("a.csv", b"a,b\n1,2\n", "text/csv")}
        ),
        415,
        "/problems/unsupported-media",
        "xlsx",
    ),
    "duplicate asset code": (
        lambda c: c.admin.post(
            f"{API}/assets", json=payload(asset_code=create(c.admin)["asset_code"])
        ),
        409,
        "/problems/conflict",
        "已有设备编号",
    ),
    "commit a running import": (
        lambda c: c.admin.post(f"{API}/imports/{_running_batch(c)}/commit"),
        409,
        "/problems/conflict",
        "正在运行(running),只有已校验(validated)的试导入才能提交",
    ),
    "unauthenticated": (
        lambda c: c.anonymous.get(f"{API}/assets"),
        401,
        "/problems/unauthorized",
        "缺少身份令牌",
    ),
    "wrong method": (
        lambda c: c.admin.put(f"{API}/assets/1"),
        405,
        "/problems/method-not-allowed",
        "允许: GET",
    ),
    "oversize JSON": (
        lambda c: c.limited.post(f"{API}/assets", json={"padding": "z" * (2 * MB)}),
        413,
        "/problems/too-large",
        "1 MB 的上限",
    ),
    "oversize JSON without length": (
        lambda c: c.limited.post(
            f"{API}/assets", content=_chunks(2 * MB), headers={"content-type": "application/json"}
        ),
        413,
        "/problems/too-large",
        "1 MB 的上限",
    ),
}


def _ascii(value: Any) -> bool:
    return isinstance(value, str) and value.isascii()


@pytest.mark.parametrize("case", sorted(CASES))
def test_people_read_chinese_programs_read_codes(callers: Callers, case: str) -> None:
    send, status, type_, fragment = CASES[case]
    resp = send(callers)
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status and body["type"].startswith(type_), body
    assert _ascii(body["type"]), body
    assert CJK.search(body["title"]), body
    assert CJK.search(body["detail"]) and fragment in body["detail"], body["detail"]
    for key in ("reason", "field"):
        assert key not in body or _ascii(body[key]), body
    for error in body.get("errors", []):
        assert CJK.search(error["msg"]), error
        assert _ascii(error["field"]), error
        assert "type" not in error or _ascii(error["type"]), error
