"""The change log: one change set per request, import commit or rule-pack load, with one change
row per object it touched (changed fields only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class ChangeSet(Base):
    """Who changed what, when and why: the header shared by every change of one transaction."""

    __tablename__ = "change_sets"
    __table_args__ = (
        Index("ix_change_sets_at", "at"),
        Index("ix_change_sets_actor_name", "actor_name"),
        Index("ix_change_sets_batch_id", "batch_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    request_id: Mapped[str | None] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(BigId)
    """Account id; NULL for the operator acting through the CLI or a background job."""
    actor_name: Mapped[str] = mapped_column(String(100))
    """Kept as text so the record reads the same after the account changes."""
    kind: Mapped[str] = mapped_column(String(32))
    """api / cli / import / rule_pack_load / … (what kind of operation produced the changes)."""
    reason: Mapped[str | None] = mapped_column(String(500))
    """Why, as the client stated it (header X-Change-Reason)."""
    batch_id: Mapped[int | None] = mapped_column(BigId)
    """Import batch whose commit produced this change set."""


class Change(Base):
    """One object created, changed or deleted, with the before/after of the changed fields.

    region_code and category are copied from the object so the scoped change list is one indexed
    filter; '' is national (national accounts, national rule packs).
    """

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_object_type_object_id_id", "object_type", "object_id", "id"),
        Index("ix_changes_region_code_id", "region_code", "id"),
        Index("ix_changes_change_set_id_id", "change_set_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    change_set_id: Mapped[int] = mapped_column(ForeignKey("change_sets.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    """create / update / delete / revoke / commit / load."""
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6), default="")
    category: Mapped[str | None] = mapped_column(String(32))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
