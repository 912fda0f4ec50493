"""Write side of imports: accept an upload as a queued batch, and queue a dry run's commit."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from app.accounts.scope import Principal
from app.assets.spec import CATEGORIES
from app.config import ImportSettings
from app.errors import Conflict, Forbidden, Invalid
from app.imports import files
from app.imports.models import MODES, ImportBatch
from app.imports.parse import plan_workbook
from app.imports.queries import get_batch
from app.kit.xlsx import check_readable, check_workbook

BATCH_STATES = {
    "queued": "正在排队",
    "running": "正在运行",
    "validated": "已校验",
    "committed": "已提交",
    "failed": "已失败",
}
"""A batch's status as a sentence says it."""


def ensure_importer(principal: Principal) -> None:
    """Only editors and admins import."""
    if not principal.can_write:
        raise Forbidden(f"角色 {principal.role} 只能查看,不能导入台账;如需导入请联系管理员")


def upload_batch(
    session: Session,
    principal: Principal,
    source: BinaryIO,
    file_name: str,
    settings: ImportSettings,
    *,
    dry_run: bool = True,
    category: str | None = None,
    mode: str = "partial",
    overwrite: bool = False,
) -> ImportBatch:
    """Check the workbook (type, size, zip bomb, headers, categories) and queue it as a batch."""
    ensure_importer(principal)
    _check_options(category, mode)
    tmp, sha256, size = files.receive(source, settings.max_file_mb)
    try:
        plan = _preflight(tmp, settings, category)
        batch = ImportBatch(
            file_name=Path(file_name or "workbook.xlsx").name[:255],
            sha256=sha256,
            size_bytes=size,
            account_id=principal.account_id,
            uploaded_by=principal.name,
            scope_prefix=principal.region_prefix,
            scope_category=principal.category,
            category=category,
            mode=mode,
            dry_run=dry_run,
            overwrite=overwrite,
            status="queued",
            rows_total=plan,
            warnings=[],
            sheets=[],
        )
        session.add(batch)
        session.flush()
        files.keep(tmp, batch.id)
    finally:
        tmp.unlink(missing_ok=True)
    return batch


def _check_options(category: str | None, mode: str) -> None:
    if category is not None and category not in CATEGORIES:
        raise Invalid(f"未知的设备类别 {category}(可选: {', '.join(CATEGORIES)})", field="category")
    if mode not in MODES:
        raise Invalid(f"导入方式 mode={mode} 无效(可选: {', '.join(MODES)})", field="mode")


def _preflight(path: Path, settings: ImportSettings, category: str | None) -> int:
    """File checks and header detection on the first rows; the row estimate."""
    check_workbook(
        path,
        max_uncompressed_mb=settings.max_uncompressed_mb,
        max_read_mb=settings.max_read_mb,
    )
    estimate = plan_workbook(path, category, settings.max_rows).rows_estimate
    check_readable(path)
    return estimate


def request_commit(
    session: Session, principal: Principal, batch_id: int, overwrite: bool | None = None
) -> ImportBatch:
    """Queue the commit of a validated dry run; the job parses and diffs the file again.
    `overwrite` (when given) replaces the upload's choice for the rows the dry run kept."""
    ensure_importer(principal)
    batch = get_batch(session, principal, batch_id)
    if batch.account_id != principal.account_id and not principal.is_admin:
        raise Forbidden(f"导入批次 {batch_id} 只能由上传人或管理员提交")
    if batch.status != "validated":
        state = BATCH_STATES.get(batch.status, "")
        raise Conflict(
            f"导入批次 {batch_id} {state}({batch.status}),只有已校验(validated)的试导入才能提交"
        )
    if not files.path_of(batch).exists():
        raise Conflict(
            f"导入批次 {batch_id} 的工作簿已不再保存(试导入已超过保留期限);请重新上传该工作簿"
        )
    batch.dry_run = False
    if overwrite is not None:
        batch.overwrite = overwrite
    batch.status = "queued"
    batch.rows_done = 0
    session.flush()
    return batch
