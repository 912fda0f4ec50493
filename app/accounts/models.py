"""Accounts, their region scope, and hashed API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, utcnow


class Account(Base):
    """A person or system that calls the API, bound to a role and a region prefix."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    """admin / editor / viewer."""
    region_prefix: Mapped[str] = mapped_column(String(6), default="")
    """'' = national; '41' = Henan; '4101' = Zhengzhou; '410102' = one district."""
    category: Mapped[str | None] = mapped_column(String(32))
    """Optional restriction to one equipment category (e.g. a gas company: gas_pipe)."""
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_account_id", "account_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    """First characters of the token, to tell tokens apart in listings."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
