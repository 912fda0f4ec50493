"""Pydantic shapes of the import API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.kit.timestamps import UtcDatetime


class RowError(BaseModel):
    """One bad cell: where it is, what it held, and what is wrong."""

    sheet: str
    row: int
    column: str
    field: str | None = None
    value: str = ""
    message: str


class BatchRead(BaseModel):
    """An import batch: its job status, progress, counts, warnings and first errors."""

    id: int
    file_name: str
    sha256: str
    size_bytes: int
    uploaded_by: str
    category: str | None
    mode: str
    dry_run: bool
    overwrite: bool
    status: str
    progress: dict[str, int]
    counts: dict[str, int]
    warnings: list[str]
    errors: list[RowError]
    error: str | None
    sheets: list[dict[str, Any]]
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    links: dict[str, str]


class BatchList(BaseModel):
    items: list[BatchRead]
    next_cursor: str | None


class RowRead(BaseModel):
    """A stored row: every rejected row, and a preview sample of the other actions."""

    id: int
    sheet: str
    row: int
    action: str
    category: str | None
    asset_code: str | None
    values: dict[str, Any]
    errors: list[RowError] | None


class RowList(BaseModel):
    items: list[RowRead]
    next_cursor: str | None
