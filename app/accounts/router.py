"""Who-am-I, and account administration (admins, inside their own scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response

from app.accounts import queries, service
from app.accounts.deps import AdminPrincipal, CurrentPrincipal
from app.accounts.schemas import (
    AccountCreate,
    AccountList,
    AccountRead,
    AccountUpdate,
    MeRead,
    TokenIssued,
    TokenRead,
)
from app.db import DbSession
from app.errors import WRITE
from app.kit.params import Cursor, id_path, limit_query, shaped

router = APIRouter(tags=["accounts"])
AccountId = Annotated[int, id_path("账户")]
TokenId = Annotated[int, id_path("令牌")]


@router.get("/me", summary="当前账户", response_model=None, responses=shaped(MeRead))
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    """The caller's account, role and scope."""
    return {
        "account_id": principal.account_id,
        "name": principal.name,
        "role": principal.role,
        "region_prefix": principal.region_prefix,
        "category": principal.category,
    }


@router.get("/accounts", response_model=AccountList, summary="账户列表")
def list_accounts(
    session: DbSession,
    principal: AdminPrincipal,
    limit: Annotated[int, limit_query(500)] = 100,
    cursor: Cursor = None,
) -> Any:
    """Accounts whose scope lies inside the caller's, by id (keyset pages)."""
    rows, next_cursor = queries.list_accounts(session, principal, limit=limit, cursor=cursor)
    return {"items": rows, "next_cursor": next_cursor, "limit": limit}


@router.post(
    "/accounts", response_model=AccountRead, status_code=201, summary="创建账户", responses=WRITE
)
def create_account(session: DbSession, principal: AdminPrincipal, body: AccountCreate) -> Any:
    """Create an account inside the caller's scope (a regional admin cannot create a wider one)."""
    return service.create_account(session, principal=principal, **body.model_dump())


@router.get("/accounts/{account_id}", response_model=AccountRead, summary="查看账户")
def read_account(session: DbSession, principal: AdminPrincipal, account_id: AccountId) -> Any:
    """One account inside the caller's scope."""
    return queries.get_account(session, principal, account_id)


@router.patch(
    "/accounts/{account_id}", response_model=AccountRead, summary="修改账户", responses=WRITE
)
def update_account(
    session: DbSession, principal: AdminPrincipal, account_id: AccountId, body: AccountUpdate
) -> Any:
    """Change the role or deactivate/reactivate; a deactivated account's tokens stop working."""
    return service.update_account(session, principal, account_id, **body.model_dump())


@router.post(
    "/accounts/{account_id}/tokens",
    response_model=TokenIssued,
    status_code=201,
    summary="签发令牌",
    responses=WRITE,
)
def create_token(session: DbSession, principal: AdminPrincipal, account_id: AccountId) -> Any:
    """Issue a token; the response is the only time the token is shown."""
    row, token = service.create_token(session, principal, account_id)
    return TokenIssued(**TokenRead.model_validate(row).model_dump(), token=token)


@router.get("/accounts/{account_id}/tokens", response_model=list[TokenRead], summary="账户的令牌")
def list_tokens(session: DbSession, principal: AdminPrincipal, account_id: AccountId) -> Any:
    """An account's tokens: prefix, created, last used (to within minutes), revoked."""
    return queries.list_tokens(session, principal, account_id)


@router.delete("/tokens/{token_id}", status_code=204, summary="吊销令牌", responses=WRITE)
def revoke_token(session: DbSession, principal: AdminPrincipal, token_id: TokenId) -> Response:
    """Revoke a token; the next request that uses it is a 401."""
    service.revoke_token(session, token_id, principal=principal)
    return Response(status_code=204)
