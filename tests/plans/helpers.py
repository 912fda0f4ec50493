"""Builders for plan tests: assets via the API, flags set exactly, plans and their lines."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.rules.models import AssetFlag
from tests.factories import create

API = "/api/v1/plans"


def set_flags(db: sessionmaker[Session], asset_id: int, *flags: dict[str, Any]) -> None:
    """Replace the asset's stored flags with exactly these (level, due_on, in_scope_on, rule_id)."""
    with db() as s, s.begin():
        asset = s.get_one(Asset, asset_id)
        s.execute(delete(AssetFlag).where(AssetFlag.asset_id == asset_id))
        for f in flags:
            s.add(
                AssetFlag(
                    asset_id=asset_id,
                    category=asset.category,
                    region_code=asset.region_code,
                    pack_id=f.get("pack_id", "HA"),
                    pack_version="2024.1",
                    rule_id=f.get("rule_id", "PUMP-ELIM"),
                    level=f.get("level", "mandatory"),
                    in_scope_on=f.get("in_scope_on", date(2020, 1, 1)),
                    due_on=f.get("due_on"),
                    missing=f.get("missing"),
                    as_of=date(2026, 1, 1),
                )
            )


def due_asset(
    client: TestClient,
    db: sessionmaker[Session],
    *,
    cost: str = "10",
    due_on: date = date(2027, 12, 31),
    level: str = "mandatory",
    in_scope_on: date | None = date(2020, 1, 1),
    category: str = "elevator",
    **fields: Any,
) -> dict[str, Any]:
    """An asset (unit_cost = its whole cost for unit categories) with exactly one flag."""
    asset = create(client, category, unit_cost=cost, **fields)
    set_flags(db, asset["id"], {"level": level, "due_on": due_on, "in_scope_on": in_scope_on})
    return asset


def make_plan(client: TestClient, expect: int = 201, **body: Any) -> dict[str, Any]:
    """POST a plan (region 41, 2026-2028, as of 2026-03-01 unless given)."""
    payload = {"region": "41", "first_year": 2026, "last_year": 2028, "as_of": "2026-03-01"}
    payload.update(body)
    resp = client.post(API, json=payload)
    assert resp.status_code == expect, resp.text
    return resp.json()  # type: ignore[no-any-return]


def all_lines(client: TestClient, plan_id: int, **params: Any) -> list[dict[str, Any]]:
    """Every line of a plan, following the cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        resp = client.get(f"{API}/{plan_id}/lines", params=query)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        out += body["items"]
        cursor = body["next_cursor"]
        if not cursor:
            return out


def by_asset(lines: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {line["asset"]["id"]: line for line in lines}
