"""Write side of the ledger: register, change and remove assets; flags follow every change, and
every change is recorded in the change log in the same transaction."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, ensure_writable
from app.assets.models import Asset
from app.assets.queries import asset_fields, get_asset
from app.assets.schemas import CREATE_MODELS
from app.assets.spec import CATEGORIES
from app.audit.recorder import record_change
from app.errors import Conflict, Invalid
from app.kit.dates import today
from app.kit.validation import invalid_from
from app.regions.lookup import shared_index
from app.regions.queries import region_exists
from app.rules import service as rules_service


def _resolve_region(
    session: Session, principal: Principal, given: str, warnings: list[str] | None
) -> str:
    """The current code of a region given as a code or a name; a retired code (or name) is
    replaced by its successor with a warning. 422 naming the problem (or the candidates)."""
    if len(given) == 6 and given.isdigit() and region_exists(session, given):
        return given
    try:
        found = shared_index(session).resolve(given, {}, principal.region_prefix)
    except ValueError as exc:
        found, reason = None, str(exc)
    else:
        reason = f"无法识别的行政区划: {given}"
    if found is None:
        raise Invalid(
            f"行政区划代码(region_code) {given} 不是现行的行政区划(GB/T 2260):{reason}",
            errors=[
                {
                    "loc": ["body", "region_code"],
                    "field": "region_code",
                    "msg": reason,
                    "type": "unknown_region",
                }
            ],
        )
    if found.note and warnings is not None:
        warnings.append(found.note)
    return found.code


def _record(
    session: Session, principal: Principal, asset: Asset, action: str, **change: Any
) -> None:
    record_change(
        session,
        action=action,
        object_type="asset",
        object_id=asset.id,
        region_code=asset.region_code,
        category=asset.category,
        actor=principal,
        **change,
    )


def _ensure_unique(
    session: Session, principal: Principal, category: str, asset_code: str, own_id: int | None
) -> None:
    """409 naming the code; the existing id is shown only to callers who may see that asset."""
    existing = session.execute(
        select(Asset.id, Asset.region_code).where(
            Asset.category == category, Asset.asset_code == asset_code
        )
    ).first()
    if existing is None or existing.id == own_id:
        return
    if principal.covers(existing.region_code, category):
        raise Conflict(
            f"类别 {category}({CATEGORIES.get(category, category)})中已有设备编号 {asset_code} "
            f"的设备(id {existing.id});请核对编号,或修改已有的那台设备",
            asset_code=asset_code,
            existing_id=existing.id,
        )
    raise Conflict(code_unavailable(asset_code), asset_code=asset_code, reason="code_unavailable")


def code_unavailable(asset_code: str) -> str:
    """The one answer to a code the caller may not register or change, whatever the reason:
    (category, asset_code) is unique nationwide, so an asset elsewhere holds it, but neither
    that nor where is said (a district editor must not learn another district's ledger)."""
    return (
        f"设备编号 {asset_code} 不可用:该编号不能由您登记或修改(已被占用或超出您的权限范围);"
        "请核对编号,或联系上级管理部门"
    )


def register_asset(
    session: Session, principal: Principal, data: BaseModel, warnings: list[str] | None = None
) -> Asset:
    """Add an asset to the ledger and evaluate its flags (`warnings` gets what was corrected)."""
    values = data.model_dump()
    values["region_code"] = _resolve_region(session, principal, values["region_code"], warnings)
    ensure_writable(principal, values["region_code"], values["category"])
    _ensure_unique(session, principal, values["category"], values["asset_code"], None)
    if values.get("surveyed_on") is None:
        values["surveyed_on"] = today()
    asset = Asset(**values)
    session.add(asset)
    session.flush()
    _record(session, principal, asset, "create", after=values)
    rules_service.refresh_asset_flags(session, [asset])
    return asset


def update_asset(
    session: Session,
    principal: Principal,
    asset_id: int,
    patch: dict[str, Any],
    warnings: list[str] | None = None,
) -> Asset:
    """Apply a partial change; the merged record is validated with its category's schema."""
    asset = get_asset(session, principal, asset_id)
    ensure_writable(principal, asset.region_code, asset.category)
    if "category" in patch and patch["category"] != asset.category:
        raise Invalid(
            "设备类别(category)登记后不能修改;如类别有误,请删除该设备后按正确类别重新登记",
            errors=[
                {
                    "loc": ["body", "category"],
                    "field": "category",
                    "msg": "设备类别不能修改",
                    "type": "immutable",
                }
            ],
        )
    merged = asset_fields(asset) | patch
    try:
        validated = CREATE_MODELS[asset.category].model_validate(merged).model_dump()
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    if validated["region_code"] != asset.region_code:
        code = _resolve_region(session, principal, validated["region_code"], warnings)
        validated["region_code"] = code
        ensure_writable(principal, code, asset.category)
    if validated["asset_code"] != asset.asset_code:
        _ensure_unique(session, principal, asset.category, validated["asset_code"], asset.id)
    changed = {k: v for k, v in validated.items() if getattr(asset, k) != v}
    before = {k: getattr(asset, k) for k in changed}
    for key, value in changed.items():
        setattr(asset, key, value)
    if changed:
        session.flush()
        _record(session, principal, asset, "update", before=before, after=changed)
        rules_service.refresh_asset_flags(session, [asset])
    return asset


def delete_asset(session: Session, principal: Principal, asset_id: int) -> None:
    """Remove an asset and its flags from the ledger."""
    asset = get_asset(session, principal, asset_id)
    ensure_writable(principal, asset.region_code, asset.category)
    _record(session, principal, asset, "delete", before=asset_fields(asset))
    session.delete(asset)
    session.flush()
