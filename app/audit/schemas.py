"""Pydantic I/O of the change log."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from app.kit.timestamps import UtcDatetime


class ChangeRead(BaseModel):
    """One object's change with the header of its change set."""

    id: int
    change_set_id: int
    at: UtcDatetime
    actor_id: int | None
    actor_name: str
    request_id: str | None
    kind: str
    reason: str | None
    batch_id: int | None
    action: str
    object_type: str
    object_id: str
    region_code: str
    category: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class ImportOrigin(BaseModel):
    """The import that created an asset (its history begins there)."""

    batch_id: int
    file_name: str
    uploaded_by: str
    at: UtcDatetime
    text: str


class ChangeList(BaseModel):
    """A page of changes, newest first, with the cursor of the next page (null on the last)."""

    items: list[ChangeRead]
    next_cursor: str | None
    limit: int
    origin: ImportOrigin | None = None
    """An asset's history only: the import batch that created it (imports do not log the
    assets they create one by one), e.g. 由导入批次 12（海淀区电梯普查.xlsx，张三，2026-11-01
    10:00）创建."""
