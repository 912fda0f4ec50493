"""Import job state: one batch per uploaded workbook, and the rows worth keeping.

A batch keeps counts, warnings and the first errors; `import_rows` keeps every rejected row (its
original cells, to build the error workbook) and a preview sample of the other actions. Valid
rows are not stored: the workbook stays on disk under var/imports/<batch>/ and is parsed again
at commit, which is faster than writing and re-reading a million JSON rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow

STATUSES = ("queued", "running", "validated", "committed", "failed")
ACTIONS = ("create", "update", "unchanged", "reject")
MODES = ("partial", "all_or_nothing")


class ImportBatch(Base):
    """An uploaded survey workbook and the state of its import job."""

    __tablename__ = "import_batches"
    __table_args__ = (
        Index("ix_import_batches_status_id", "status", "id"),
        Index("ix_import_batches_scope_prefix_id", "scope_prefix", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int]
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    """Uploader; NULL for the command line (acts as the operator)."""
    uploaded_by: Mapped[str] = mapped_column(String(100))
    scope_prefix: Mapped[str] = mapped_column(String(6), default="")
    """Uploader's region prefix when uploading; who may see the batch."""
    scope_category: Mapped[str | None] = mapped_column(String(32))
    category: Mapped[str | None] = mapped_column(String(32))
    """Category given with the upload, for sheets that name none."""
    mode: Mapped[str] = mapped_column(String(16), default="partial")
    """partial: commit valid rows, keep rejected ones; all_or_nothing: any rejection → nothing."""
    dry_run: Mapped[bool] = mapped_column(default=True)
    overwrite: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Apply rows that would reverse a renewal or a later change (else they are kept)."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    kept: Mapped[int] = mapped_column(default=0, server_default="0")
    """Changed rows left as the ledger has them (see `overwrite`)."""
    rejected: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    """Blank rows, notes under the table and example rows."""
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    sheets: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    """Per sheet: name, header row, category, original headers by column (for errors.xlsx)."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why the job failed."""
    worker: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class ImportRow(Base):
    """A rejected row (kept in full) or a preview row of another action."""

    __tablename__ = "import_rows"
    __table_args__ = (Index("ix_import_rows_batch_id_action_id", "batch_id", "action", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"))
    sheet: Mapped[str] = mapped_column(String(100))
    row: Mapped[int]
    """Excel row number, as Excel shows it."""
    action: Mapped[str] = mapped_column(String(16))
    category: Mapped[str | None] = mapped_column(String(32))
    asset_code: Mapped[str | None] = mapped_column(String(64))
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """reject: {first_col, cells} as uploaded; others: parsed fields (updates: `changes`)."""
    errors: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
