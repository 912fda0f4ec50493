"""Shared declarations of path and query parameters: ids, cursors and years the database can hold.

An id beyond a 64-bit integer cannot name a row, and the drivers fail on it (SQLite raises
OverflowError), so every id, path or query, is declared 1 ≤ id ≤ 2⁶³−1 and anything else is a
422 naming the parameter before a query runs.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query
from fastapi.responses import FileResponse

MAX_ID = 2**63 - 1
"""The largest value of a BIGINT / SQLite INTEGER column."""
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
"""An opaque keyset cursor: the `next_cursor` of the previous page (URL-safe base64, no padding)."""
CURSOR_MAX_LENGTH = 512


def id_path(what: str) -> Any:
    """A path id of `what` (e.g. '设备'), 1 … 2⁶³−1."""
    return Path(ge=1, le=MAX_ID, description=f"{what} id(1 至 2⁶³−1 的整数)")


def id_query(description: str) -> Any:
    """An optional query id, 1 … 2⁶³−1."""
    return Query(ge=1, le=MAX_ID, description=f"{description}(1 至 2⁶³−1 的整数)")


def cursor_query() -> Any:
    """The keyset cursor of a list endpoint: the previous page's `next_cursor`."""
    return Query(
        pattern=CURSOR_PATTERN,
        max_length=CURSOR_MAX_LENGTH,
        description="翻页游标:上一页返回的 `next_cursor`(原样传回;不传则为第一页)",
    )


def limit_query(maximum: int) -> Any:
    """Page size, 1 … maximum."""
    return Query(ge=1, le=maximum, description=f"每页条数(1 至 {maximum})")


Cursor = Annotated[str | None, cursor_query()]
"""An optional opaque cursor query parameter."""
Year = Annotated[int | None, Query(ge=1900, le=2100, description="年份(1900 至 2100)")]
"""An optional year filter."""


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FILE_SCHEMA = {"type": "string", "format": "binary"}


def downloads(description: str, model: type[Any] | None = None) -> dict[int | str, dict[str, Any]]:
    """The `responses=` entry of a JSON endpoint whose `format=csv|xlsx` answers with a file
    (`model`: the shape of its JSON answer, see `shaped`)."""
    out: dict[str, Any] = {
        "description": description,
        "content": {"text/csv": {"schema": {"type": "string"}}, XLSX: {"schema": FILE_SCHEMA}},
    }
    if model is not None:
        out["model"] = model
    return {200: out}


def shaped(model: type[Any], description: str = "Successful Response") -> dict[int | str, Any]:
    """The `responses=` entry of an endpoint that returns a plain dict: documents its shape with
    `model` (fields forbidding extras, so the API contract run catches an undocumented key)
    without passing the answer through the model. The handler returns `Any` (serialized as
    before: Decimal as a string), or, when its values are plain text and numbers only,
    declares `response_model=None` so its `dict` annotation adds no second schema."""
    return {200: {"model": model, "description": description}}


class XlsxFile(FileResponse):
    """A workbook download: declares its media type to the OpenAPI document."""

    media_type = XLSX
