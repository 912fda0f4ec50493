"""The one scoping helper: every read and write passes through it.

A principal sees and changes only assets whose region code starts with its region prefix (and,
when it has one, of its category). Another scope's object is reported as not found, so its
existence does not leak. Accounts are scoped the same way by their own scope: an admin sees
and manages only accounts whose scope lies wholly inside its own, so it cannot escalate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, true

from app.errors import Forbidden, NotFound

ROLES = ("admin", "editor", "viewer")
S = TypeVar("S", bound=Select[*tuple[Any, ...]])
"""Any select, of one entity or several (joins)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: account, role and scope."""

    account_id: int | None
    name: str
    role: str
    region_prefix: str = ""
    category: str | None = None

    @property
    def can_write(self) -> bool:
        return self.role in ("admin", "editor")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def covers(self, region_code: str, category: str | None = None) -> bool:
        """Whether an object of this region (and category) lies inside the scope."""
        if not region_code.startswith(self.region_prefix):
            return False
        return self.category is None or category is None or category == self.category

    def covers_prefix(self, prefix: str) -> bool:
        """Whether a whole region prefix lies inside the scope (for plans and stats)."""
        return prefix.startswith(self.region_prefix)

    def contains_scope(self, region_prefix: str, category: str | None) -> bool:
        """Whether another scope (an account's) lies wholly inside this one."""
        if not region_prefix.startswith(self.region_prefix):
            return False
        return self.category is None or category == self.category

    @property
    def scope_label(self) -> str:
        return scope_label(self.region_prefix, self.category)

    @property
    def scope_text(self) -> str:
        return scope_text(self.region_prefix, self.category)


def scope_label(region_prefix: str, category: str | None) -> str:
    """A scope as people read it: 'national', '4101', '410102, category gas_pipe'."""
    label = region_prefix or "national"
    return f"{label}, category {category}" if category else label


def scope_text(region_prefix: str, category: str | None) -> str:
    """A scope in Chinese, for error messages: '全国', '区划 4101', '区划 410102、类别 gas_pipe'."""
    label = f"区划 {region_prefix}" if region_prefix else "全国"
    return f"{label}、类别 {category}" if category else label


SYSTEM = Principal(account_id=None, name="system", role="admin")
"""Used by the CLI and background jobs that act on behalf of the operator."""


def region_prefix_clause(column: Any, prefix: str) -> ColumnElement[bool]:
    """`column` starts with `prefix`, as a range so a b-tree index serves it on both databases."""
    if not prefix:
        return true()
    if len(prefix) >= 6:
        return column == prefix[:6]  # type: ignore[no-any-return]
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
    return and_(column >= prefix, column < upper)


def scope_clause(
    principal: Principal, region_col: Any, category_col: Any = None
) -> ColumnElement[bool]:
    """The WHERE clause that restricts a query to the principal's scope."""
    clause = region_prefix_clause(region_col, principal.region_prefix)
    if principal.category is not None and category_col is not None:
        clause = and_(clause, category_col == principal.category)
    return clause


def scoped(stmt: S, principal: Principal, region_col: Any, category_col: Any = None) -> S:
    """Apply the principal's scope to a select."""
    return stmt.where(scope_clause(principal, region_col, category_col))


def ensure_visible(principal: Principal, region_code: str, category: str | None, what: str) -> None:
    """Raise NotFound for an object outside the scope (existence must not leak)."""
    if not principal.covers(region_code, category):
        raise NotFound(f"{what} 不存在或不在您的管辖范围内")


def ensure_writable(principal: Principal, region_code: str, category: str | None) -> None:
    """Raise Forbidden unless the principal may write this region and category."""
    if not principal.can_write:
        raise Forbidden(f"角色 {principal.role} 只能查看,不能修改数据;如需修改请联系管理员")
    if not principal.covers(region_code, category):
        raise Forbidden(
            f"区划 {region_code}、类别 {category} 不在您的管辖范围({principal.scope_text})内,"
            "不能修改",
            region_code=region_code,
        )


def ensure_role(principal: Principal, *roles: str) -> None:
    """Raise Forbidden unless the principal has one of the roles."""
    if principal.role not in roles:
        raise Forbidden(
            f"此操作需要角色 {' 或 '.join(roles)},当前角色为 {principal.role};如需办理请联系管理员"
        )


def ensure_can_manage(principal: Principal, region_prefix: str, category: str | None) -> None:
    """Raise Forbidden unless an admin whose scope contains the account scope (no escalation)."""
    ensure_role(principal, "admin")
    if not principal.contains_scope(region_prefix, category):
        raise Forbidden(
            f"账号的管辖范围 {scope_text(region_prefix, category)} 超出您的管辖范围"
            f"({principal.scope_text}),不能管理该账号",
            region_prefix=region_prefix,
        )
