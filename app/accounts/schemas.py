"""Pydantic I/O for account administration; token hashes never appear here."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.kit.timestamps import UtcDatetime

Role = Literal["admin", "editor", "viewer"]


class AccountCreate(BaseModel):
    """Body of POST /accounts; region_prefix '' (or omitted) is national."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    role: Role
    region_prefix: Annotated[str, Field(pattern=r"^(\d{2}|\d{4}|\d{6})?$")] = ""
    category: Annotated[str | None, Field(max_length=32, description="one equipment category")] = (
        None
    )


class AccountUpdate(BaseModel):
    """Body of PATCH /accounts/{id}: the role and whether the account may sign in."""

    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    active: bool | None = None


class MeRead(BaseModel):
    """GET /me: the caller's account, role and scope."""

    model_config = ConfigDict(extra="forbid")

    account_id: int | None
    name: str
    role: Literal["admin", "editor", "viewer"]
    region_prefix: str
    category: str | None


class AccountRead(BaseModel):
    """An account as admins see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    region_prefix: str
    category: str | None
    active: bool
    created_at: UtcDatetime


class AccountList(BaseModel):
    """A page of accounts with the cursor of the next page (null on the last)."""

    items: list[AccountRead]
    next_cursor: str | None
    limit: int


class TokenRead(BaseModel):
    """A token's listing: its prefix and dates, never the token or its hash."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    prefix: str
    created_at: UtcDatetime
    last_used_at: UtcDatetime | None
    revoked_at: UtcDatetime | None


class TokenIssued(TokenRead):
    """A new token; `token` is shown this once and cannot be retrieved again."""

    token: str
