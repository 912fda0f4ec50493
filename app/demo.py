"""A reproducible demo ledger: realistic assets across the six categories and five provinces."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.accounts import service as accounts_service
from app.accounts.models import Account
from app.assets.models import Asset

DEMO_DISTRICTS = [
    "410102",
    "410103",
    "410105",
    "410302",
    "410305",
    "410202",  # 河南
    "130102",
    "130104",
    "130202",
    "130602",  # 河北
    "310101",
    "310104",
    "310112",
    "310115",  # 上海
    "140105",
    "140106",
    "140213",  # 山西
    "440103",
    "440106",
    "440304",
    "440305",
    "440604",  # 广东
    "110105",
    "110108",  # 北京 (national pack)
]
COMMUNITIES = [
    "建业小区",
    "锦绣花园",
    "幸福里",
    "金水湾",
    "绿城家园",
    "文化路小区",
    "和平新村",
    "阳光苑",
    "紫荆山小区",
    "东风里",
    "梧桐苑",
    "世纪城",
    "兴华小区",
    "电力小区",
    "铁路新村",
]
STREETS = [
    "建设路",
    "人民路",
    "解放路",
    "中山路",
    "文化路",
    "花园路",
    "经三路",
    "农业路",
    "长江路",
    "黄河路",
]
STATIONS = ["城东充装站", "城西充装站", "南郊充装站", "北站充装站", "高新区充装站"]
OPERATORS = ["市环卫一处", "市环卫二处", "区环卫所", "城管局环卫中心"]
WEIGHTS = {
    "elevator": 30,
    "water_pump": 12,
    "boiler": 6,
    "gas_pipe": 22,
    "lpg_cylinder": 22,
    "sanitation_vehicle": 8,
}


def _day(rng: random.Random, start_year: int, end_year: int) -> date:
    start = date(start_year, 1, 1)
    return start + timedelta(days=rng.randrange((date(end_year, 12, 31) - start).days))


def _maybe(rng: random.Random, value: Any, p: float = 0.9) -> Any:
    return value if rng.random() < p else None


def _category_fields(rng: random.Random, category: str, i: int) -> dict[str, Any]:
    if category == "elevator":
        return {
            "commissioned_on": _maybe(rng, _day(rng, 1995, 2022), 0.95),
            "building_use": rng.choices(["residential", "commercial", "public"], [8, 1, 1])[0],
            "elevator_kind": rng.choices(["traction", "hydraulic", "escalator"], [9, 1, 1])[0],
            "floors": rng.randint(6, 33),
            "rated_load_kg": rng.choice([630, 800, 1000, 1050]),
            "rated_speed_mps": Decimal(rng.choice(["1.00", "1.50", "1.75", "2.50"])),
            "faults_12m": rng.randint(0, 8),
            "scrap_conditions_met": rng.random() < 0.04,
            "assessment_result": rng.choices(
                [None, "safe", "repair", "modernize", "renew"], [70, 15, 6, 4, 5]
            )[0],
            "owners_agree": _maybe(rng, rng.random() < 0.6, 0.5),
            "unit_cost": None,
        }
    if category == "water_pump":
        return {
            "commissioned_on": _maybe(rng, _day(rng, 1998, 2023), 0.9),
            "setting": rng.choice(
                ["water_plant", "secondary_supply", "secondary_supply", "heating", "sewage_plant"]
            ),
            "design_life_years": _maybe(rng, rng.choice([10, 15, 20])),
            "rated_power_kw": Decimal(rng.choice(["7.5", "15", "22", "37", "55"])),
            "efficiency_grade": _maybe(
                rng, rng.choices(["1", "2", "3", "below_limit"], [2, 4, 3, 1])[0]
            ),
            "on_elimination_list": rng.random() < 0.05,
            "affects_water_quality": rng.random() < 0.08,
            "damaged": rng.random() < 0.1,
        }
    if category == "boiler":
        fuel = rng.choices(["coal", "gas", "biomass", "electric"], [4, 4, 1, 1])[0]
        return {
            "commissioned_on": _maybe(rng, _day(rng, 1995, 2020), 0.9),
            "fuel": fuel,
            "design_life_years": _maybe(rng, rng.choice([15, 20, 25])),
            "capacity_tph": Decimal(rng.choice(["4", "10", "20", "35", "58", "75"])),
            "efficiency_grade": _maybe(
                rng, rng.choices(["1", "2", "3", "below_3"], [1, 3, 3, 1])[0]
            ),
            "emissions_compliant": _maybe(rng, rng.random() > 0.15),
            "on_elimination_list": rng.random() < 0.05,
        }
    if category == "gas_pipe":
        material = rng.choices(["grey_cast_iron", "ductile_iron", "steel", "pe"], [1, 2, 4, 5])[0]
        level = rng.choices(["municipal", "courtyard", "riser"], [3, 5, 2])[0]
        return {
            "commissioned_on": _maybe(rng, _day(rng, 1985, 2020), 0.92),
            "material": material,
            "pipe_level": level,
            "length_m": Decimal(rng.randint(20, 2500) if level != "riser" else rng.randint(10, 90)),
            "diameter_mm": rng.choice([32, 50, 100, 150, 200, 300]),
            "pressure_class": rng.choices(["low", "medium", "sub_high"], [6, 3, 1])[0],
            "converted_from_other_gas": rng.random() < 0.03,
            "assessment_result": rng.choices(
                [None, "safe", "hazard", "not_allowed"], [70, 18, 9, 3]
            )[0],
            "severe_corrosion": rng.random() < 0.02,
            "crosses_enclosed_space": rng.random() < 0.01,
            "safety_distance_ok": None if rng.random() < 0.9 else rng.random() < 0.7,
            "address": f"{rng.choice(STREETS)}{rng.randint(1, 300)}号段",
        }
    if category == "lpg_cylinder":
        std = rng.choices(
            ["GB 5842-1996", "GB 5842-2006", "GB/T 5842-2022", "GB 5842-2023"], [1, 7, 2, 1]
        )[0]
        made = _day(
            rng, 1996 if std.endswith("1996") else 2007, 2006 if std.endswith("1996") else 2024
        )
        return {
            "manufactured_on": made,
            "standard": std,
            "model": rng.choices(["YSP12", "YSP35.5", "YSP118", "YSP4.7"], [6, 3, 1, 1])[0],
            "design_life_years": _maybe(rng, 8 if not std.endswith("1996") else 15, 0.7),
            "last_inspection_on": _maybe(rng, made + timedelta(days=rng.randint(300, 2500)), 0.7),
            "inspection_result": rng.choices(["pass", "fail"], [19, 1])[0],
            "phase": rng.choices(["gas", "liquid", "dual"], [8, 1, 1])[0],
            "has_electronic_tag": _maybe(rng, rng.random() < 0.7),
            "filling_station": rng.choice(STATIONS),
        }
    fuel = rng.choices(["diesel", "natural_gas", "electric", "hybrid"], [6, 1, 3, 1])[0]
    registered = _day(rng, 2006, 2024)
    return {
        "registered_on": registered,
        "manufactured_on": registered - timedelta(days=rng.randint(10, 200)),
        "plate_no": f"豫A{i % 100000:05d}",
        "vehicle_kind": rng.choice(["compactor", "sweeper", "washer", "sprinkler"]),
        "fuel": fuel,
        "emission_stage": None if fuel == "electric" else rng.choice([3, 4, 5, 6]),
        "mileage_km": rng.randint(5_000, 650_000),
        "faults_12m": rng.randint(0, 9),
        "has_cargo_function": _maybe(rng, rng.random() < 0.7),
        "operator": rng.choice(OPERATORS),
    }


def generate_assets(count: int, seed: int = 2024, start: int = 0) -> Iterator[dict[str, Any]]:
    """Yield `count` asset rows (dicts of column values), the same for the same seed."""
    rng = random.Random(seed)
    cats = list(WEIGHTS)
    weights = list(WEIGHTS.values())
    prefixes = {
        "elevator": "DT",
        "water_pump": "SB",
        "boiler": "GL",
        "gas_pipe": "GD",
        "lpg_cylinder": "GP",
        "sanitation_vehicle": "HW",
    }
    for i in range(start, start + count):
        category = rng.choices(cats, weights)[0]
        region = rng.choice(DEMO_DISTRICTS)
        row: dict[str, Any] = {
            "asset_code": f"{prefixes[category]}{region}{i:07d}",
            "category": category,
            "region_code": region,
            "status": "in_service",
            "community": rng.choice(COMMUNITIES),
            "surveyed_on": date(2026, 10, 15),
        }
        row["name"] = f"{row['community']}{category and ''}"
        row.update(_category_fields(rng, category, i))
        if category == "elevator":
            row["building"] = f"{rng.randint(1, 30)}号楼"
            row["unit"] = f"{rng.randint(1, 4)}单元"
            row["address"] = f"{rng.choice(STREETS)}{rng.randint(1, 200)}号{row['community']}"
            row["name"] = f"{row['community']}{row['building']}{row['unit']}电梯"
        yield row


def load_demo(
    session: Session,
    *,
    count: int = 3000,
    seed: int = 2024,
    base_url: str = "http://127.0.0.1:8000",
) -> str:
    """Insert the demo ledger (skipped if present), evaluate it, and create a demo admin token."""
    lines = []
    if session.scalar(select(Asset.id).limit(1)) is None:
        columns = [c.key for c in Asset.__table__.columns if c.key not in ("id",)]
        rows = []
        for r in generate_assets(count, seed):
            rows.append(
                {
                    c: r.get(c)
                    for c in columns
                    if c
                    not in (
                        "created_at",
                        "updated_at",
                        "renewed_on",
                        "last_batch_id",
                    )
                }
            )
        session.execute(insert(Asset), rows)
        lines.append(f"demo ledger: {count} assets")
    else:
        lines.append("ledger already has assets; demo data not loaded again")
    from app.rules import service as rules_service

    evaluate = getattr(rules_service, "evaluate_ledger", None)
    if evaluate is not None:
        lines.append(str(evaluate(session)))
    name = "demo-admin"
    account = session.scalar(select(Account).where(Account.name == name))
    if account is None:
        account = accounts_service.create_account(session, name=name, role="admin")
    token = accounts_service.issue_token(session, account)
    lines.append(f"demo admin token (national admin): {token}")
    lines.append(f'try: curl -H "Authorization: Bearer {token}" "{base_url}/api/v1/assets?limit=5"')
    return "\n".join(lines)
