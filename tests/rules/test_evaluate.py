"""Table-driven tests of every rule of DOMAIN.md §5 with the pure evaluator."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.rules.evaluate import Flag, add_years, asset_status, evaluate_asset
from app.rules.packs import get_registry

AS_OF = date(2026, 11, 29)


def flags(pack: str, category: str, as_of: date = AS_OF, **facts: Any) -> dict[str, Flag]:
    facts.setdefault("status", "in_service")
    result = evaluate_asset(get_registry().packs[pack], category, facts, as_of)
    return {f.rule.id: f for f in result}


def level(pack: str, category: str, rule: str, **facts: Any) -> str | None:
    f = flags(pack, category, **facts).get(rule)
    return f.level if f else None


# (pack, category, rule, facts, expected level or None)
CASES: list[tuple[str, str, str, dict[str, Any], str | None]] = [
    # elevators
    (
        "CN",
        "elevator",
        "ELV-ASSESS-15",
        {"building_use": "residential", "commissioned_on": date(2005, 1, 1)},
        "assess",
    ),
    (
        "CN",
        "elevator",
        "ELV-ASSESS-15",
        {"building_use": "commercial", "commissioned_on": date(2005, 1, 1)},
        None,
    ),
    (
        "CN",
        "elevator",
        "ELV-ASSESS-15",
        {
            "building_use": "residential",
            "commissioned_on": date(2005, 1, 1),
            "assessment_result": "safe",
        },
        None,
    ),
    ("CN", "elevator", "ELV-ASSESS-15", {"building_use": "residential"}, "unknown"),
    ("CN", "elevator", "ELV-ASSESS-15", {"commissioned_on": date(2005, 1, 1)}, "unknown"),
    ("CN", "elevator", "ELV-RENEW", {"assessment_result": "renew"}, "encouraged"),
    ("CN", "elevator", "ELV-RENEW", {"scrap_conditions_met": True}, "encouraged"),
    ("CN", "elevator", "ELV-RENEW", {}, None),
    ("CN", "elevator", "ELV-REPAIR", {"assessment_result": "modernize"}, "encouraged"),
    ("CN", "elevator", "ELV-REPAIR", {"assessment_result": "safe"}, None),
    # water pumps
    ("CN", "water_pump", "PUMP-ELIM", {"on_elimination_list": True}, "mandatory"),
    ("CN", "water_pump", "PUMP-ELIM", {}, None),
    (
        "CN",
        "water_pump",
        "PUMP-QUALITY",
        {"setting": "secondary_supply", "damaged": True},
        "mandatory",
    ),
    ("CN", "water_pump", "PUMP-QUALITY", {"setting": "sewage_plant", "damaged": True}, None),
    ("CN", "water_pump", "PUMP-QUALITY", {"damaged": True}, "unknown"),
    ("CN", "water_pump", "PUMP-QUALITY", {"setting": "water_plant"}, None),
    ("CN", "water_pump", "PUMP-EFFICIENCY", {"efficiency_grade": "below_limit"}, "mandatory"),
    ("CN", "water_pump", "PUMP-EFFICIENCY", {}, "unknown"),
    (
        "HA",
        "water_pump",
        "PUMP-LIFE",
        {"setting": "heating", "design_life_years": 10, "commissioned_on": date(2010, 1, 1)},
        "mandatory",
    ),
    (
        "HA",
        "water_pump",
        "PUMP-LIFE",
        {"setting": "heating", "commissioned_on": date(2010, 1, 1)},
        "unknown",
    ),
    (
        "CN",
        "water_pump",
        "PUMP-LIFE",
        {"setting": "heating", "design_life_years": 10, "commissioned_on": date(2010, 1, 1)},
        None,
    ),
    ("CN", "water_pump", "PUMP-UPGRADE", {"efficiency_grade": "3"}, "encouraged"),
    # boilers
    ("CN", "boiler", "BLR-ELIM", {"on_elimination_list": True}, "mandatory"),
    ("CN", "boiler", "BLR-EFF-LIMIT", {"efficiency_grade": "below_3"}, "mandatory"),
    ("CN", "boiler", "BLR-EMISSION", {"emissions_compliant": False, "fuel": "coal"}, "mandatory"),
    ("CN", "boiler", "BLR-EMISSION", {"emissions_compliant": False, "fuel": "gas"}, None),
    ("CN", "boiler", "BLR-EMISSION", {"emissions_compliant": True, "fuel": "coal"}, None),
    ("CN", "boiler", "BLR-EMISSION", {"fuel": "coal"}, "unknown"),
    ("CN", "boiler", "BLR-EMISSION", {"emissions_compliant": False}, "unknown"),
    ("HB", "boiler", "BLR-COAL-EFF2", {"fuel": "coal", "efficiency_grade": "3"}, "mandatory"),
    ("HB", "boiler", "BLR-COAL-EFF2", {"fuel": "gas", "efficiency_grade": "3"}, None),
    ("CN", "boiler", "BLR-COAL-EFF2", {"fuel": "coal", "efficiency_grade": "3"}, None),
    (
        "SX",
        "boiler",
        "BLR-COAL-LIFE",
        {"fuel": "coal", "design_life_years": 15, "commissioned_on": date(2000, 1, 1)},
        "mandatory",
    ),
    ("HA", "boiler", "BLR-COAL-35", {"fuel": "coal", "capacity_tph": Decimal("35")}, "mandatory"),
    ("HA", "boiler", "BLR-COAL-35", {"fuel": "coal", "capacity_tph": Decimal("35.5")}, None),
    ("HB", "boiler", "BLR-COAL-35", {"fuel": "coal", "capacity_tph": Decimal("10")}, None),
    ("SX", "boiler", "BLR-COAL-35", {"fuel": "coal"}, "unknown"),
    # gas pipes
    ("CN", "gas_pipe", "GAS-GREY-IRON", {"material": "grey_cast_iron"}, "mandatory"),
    ("CN", "gas_pipe", "GAS-GREY-IRON", {"material": "pe"}, None),
    ("CN", "gas_pipe", "GAS-GREY-IRON", {}, "unknown"),
    (
        "CN",
        "gas_pipe",
        "GAS-DUCTILE",
        {"material": "ductile_iron", "assessment_result": "hazard"},
        "mandatory",
    ),
    ("CN", "gas_pipe", "GAS-DUCTILE-ASSESS", {"material": "ductile_iron"}, "assess"),
    (
        "CN",
        "gas_pipe",
        "GAS-DUCTILE-ASSESS",
        {"material": "ductile_iron", "assessment_result": "safe"},
        None,
    ),
    (
        "CN",
        "gas_pipe",
        "GAS-AGED-20",
        {"commissioned_on": date(2000, 1, 1), "assessment_result": "hazard"},
        "mandatory",
    ),
    ("CN", "gas_pipe", "GAS-AGED-20", {"commissioned_on": date(2000, 1, 1)}, None),
    (
        "CN",
        "gas_pipe",
        "GAS-AGED-ASSESS",
        {"commissioned_on": date(2000, 1, 1), "material": "steel"},
        "assess",
    ),
    (
        "CN",
        "gas_pipe",
        "GAS-AGED-ASSESS",
        {"commissioned_on": date(2000, 1, 1), "material": "grey_cast_iron"},
        None,
    ),
    (
        "CN",
        "gas_pipe",
        "GAS-UNSAFE-YOUNG",
        {"commissioned_on": date(2015, 1, 1), "assessment_result": "not_allowed"},
        "mandatory",
    ),
    (
        "CN",
        "gas_pipe",
        "GAS-UNSAFE-YOUNG",
        {"commissioned_on": date(2000, 1, 1), "assessment_result": "not_allowed"},
        None,
    ),
    ("GD", "gas_pipe", "GAS-CONVERTED", {"converted_from_other_gas": True}, "mandatory"),
    ("CN", "gas_pipe", "GAS-CONVERTED", {"converted_from_other_gas": True}, None),
    ("CN", "gas_pipe", "GAS-IMMEDIATE", {"severe_corrosion": True}, "mandatory"),
    ("CN", "gas_pipe", "GAS-IMMEDIATE", {"safety_distance_ok": False}, "mandatory"),
    ("CN", "gas_pipe", "GAS-IMMEDIATE", {}, None),
    ("SH", "gas_pipe", "GAS-RISK-ASSESS", {}, "assess"),
    ("SH", "gas_pipe", "GAS-RISK-ASSESS", {"assessment_result": "safe"}, None),
    ("CN", "gas_pipe", "GAS-RISK-ASSESS", {}, None),
    # LPG cylinders
    (
        "CN",
        "lpg_cylinder",
        "LPG-OLD-STANDARD",
        {"standard": "GB 5842-1996", "manufactured_on": date(2010, 1, 1)},
        "mandatory",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-OLD-STANDARD",
        {"standard": "GB 5842-2006", "manufactured_on": date(2007, 1, 31)},
        "mandatory",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-OLD-STANDARD",
        {"standard": "GB 5842-2006", "manufactured_on": date(2007, 2, 1)},
        None,
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-END-OF-LIFE",
        {"standard": "GB 5842-2006", "manufactured_on": date(2015, 1, 1)},
        "mandatory",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-END-OF-LIFE",
        {"standard": "GB 5842-2023", "manufactured_on": date(2015, 1, 1)},
        "unknown",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-END-OF-LIFE",
        {
            "standard": "GB 5842-2006",
            "manufactured_on": date(2015, 1, 1),
            "life_extended_until": date(2027, 1, 1),
        },
        "mandatory",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-DUAL-PHASE",
        {"phase": "dual", "manufactured_on": date(2020, 1, 1)},
        "mandatory",
    ),
    (
        "CN",
        "lpg_cylinder",
        "LPG-FAILED",
        {"inspection_result": "fail", "manufactured_on": date(2020, 1, 1)},
        "mandatory",
    ),
    ("CN", "lpg_cylinder", "LPG-FAILED", {"manufactured_on": date(2020, 1, 1)}, None),
    (
        "CN",
        "lpg_cylinder",
        "LPG-NO-TAG",
        {"has_electronic_tag": False, "manufactured_on": date(2020, 1, 1)},
        "encouraged",
    ),
    (
        "SX",
        "lpg_cylinder",
        "LPG-NO-TAG",
        {"has_electronic_tag": False, "manufactured_on": date(2020, 1, 1)},
        "encouraged",
    ),
    # sanitation vehicles
    (
        "CN",
        "sanitation_vehicle",
        "SAN-EMISSION",
        {"fuel": "diesel", "emission_stage": 3},
        "encouraged",
    ),
    ("CN", "sanitation_vehicle", "SAN-EMISSION", {"fuel": "diesel", "emission_stage": 4}, None),
    ("CN", "sanitation_vehicle", "SAN-EMISSION", {"fuel": "electric"}, None),
    ("CN", "sanitation_vehicle", "SAN-EMISSION", {"fuel": "diesel"}, "unknown"),
    (
        "CN",
        "sanitation_vehicle",
        "SAN-SCRAP-AGE",
        {"has_cargo_function": True, "registered_on": date(2009, 1, 1)},
        "mandatory",
    ),
    (
        "CN",
        "sanitation_vehicle",
        "SAN-SCRAP-AGE",
        {"has_cargo_function": False, "registered_on": date(2009, 1, 1)},
        "mandatory",
    ),
    ("CN", "sanitation_vehicle", "SAN-SCRAP-AGE", {"registered_on": date(2009, 1, 1)}, "unknown"),
    ("CN", "sanitation_vehicle", "SAN-MILEAGE", {"mileage_km": 500_000}, "encouraged"),
    ("CN", "sanitation_vehicle", "SAN-MILEAGE", {"mileage_km": 499_999}, None),
    ("CN", "sanitation_vehicle", "SAN-FAULTS", {"faults_12m": 6}, "assess"),
    ("CN", "sanitation_vehicle", "SAN-FAULTS", {"faults_12m": 5}, None),
]


@pytest.mark.parametrize(
    ("pack", "category", "rule", "facts", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)],
)
def test_rule(
    pack: str, category: str, rule: str, facts: dict[str, Any], expected: str | None
) -> None:
    assert level(pack, category, rule, **facts) == expected


class TestDates:
    def test_deadline_rule_due_on_pack_deadline(self) -> None:
        f = flags("CN", "gas_pipe", material="grey_cast_iron")["GAS-GREY-IRON"]
        assert f.due_on == date(2025, 12, 31)
        assert f.in_scope_on is None

    @pytest.mark.parametrize(
        ("pack", "due"),
        [
            ("HB", date(2025, 6, 30)),
            ("SH", date(2027, 12, 31)),
            ("HA", date(2025, 12, 31)),
            ("GD", date(2025, 12, 31)),
        ],
    )
    def test_gas_deadline_per_pack(self, pack: str, due: date) -> None:
        assert flags(pack, "gas_pipe", material="grey_cast_iron")["GAS-GREY-IRON"].due_on == due

    def test_henan_default_deadline_is_2028(self) -> None:
        f = flags("HA", "water_pump", on_elimination_list=True)["PUMP-ELIM"]
        assert f.due_on == date(2028, 12, 31)
        assert flags("CN", "water_pump", on_elimination_list=True)["PUMP-ELIM"].due_on == date(
            2027, 12, 31
        )

    def test_shanxi_untagged_cylinder_is_encouraged_at_the_pack_deadline(self) -> None:
        # v2: Shanxi's 2024-09-30 traceability goal is a plan-level target (SX-LPG-TRACE)
        f = flags("SX", "lpg_cylinder", has_electronic_tag=False, manufactured_on=date(2020, 1, 1))[
            "LPG-NO-TAG"
        ]
        assert (f.level, f.due_on) == ("encouraged", date(2027, 12, 31))

    def test_age_rule_is_forward_looking(self) -> None:
        # turns 20 on 2029-06-01: in scope then, due then (later than the 2025 deadline)
        f = flags("CN", "gas_pipe", commissioned_on=date(2009, 6, 1), material="steel")
        aged = f["GAS-AGED-ASSESS"]
        assert aged.in_scope_on == date(2029, 6, 1)
        assert aged.due_on == date(2029, 6, 1)

    def test_age_rule_before_deadline_due_at_deadline(self) -> None:
        f = flags("CN", "gas_pipe", commissioned_on=date(2000, 6, 1), material="steel")
        assert f["GAS-AGED-ASSESS"].in_scope_on == date(2020, 6, 1)
        assert f["GAS-AGED-ASSESS"].due_on == date(2025, 12, 31)

    def test_day_an_asset_turns_twenty(self) -> None:
        on = flags(
            "CN",
            "gas_pipe",
            as_of=date(2026, 3, 1),
            commissioned_on=date(2006, 3, 1),
            material="steel",
            assessment_result="hazard",
        )
        assert on["GAS-AGED-20"].in_scope_on == date(2026, 3, 1)
        young = flags(
            "CN",
            "gas_pipe",
            as_of=date(2026, 3, 1),
            commissioned_on=date(2006, 3, 2),
            material="steel",
            assessment_result="not_allowed",
        )
        # still 19 on 2026-03-01: the under-20 rule holds, until the birthday
        assert "GAS-UNSAFE-YOUNG" in young
        older = flags(
            "CN",
            "gas_pipe",
            as_of=date(2026, 3, 1),
            commissioned_on=date(2006, 3, 1),
            material="steel",
            assessment_result="not_allowed",
        )
        assert "GAS-UNSAFE-YOUNG" not in older
        # v2: at twenty a pipe judged not allowed falls under GAS-AGED-20
        assert older["GAS-AGED-20"].level == "mandatory"

    def test_leap_day_birthday(self) -> None:
        assert add_years(date(2004, 2, 29), 20) == date(2024, 2, 29)
        assert add_years(date(2004, 2, 29), 21) == date(2025, 2, 28)

    def test_threshold_rule_due_when_condition_starts(self) -> None:
        f = flags("CN", "lpg_cylinder", standard="GB 5842-2006", manufactured_on=date(2020, 5, 10))[
            "LPG-END-OF-LIFE"
        ]
        assert f.in_scope_on == f.due_on == date(2028, 5, 10)

    def test_life_extension_moves_end_of_life(self) -> None:
        f = flags(
            "CN",
            "lpg_cylinder",
            standard="GB 5842-2006",
            manufactured_on=date(2015, 1, 1),
            life_extended_until=date(2027, 1, 1),
        )["LPG-END-OF-LIFE"]
        # the extension's date is the last day of use: the flag is due on it, not the day after
        assert f.in_scope_on == f.due_on == date(2027, 1, 1)
        last_day = flags(
            "CN",
            "lpg_cylinder",
            standard="GB 5842-2006",
            manufactured_on=date(2015, 1, 1),
            life_extended_until=AS_OF,
        )["LPG-END-OF-LIFE"]
        assert last_day.due_on == AS_OF  # due today, not yet overdue (due before as_of)

    def test_stamped_design_life_overrides_default(self) -> None:
        f = flags(
            "CN",
            "lpg_cylinder",
            standard="GB 5842-1996",
            design_life_years=12,
            manufactured_on=date(2000, 1, 1),
        )["LPG-END-OF-LIFE"]
        assert f.due_on == date(2012, 1, 1)

    def test_immediate_rule_due_on_survey_date(self) -> None:
        f = flags("CN", "gas_pipe", severe_corrosion=True, surveyed_on=date(2026, 10, 15))
        assert f["GAS-IMMEDIATE"].due_on == date(2026, 10, 15)
        g = flags("CN", "gas_pipe", severe_corrosion=True)
        assert g["GAS-IMMEDIATE"].due_on == AS_OF

    def test_inspection_interval_counts_from_manufacture_when_never_inspected(self) -> None:
        f = flags("CN", "lpg_cylinder", model="YSP12", manufactured_on=date(2022, 3, 1))
        assert f["LPG-INSPECTION-DUE"].due_on == date(2026, 3, 1)
        g = flags(
            "CN",
            "lpg_cylinder",
            model="YSP118",
            manufactured_on=date(2022, 3, 1),
            last_inspection_on=date(2024, 3, 1),
        )
        assert g["LPG-INSPECTION-DUE"].due_on == date(2027, 3, 1)

    def test_vehicle_age_counts_from_registration(self) -> None:
        f = flags(
            "CN",
            "sanitation_vehicle",
            has_cargo_function=True,
            registered_on=date(2012, 7, 1),
            manufactured_on=date(2011, 1, 1),
        )
        assert f["SAN-SCRAP-AGE"].due_on == date(2027, 7, 1)


class TestUnknownAndStatus:
    def test_unknown_names_missing_fields(self) -> None:
        f = flags("CN", "elevator", building_use="residential")["ELV-ASSESS-15"]
        assert f.level == "unknown"
        assert f.missing == ["commissioned_on"]
        assert f.due_on is None

    def test_irrelevant_missing_fact_is_not_unknown(self) -> None:
        # an electric vehicle has no emission stage: the diesel rule is simply false
        assert "SAN-EMISSION" not in flags("CN", "sanitation_vehicle", fuel="electric")

    def test_retired_assets_have_no_flags(self) -> None:
        assert flags("CN", "gas_pipe", material="grey_cast_iron", status="retired") == {}
        assert flags("CN", "gas_pipe", material="grey_cast_iron", status="renewed") == {}

    def test_status_is_most_severe_current_flag(self) -> None:
        pack = get_registry().packs["CN"]
        result = evaluate_asset(
            pack,
            "gas_pipe",
            {
                "material": "ductile_iron",
                "commissioned_on": date(1990, 1, 1),
                "severe_corrosion": True,
            },
            AS_OF,
        )
        assert asset_status(result, AS_OF) == "mandatory"

    def test_future_flags_do_not_set_status_yet(self) -> None:
        pack = get_registry().packs["CN"]
        result = evaluate_asset(
            pack, "gas_pipe", {"material": "steel", "commissioned_on": date(2010, 1, 1)}, AS_OF
        )
        assert asset_status(result, AS_OF) == "none"
        assert asset_status(result, date(2031, 1, 1)) == "assess"

    def test_facts_record_the_values_used(self) -> None:
        f = flags("CN", "gas_pipe", material="grey_cast_iron")["GAS-GREY-IRON"]
        assert f.facts == {"material": "grey_cast_iron"}
        assert f.rule.basis.document.startswith("国办发〔2022〕22号")
