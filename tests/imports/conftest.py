"""Import test helpers: workbooks built with openpyxl, uploads, and waiting for the job."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.imports import files, worker

API = "/api/v1/imports"
FINAL = {"validated", "committed", "failed"}


@pytest.fixture(autouse=True)
def storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Uploads go to a temporary folder."""
    monkeypatch.setattr(files, "STORAGE", tmp_path / "imports")
    yield tmp_path / "imports"


def xlsx_bytes(wb: openpyxl.Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sheet(
    rows: list[list[Any]], title: str = "Sheet1", wb: openpyxl.Workbook | None = None
) -> openpyxl.Workbook:
    """A workbook (or a new sheet in `wb`) with the given rows from A1."""
    if wb is None:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = title
    else:
        ws = wb.create_sheet(title)
    for row in rows:
        ws.append(row)
    return wb


def upload(
    client: TestClient, data: bytes | openpyxl.Workbook, name: str = "survey.xlsx", **form: Any
) -> Any:
    """POST a workbook; returns the response."""
    if isinstance(data, openpyxl.Workbook):
        data = xlsx_bytes(data)
    fields = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in form.items()}
    return client.post(API, files={"file": (name, data, "application/octet-stream")}, data=fields)


def wait(
    client: TestClient, db: sessionmaker[Session], batch_id: int, timeout: float = 60
) -> dict[str, Any]:
    """Run queued jobs here (or let the inline worker finish them) and return the final batch."""
    deadline = time.monotonic() + timeout
    while True:
        worker.run_pending(db)
        body = client.get(f"{API}/{batch_id}").json()
        if body["status"] in FINAL:
            return body  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def run(
    client: TestClient, db: sessionmaker[Session], data: bytes | openpyxl.Workbook, **form: Any
) -> dict[str, Any]:
    """Upload and wait for the job; asserts the upload was accepted."""
    resp = upload(client, data, **form)
    assert resp.status_code == 202, resp.text
    return wait(client, db, resp.json()["id"])
