"""Read side of imports: scoped batch lookups and listing, and pages of stored rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, region_prefix_clause
from app.errors import NotFound
from app.imports.models import ImportBatch, ImportRow


def _visible(stmt: Select[ImportBatch], principal: Principal) -> Select[ImportBatch]:
    """Batches uploaded inside the caller's scope, and the caller's own."""
    clause = region_prefix_clause(ImportBatch.scope_prefix, principal.region_prefix)
    if principal.category is not None:
        clause = and_(clause, ImportBatch.scope_category == principal.category)
    if principal.account_id is not None:
        clause = or_(clause, ImportBatch.account_id == principal.account_id)
    return stmt.where(clause)


def get_batch(session: Session, principal: Principal, batch_id: int) -> ImportBatch:
    """One batch the caller may see; another scope's batch is a 404."""
    batch = session.scalar(
        _visible(select(ImportBatch).where(ImportBatch.id == batch_id), principal)
    )
    if batch is None:
        raise NotFound(f"导入批次 {batch_id} 不存在或不在您的管辖范围内")
    return batch


def list_batches(
    session: Session, principal: Principal, *, limit: int, before: int | None = None
) -> Sequence[ImportBatch]:
    """Newest batches first; `before` is the last id of the previous page."""
    stmt = _visible(select(ImportBatch), principal)
    if before is not None:
        stmt = stmt.where(ImportBatch.id < before)
    return session.scalars(stmt.order_by(ImportBatch.id.desc()).limit(limit)).all()


def list_rows(
    session: Session, batch_id: int, *, action: str | None, limit: int, after: int | None = None
) -> Sequence[ImportRow]:
    """Stored rows of a batch in sheet order; `after` is the last id of the previous page."""
    stmt = select(ImportRow).where(ImportRow.batch_id == batch_id)
    if action is not None:
        stmt = stmt.where(ImportRow.action == action)
    if after is not None:
        stmt = stmt.where(ImportRow.id > after)
    return session.scalars(stmt.order_by(ImportRow.id).limit(limit)).all()


def rejected_rows(session: Session, batch_id: int, chunk: int = 5000) -> Sequence[ImportRow]:
    """Every rejected row of a batch, in order (for the error workbook)."""
    return session.scalars(
        select(ImportRow)
        .where(ImportRow.batch_id == batch_id, ImportRow.action == "reject")
        .order_by(ImportRow.id)
        .execution_options(yield_per=chunk)
    ).all()
