"""Import endpoints under /api/v1/imports, and the survey template under /api/v1/templates."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from starlette.background import BackgroundTask

from app.accounts.deps import CurrentPrincipal
from app.assets.filters import CATEGORY_WORDS, CategoryFilter, category_code
from app.assets.spec import CATEGORIES
from app.config import get_settings
from app.db import DbSession
from app.errors import UPLOAD, WRITE
from app.imports import queries, service
from app.imports.models import ImportBatch
from app.imports.schemas import BatchList, BatchRead, RowList
from app.imports.workbooks import write_errors, write_template
from app.imports.worker import first_errors
from app.kit.dates import today
from app.kit.params import MAX_ID, XLSX, XlsxFile, id_path, limit_query
from app.kit.sheets import attachment, file_stem
from app.regions.queries import region_label

router = APIRouter(prefix="/imports", tags=["imports"])
OVERWRITE = (
    "true:按表更新台账中已更新/报废、或在普查日期之后改动过的设备;"
    "false(默认):这些行保持台账原样,在试导入结果中列为 keep"
)
templates = APIRouter(prefix="/templates", tags=["imports"])
if TYPE_CHECKING:
    CategoryParam = str
else:
    CategoryParam = Literal[CATEGORY_WORDS]
    """A category by code (elevator…) or by its Chinese name (电梯…), as the template shows it."""
ACTIONS = {
    **{a: a for a in ("create", "update", "unchanged", "keep", "reject")},
    **{"created": "create", "updated": "update", "kept": "keep", "rejected": "reject"},
    **{"新增": "create", "更新": "update", "未变": "unchanged", "保留": "keep", "拒绝": "reject"},
}
"""Row actions by their own name, by the batch's count name and by their Chinese label."""
ActionParam = Literal[
    "create", "update", "unchanged", "keep", "reject", "created", "updated", "kept", "rejected",
    "新增", "更新", "未变", "保留", "拒绝",
]  # fmt: skip
BatchId = Annotated[int, id_path("导入批次")]
IdCursor = Annotated[
    int | None,
    Query(
        ge=1,
        le=MAX_ID,
        description="翻页游标:上一页返回的 `next_cursor`(一个 id;不传则为第一页)",
    ),
]


def batch_read(session: DbSession, batch: ImportBatch) -> dict[str, Any]:
    """The API shape of a batch."""
    base = f"/api/v1/imports/{batch.id}"
    return {
        **{
            k: getattr(batch, k) for k in ("id", "file_name", "sha256", "size_bytes", "uploaded_by")
        },
        **{
            k: getattr(batch, k)
            for k in ("category", "mode", "dry_run", "overwrite", "status", "warnings")
        },
        **{
            k: getattr(batch, k)
            for k in ("error", "sheets", "created_at", "started_at", "finished_at")
        },
        "progress": {
            "rows_done": batch.rows_done,
            "rows_total": max(batch.rows_total, batch.rows_done),
            "percent": progress_percent(batch),
        },
        "counts": {
            k: getattr(batch, k)
            for k in ("created", "updated", "unchanged", "kept", "rejected", "skipped")
        },
        "errors": first_errors(session, batch.id) if batch.rejected else [],
        "links": {
            "self": base,
            "rows": f"{base}/rows",
            "errors_xlsx": f"{base}/errors.xlsx",
            "commit": f"{base}/commit",
        },
    }


def progress_percent(batch: ImportBatch) -> int:
    """0–100: rows read of the estimate while running; 100 once the job is done."""
    if batch.status in ("validated", "committed", "failed"):
        return 100
    if not batch.rows_total:
        return 0
    return min(99, batch.rows_done * 100 // batch.rows_total)


def _wake(request: Request) -> None:
    worker = getattr(request.app.state, "import_worker", None)
    if worker is not None:
        worker.wake()


@router.post(
    "", response_model=BatchRead, status_code=202, summary="上传普查表导入", responses=UPLOAD
)
def upload(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    background: BackgroundTasks,
    file: Annotated[UploadFile, File(description="the survey workbook (.xlsx)")],
    dry_run: Annotated[bool, Form(description="true:只校验不写入(试导入);false:直接导入")] = True,
    category: Annotated[
        CategoryParam | None,
        Form(description="工作表的设备类别(不填则按工作表名称或“设备类别”列识别)"),
    ] = None,
    mode: Annotated[
        Literal["partial", "all_or_nothing"],
        Form(description="partial:有效行照常导入;all_or_nothing:有一行出错则全部不导入"),
    ] = "partial",
    overwrite: Annotated[bool, Form(description=OVERWRITE)] = False,
) -> Any:
    """Queue a workbook for import; poll the batch for its status, counts and errors."""
    batch = service.upload_batch(
        session,
        principal,
        file.file,
        file.filename or "workbook.xlsx",
        get_settings().imports,
        dry_run=dry_run,
        category=category_code(category),
        mode=mode,
        overwrite=overwrite,
    )
    background.add_task(_wake, request)
    return batch_read(session, batch)


@router.get("", response_model=BatchList, summary="导入批次列表")
def list_batches(
    session: DbSession,
    principal: CurrentPrincipal,
    limit: Annotated[int, limit_query(200)] = 50,
    cursor: IdCursor = None,
) -> Any:
    """Batches the caller may see, newest first; pass `next_cursor` as `cursor`."""
    items = queries.list_batches(session, principal, limit=limit, before=cursor)
    next_cursor = str(items[-1].id) if len(items) == limit else None
    return {"items": [batch_read(session, b) for b in items], "next_cursor": next_cursor}


@router.get("/{batch_id}", response_model=BatchRead, summary="查看导入批次")
def read_batch(session: DbSession, principal: CurrentPrincipal, batch_id: BatchId) -> Any:
    """One batch: status, progress, counts, warnings and the first errors."""
    return batch_read(session, queries.get_batch(session, principal, batch_id))


@router.post(
    "/{batch_id}/commit",
    response_model=BatchRead,
    status_code=202,
    summary="提交试导入",
    responses=WRITE,
)
def commit(
    request: Request,
    session: DbSession,
    principal: CurrentPrincipal,
    background: BackgroundTasks,
    batch_id: BatchId,
    overwrite: Annotated[
        bool | None, Query(description=OVERWRITE + "(不传则沿用上传时的选择)")
    ] = None,
) -> Any:
    """Commit a validated dry run: the file is parsed and diffed again against the ledger."""
    batch = service.request_commit(session, principal, batch_id, overwrite)
    background.add_task(_wake, request)
    return batch_read(session, batch)


@router.get("/{batch_id}/rows", response_model=RowList, summary="导入批次的行")
def rows(
    session: DbSession,
    principal: CurrentPrincipal,
    batch_id: BatchId,
    action: Annotated[
        ActionParam | None,
        Query(
            description="只看某种处理结果:create 新增、update 更新、unchanged 未变、"
            "keep 保留(台账不变,见 overwrite)、reject 拒绝;也可用计数名(created…)或中文"
        ),
    ] = None,
    limit: Annotated[int, limit_query(500)] = 100,
    cursor: IdCursor = None,
) -> Any:
    """Stored rows: every rejected row, and a preview of the first rows of each other action."""
    queries.get_batch(session, principal, batch_id)
    wanted = ACTIONS[action] if action else None
    items = queries.list_rows(session, batch_id, action=wanted, limit=limit, after=cursor)
    next_cursor = str(items[-1].id) if len(items) == limit else None
    return {
        "items": [
            {
                **{k: getattr(r, k) for k in ("id", "sheet", "row", "action", "category")},
                "asset_code": r.asset_code,
                "values": r.values,
                "errors": r.errors,
            }
            for r in items
        ],
        "next_cursor": next_cursor,
    }


def temp_xlsx() -> Path:
    """A fresh temporary .xlsx path (deleted after the response is sent)."""
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    return Path(handle.name)


def xlsx_response(path: Path, filename: str, name: str | None = None) -> XlsxFile:
    """Send a written workbook and delete it afterwards; `name` is the download's readable
    (Chinese) name, `filename` its ASCII fallback."""
    return XlsxFile(
        path,
        media_type=XLSX,
        headers=attachment(name or filename, filename),
        background=BackgroundTask(path.unlink, missing_ok=True),
    )


@router.get("/{batch_id}/errors.xlsx", response_class=XlsxFile, summary="下载错误行工作簿")
def errors_xlsx(session: DbSession, principal: CurrentPrincipal, batch_id: BatchId) -> Any:
    """Rejected rows with their original headers and cells, an error column, bad cells marked."""
    batch = queries.get_batch(session, principal, batch_id)
    path = temp_xlsx()
    stem = Path(batch.file_name).stem
    uploaded = batch.created_at.date() if batch.created_at else today()
    write_errors(
        path,
        batch.sheets,
        queries.rejected_rows(session, batch_id),
        title=f"导入被拒绝的行：{batch.file_name}（批次 {batch.id}）",
        region=region_label(session, principal.region_prefix),
        as_of=uploaded,
    )
    return xlsx_response(path, f"{stem}-errors.xlsx", f"{stem}_被拒绝的行_批次{batch.id}.xlsx")


@templates.get("/survey.xlsx", response_class=XlsxFile, summary="下载普查模板")
def survey_template(
    session: DbSession, principal: CurrentPrincipal, category: CategoryFilter = None
) -> Any:
    """The survey template: one sheet per category (or the one asked for), with notes."""
    category = category_code(category)
    path = temp_xlsx()
    region = region_label(session, principal.region_prefix)
    on = today()
    write_template(path, [category] if category else list(CATEGORIES), region=region, as_of=on)
    what = CATEGORIES[category] if category else "全部类别"
    return xlsx_response(
        path,
        f"survey-{category or 'all'}.xlsx",
        file_stem("设备普查表", what, region, on) + ".xlsx",
    )
