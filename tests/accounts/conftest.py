"""A small world of two districts and another province, with accounts of each scope, flagged
gas pipes in each, and (made on first use) their plans and import batches."""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from tests.factories import create

A, B, C = "410102", "410103", "440106"
"""District A (Zhengzhou Zhongyuan), district B in the same city, and C in another province."""


@dataclass
class World:
    """Clients of district A, national admin, and objects of other scopes to probe with."""

    admin: TestClient
    admin_a: TestClient
    editor_a: TestClient
    viewer_a: TestClient
    own: dict[str, Any]
    others: list[dict[str, Any]]
    other_clients: list[TestClient] = field(default_factory=list)
    other_accounts: list[int] = field(default_factory=list)
    other_tokens: list[int] = field(default_factory=list)

    def account_id(self, client: TestClient) -> int:
        return int(client.get("/api/v1/me").json()["account_id"])

    @cached_property
    def other_plans(self) -> list[dict[str, Any]]:
        """A draft plan of district B and one of C (made by their editors), with a line each."""
        plans = []
        for client, region in zip(self.other_clients[:2], (B, C), strict=True):
            body = {"region": region, "first_year": 2026, "last_year": 2027}
            resp = client.post("/api/v1/plans", json=body)
            assert resp.status_code == 201, resp.text
            plan = resp.json()
            (line,) = client.get(f"/api/v1/plans/{plan['id']}/lines").json()["items"]
            plans.append({**plan, "line": line})
        return plans

    @cached_property
    def other_batches(self) -> list[dict[str, Any]]:
        """A finished dry-run import of district B and one of C (uploaded by their editors)."""
        rows = {B: [["GD-B-NEW", B, "钢", "2001-01-01"]], C: [["GD-C-NEW", C, "钢", "2001-01-01"]]}
        return [
            import_workbook(client, rows[region], dry_run=True)
            for client, region in zip(self.other_clients[:2], (B, C), strict=True)
        ]


GAS_HEADERS = ["设备编号", "行政区划代码", "管材", "投入使用日期"]
FINAL = {"validated", "committed", "failed"}


def import_workbook(
    client: TestClient, rows: list[list[Any]], *, dry_run: bool, timeout: float = 60
) -> dict[str, Any]:
    """Upload a gas-pipe survey sheet and wait until its batch is finished."""
    wb = openpyxl.Workbook()
    ws = wb.active
    assert ws is not None
    for row in [GAS_HEADERS, *rows]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    resp = client.post(
        "/api/v1/imports",
        files={"file": ("survey.xlsx", buf.getvalue(), "application/octet-stream")},
        data={"dry_run": str(dry_run).lower(), "category": "gas_pipe"},
    )
    assert resp.status_code == 202, resp.text
    deadline = time.monotonic() + timeout
    while True:
        batch = client.get(f"/api/v1/imports/{resp.json()['id']}").json()
        if batch["status"] in FINAL:
            return batch  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, batch
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def import_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Uploaded workbooks go to a temporary folder."""
    from app.imports import files

    monkeypatch.setattr(files, "STORAGE", tmp_path / "imports")
    yield tmp_path / "imports"


def collect(client: TestClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a keyset-paged list endpoint."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": 500, **({"cursor": cursor} if cursor else {})}
        resp = client.get(url, params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return items


@pytest.fixture
def world(client: TestClient, make_client: Callable[..., TestClient]) -> World:
    """District A's admin, editor and viewer; pipes in A, B and C; accounts in B, C, 41 and CN."""
    w = World(
        admin=client,
        admin_a=make_client("admin", A),
        editor_a=make_client("editor", A),
        viewer_a=make_client("viewer", A),
        own=create(client, "gas_pipe", region_code=A, material="grey_cast_iron"),
        others=[
            create(client, "gas_pipe", region_code=B, material="grey_cast_iron"),
            create(client, "gas_pipe", region_code=C, material="grey_cast_iron"),
        ],
    )
    w.other_clients = [
        make_client("editor", B),
        make_client("editor", C),
        make_client("viewer", ""),
        make_client("admin", "41"),
    ]
    w.other_accounts = [w.account_id(c) for c in w.other_clients]
    for account_id in w.other_accounts:
        tokens = client.get(f"/api/v1/accounts/{account_id}/tokens").json()
        w.other_tokens += [t["id"] for t in tokens]
    return w
