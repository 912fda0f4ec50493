"""Plain builders of valid API payloads."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

_seq = iter(range(1, 10_000_000))


def payload(category: str = "elevator", **overrides: Any) -> dict[str, Any]:
    """A valid create body for the category, with overrides applied."""
    base: dict[str, Any] = {
        "asset_code": f"T{category[:3].upper()}{next(_seq):08d}",
        "category": category,
        "region_code": "410102",
    }
    extra: dict[str, dict[str, Any]] = {
        "elevator": {"commissioned_on": "2005-03-01", "building_use": "residential"},
        "water_pump": {"commissioned_on": "2010-01-01", "setting": "secondary_supply"},
        "boiler": {"commissioned_on": "2008-06-01", "fuel": "coal", "capacity_tph": "20"},
        "gas_pipe": {"commissioned_on": "2000-01-01", "material": "steel", "length_m": "120.5"},
        "lpg_cylinder": {"manufactured_on": "2015-05-01", "standard": "GB 5842-2006"},
        "sanitation_vehicle": {
            "registered_on": "2012-01-01",
            "fuel": "diesel",
            "emission_stage": 4,
        },
    }
    base.update(extra[category])
    base.update(overrides)
    return base


def create(client: TestClient, category: str = "elevator", **overrides: Any) -> dict[str, Any]:
    """POST an asset and return its JSON (asserting success)."""
    resp = client.post("/api/v1/assets", json=payload(category, **overrides))
    assert resp.status_code == 201, resp.text
    return resp.json()  # type: ignore[no-any-return]
