"""Rule packs: the six packs of DOMAIN.md §2, inheritance, and loud failure on malformed packs."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.config import ROOT
from app.rules.conditions import PackError
from app.rules.packs import get_registry, load_registry

MATRIX_IDS = {
    "ELV-ASSESS-15",
    "ELV-RENEW",
    "ELV-REPAIR",
    "PUMP-ELIM",
    "PUMP-QUALITY",
    "PUMP-EFFICIENCY",
    "PUMP-LIFE",
    "PUMP-UPGRADE",
    "BLR-ELIM",
    "BLR-EFF-LIMIT",
    "BLR-EMISSION",
    "BLR-EMISSION-NONCOAL",
    "BLR-COAL-EFF2",
    "BLR-COAL-LIFE",
    "BLR-COAL-35",
    "GAS-GREY-IRON",
    "GAS-DUCTILE",
    "GAS-DUCTILE-ASSESS",
    "GAS-AGED-20",
    "GAS-AGED-ASSESS",
    "GAS-UNSAFE-YOUNG",
    "GAS-HAZARD-YOUNG",
    "GAS-CONVERTED",
    "GAS-IMMEDIATE",
    "GAS-RISK-ASSESS",
    "LPG-OLD-STANDARD",
    "LPG-END-OF-LIFE",
    "LPG-DUAL-PHASE",
    "LPG-FAILED",
    "LPG-INSPECTION-DUE",
    "LPG-NO-TAG",
    "SAN-EMISSION",
    "SAN-SCRAP-AGE",
    "SAN-MILEAGE",
    "SAN-FAULTS",
}


def test_every_matrix_rule_exists_somewhere() -> None:
    reg = get_registry()
    ids = set().union(*(set(p.rules) | set(p.disabled) for p in reg.packs.values()))
    assert ids == MATRIX_IDS


@pytest.mark.parametrize(
    ("pack", "only_in"),
    [
        ("PUMP-LIFE", {"HA", "SX"}),
        ("BLR-COAL-EFF2", {"HA", "HB", "SX"}),
        ("BLR-COAL-LIFE", {"HA", "HB", "SX"}),
        ("BLR-COAL-35", {"HA", "SX"}),
        ("GAS-CONVERTED", {"GD"}),
        ("GAS-RISK-ASSESS", {"SH"}),
    ],
)
def test_provincial_rules_only_where_the_matrix_says(pack: str, only_in: set[str]) -> None:
    reg = get_registry()
    assert {p.id for p in reg.packs.values() if pack in p.rules} == only_in


def test_pack_choice_by_province_prefix() -> None:
    reg = get_registry()
    assert reg.pack_for_region("410102").id == "HA"
    assert reg.pack_for_region("130102").id == "HB"
    assert reg.pack_for_region("310101").id == "SH"
    assert reg.pack_for_region("140105").id == "SX"
    assert reg.pack_for_region("440106").id == "GD"
    assert reg.pack_for_region("110105").id == "CN"


def test_deadlines() -> None:
    reg = get_registry()
    assert reg.packs["CN"].deadline("elevator") == date(2027, 12, 31)
    assert reg.packs["HA"].deadline("elevator") == date(2028, 12, 31)
    assert reg.packs["HA"].deadline("gas_pipe") == date(2025, 12, 31)
    assert reg.packs["HB"].deadline("gas_pipe") == date(2025, 6, 30)
    assert reg.packs["SH"].deadline("gas_pipe") == date(2027, 12, 31)


def test_override_changes_level_and_advisory() -> None:
    reg = get_registry()
    assert reg.packs["CN"].rules["ELV-ASSESS-15"].basis.advisory is True
    assert reg.packs["SH"].rules["ELV-ASSESS-15"].basis.advisory is False
    assert reg.packs["HB"].rules["SAN-EMISSION"].level == "mandatory"
    assert reg.packs["HB"].rules["SAN-EMISSION"].basis.advisory is False
    assert reg.packs["CN"].rules["SAN-EMISSION"].level == "encouraged"
    assert reg.packs["CN"].rules["SAN-EMISSION"].basis.advisory is True


def test_every_rule_cites_document_and_lines() -> None:
    for pack in get_registry().packs.values():
        for rule in pack.rules.values():
            assert rule.basis.document and rule.basis.clause and rule.basis.source_lines, rule.id


def test_every_citation_reads_as_document_and_clause() -> None:
    """Exports show `citation()`: the document and its numbered clause, never our line ranges."""
    for pack in get_registry().packs.values():
        for basis in [r.basis for r in pack.rules.values()] + [t.basis for t in pack.targets]:
            text = basis.citation()
            assert not re.search(r"S\d+:\d+|standards-notes|\[ext\]", text), (pack.id, text)
            assert text.startswith(basis.cite) and basis.cite
    henan = get_registry().packs["HA"].rules
    assert (
        henan["LPG-OLD-STANDARD"]
        .basis.citation()
        .startswith(
            "豫建城建〔2024〕128号《河南省推进建筑和市政基础设施设备更新改造实施方案》 二、（六）"
        )
    )
    assert "二、（三）供水设施设备更新" in henan["PUMP-QUALITY"].basis.citation()
    elim = henan["PUMP-ELIM"].basis
    assert elim.cite.startswith("国发〔2024〕7号 二、（一）")  # the pack's own `cite:`
    assert elim.citation() == elim.cite


def test_a_citation_naming_source_lines_is_refused(pack_dir: Path) -> None:
    _edit(
        pack_dir / "CN.yaml",
        "      cite: 国发〔2024〕7号 二、（一）",
        "      cite: 国发〔2024〕7号 S0:1155 二、（一）",
    )
    with pytest.raises(PackError, match=r"PUMP-ELIM.*source line"):
        load_registry(pack_dir)


@pytest.fixture
def pack_dir(tmp_path: Path) -> Path:
    for f in (ROOT / "seed" / "rules").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{field: material, eq: grey_cast_iron}", "{field: material, eq: bamboo}", "GAS-GREY-IRON"),
        ("{field: material, eq: grey_cast_iron}", "{field: floors, eq: 3}", "not a gas_pipe field"),
        ("{field: phase, eq: dual}", "{field: phase, like: dual}", "unknown operator"),
        (
            "    level: mandatory\n    due: immediate\n    title: 钢瓶定期检验不合格",
            "    level: urgent\n    due: immediate\n    title: 钢瓶定期检验不合格",
            "LPG-FAILED",
        ),
        (
            "- {age_at_least: $years}\n        - {field: assessment_result, in: [hazard,",
            "- {age_at_least: $yrs}\n        - {field: assessment_result, in: [hazard,",
            "unknown parameter",
        ),
        (
            "    when: {field: mileage_km, ge: $km}",
            "    when: {eval: '__import__(\"os\")'}",
            "unknown condition",
        ),
    ],
)
def test_malformed_pack_fails_loudly(pack_dir: Path, old: str, new: str, message: str) -> None:
    _edit(pack_dir / "CN.yaml", old, new)
    with pytest.raises(PackError) as exc:
        load_registry(pack_dir)
    assert "CN.yaml" in str(exc.value)
    assert message in str(exc.value)


def test_override_of_unknown_rule_fails(pack_dir: Path) -> None:
    _edit(pack_dir / "GD.yaml", "GAS-CONVERTED: {enabled: true}", "GAS-NOPE: {enabled: true}")
    with pytest.raises(PackError, match=r"GD.yaml.*GAS-NOPE"):
        load_registry(pack_dir)


def test_not_over_age_is_rejected(pack_dir: Path) -> None:
    _edit(
        pack_dir / "CN.yaml",
        "        - {age_below: $years}",
        "        - not: {age_at_least: $years}",
    )
    with pytest.raises(PackError, match="age_below"):
        load_registry(pack_dir)


def test_duplicate_province_fails(pack_dir: Path) -> None:
    _edit(pack_dir / "GD.yaml", 'provinces: ["44"]', 'provinces: ["41"]')
    with pytest.raises(PackError, match="province 41"):
        load_registry(pack_dir)


def test_pack_can_disable_and_change_params(pack_dir: Path) -> None:
    _edit(
        pack_dir / "GD.yaml",
        "overrides:\n",
        "disable: [GAS-IMMEDIATE]\noverrides:\n  SAN-FAULTS: {params: {faults: 3}}\n",
    )
    reg = load_registry(pack_dir)
    assert "GAS-IMMEDIATE" not in reg.packs["GD"].rules
    assert "GAS-IMMEDIATE" in reg.packs["CN"].rules
    assert reg.packs["GD"].rules["SAN-FAULTS"].params == {"faults": 3}


def test_changed_pack_is_recorded_and_reevaluated(pack_dir: Path, db: Any) -> None:
    from sqlalchemy import insert, select

    from app.assets.models import Asset
    from app.audit.models import Change, ChangeSet
    from app.rules.models import AssetFlag, RulePackRecord
    from app.rules.service import sync_rule_packs

    _edit(pack_dir / "HA.yaml", 'version: "2026.2"', 'version: "2027.1"')
    _edit(pack_dir / "HA.yaml", "  default: 2028-12-31", "  default: 2029-06-30")
    changed = load_registry(pack_dir)
    try:
        with db() as session, session.begin():
            session.execute(
                insert(Asset),
                [
                    {
                        "asset_code": "P1",
                        "category": "water_pump",
                        "region_code": "410102",
                        "on_elimination_list": True,
                    }
                ],
            )
            assert sync_rule_packs(session, changed) == ["HA"]
            flag = session.scalars(select(AssetFlag).where(AssetFlag.rule_id == "PUMP-ELIM")).one()
            assert (flag.pack_version, flag.due_on) == ("2027.1", date(2029, 6, 30))
            change = session.scalars(
                select(Change).where(Change.object_type == "rule_pack", Change.action == "load")
            ).one()
            assert change.object_id == "HA"
            assert change.before == {
                "version": "2026.2",
                "sha256": get_registry().packs["HA"].sha256,
            }
            assert change.after["version"] == "2027.1"
            header = session.get(ChangeSet, change.change_set_id)
            assert header is not None and header.kind == "rule_pack_load"
            assert sync_rule_packs(session, changed) == []
    finally:
        with db() as session, session.begin():
            sync_rule_packs(session)
            assert session.get(RulePackRecord, "HA").version == "2026.2"  # type: ignore[union-attr]
