"""Rule packs: YAML files in seed/rules, validated at load, provincial packs extending CN."""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from app.assets.spec import CATEGORIES
from app.config import get_settings
from app.rules.conditions import (
    Node,
    PackError,
    ParseContext,
    category_fields,
    fields_used,
    parse_condition,
)

LEVELS = ("mandatory", "assess", "encouraged")
DUE_MODES = ("deadline", "threshold", "immediate")
RULE_KEYS = {
    "id",
    "category",
    "level",
    "due",
    "title",
    "when",
    "basis",
    "params",
    "enabled",
    "deadline",
    "advisory",
}
OVERRIDE_KEYS = RULE_KEYS - {"id", "category"}
BASIS_KEYS = {"document", "clause", "source", "standards", "advisory", "cite"}
INTERNAL_REF = re.compile(r"S\d+:\d+|standards-notes|\[ext\]")
"""References into our copy of the policy texts: never in what people read."""
"""What a provincial pack may change in an inherited rule (not its identity)."""
TARGET_METRICS = ("renewal_rate", "units", "length_m", "new_energy_units", "tagged_rate")


@dataclass(frozen=True)
class Basis:
    """The clause a rule rests on."""

    document: str
    clause: str
    source_lines: str
    standards: tuple[str, ...] = ()
    advisory: bool = False
    """True where the policy text is another province's and the rule is a product default."""
    cite: str = ""
    """The document and clause as people cite them (豫建城建〔2024〕128号…（七）…): the pack's
    `cite:` when given, else the document's full name and the clause. Exports and plans show
    this, never `source_lines`, which point into our copy of the texts."""

    def text(self) -> str:
        std = f"; {', '.join(self.standards)}" if self.standards else ""
        return f"{self.document} {self.clause} ({self.source_lines}){std}"

    def citation(self) -> str:
        """What an export writes: the cite, and the standards it does not already name."""
        extra = [s for s in self.standards if s not in self.cite]
        return f"{self.cite}（{'、'.join(extra)}）" if extra else self.cite


@dataclass(frozen=True)
class Rule:
    """One resolved rule of a pack."""

    id: str
    category: str
    level: str
    due: str
    title: str
    when: Node
    basis: Basis
    deadline: date
    params: dict[str, Any] = field(default_factory=dict)

    def basis_text(self) -> str:
        return self.basis.text()

    @cached_property
    def facts_fields(self) -> tuple[str, ...]:
        """The fields the rule's condition reads, in first-use order (a flag's `facts`),
        walked once per loaded rule instead of once per flag shown."""
        return tuple(fields_used(self.when))


@dataclass(frozen=True)
class Target:
    """A plan-level quantitative target (checked on plans, not on single assets)."""

    id: str
    category: str
    metric: str
    value: float
    by: date
    description: str
    basis: Basis


@dataclass(frozen=True)
class Pack:
    """A resolved pack: its own settings merged over its parent's, rules ready to evaluate."""

    id: str
    version: str
    name: str
    effective_on: date
    effective_on_basis: str
    """Where the pack's effective date comes from: a source line, or 'assumption'."""
    provinces: tuple[str, ...]
    extends: str | None
    deadlines: dict[str, date]
    age_basis: dict[str, tuple[str, ...]]
    rules: dict[str, Rule]
    disabled: tuple[str, ...]
    targets: tuple[Target, ...]
    sha256: str

    def deadline(self, category: str) -> date:
        return self.deadlines.get(category, self.deadlines["default"])

    def rules_for(self, category: str) -> list[Rule]:
        return [r for r in self.rules.values() if r.category == category]


@dataclass(frozen=True)
class Registry:
    """Every loaded pack, and the choice of pack by province prefix."""

    packs: dict[str, Pack]
    by_province: dict[str, str]
    advisory: frozenset[tuple[str, str]] = frozenset()
    """(pack id, rule id) of every rule that rests on another province's text (or a product
    default): computed once at load for the due list's filter and the plans."""

    def pack_for_region(self, region_code: str) -> Pack:
        return self.packs[self.by_province.get(region_code[:2], "CN")]

    def fallback(self) -> Pack:
        return self.packs["CN"]


def _need(raw: dict[str, Any], key: str, where: str) -> Any:
    if key not in raw:
        raise PackError(f"{where}: missing '{key}'")
    return raw[key]


def _substitute(node: Any, params: dict[str, Any], where: str) -> Any:
    """Replace `$name` strings in a raw condition with the rule's parameters."""
    if isinstance(node, str) and node.startswith("$"):
        if node[1:] not in params:
            raise PackError(f"{where}: unknown parameter {node}")
        return params[node[1:]]
    if isinstance(node, dict):
        return {k: _substitute(v, params, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(v, params, where) for v in node]
    return node


def _basis(raw: Any, documents: dict[str, str], advisory: bool, where: str) -> Basis:
    if not isinstance(raw, dict):
        raise PackError(f"{where}: 'basis' must be a mapping")
    doc = str(_need(raw, "document", where))
    unknown = set(raw) - BASIS_KEYS
    if unknown:
        raise PackError(f"{where}: unknown basis keys {sorted(unknown)}")
    document = documents.get(doc, doc)
    clause = str(_need(raw, "clause", where))
    cite = str(raw.get("cite") or f"{document} {clause}")
    if INTERNAL_REF.search(cite):
        raise PackError(f"{where}: the citation names a source line or note: {cite!r}")
    return Basis(
        document=document,
        clause=clause,
        source_lines=str(_need(raw, "source", where)),
        standards=tuple(str(s) for s in raw.get("standards", [])),
        advisory=bool(raw.get("advisory", advisory)),
        cite=cite,
    )


def _build_rule(raw: dict[str, Any], ctx: dict[str, Any], where: str) -> Rule | None:
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise PackError(f"{where}: unknown keys {sorted(unknown)}")
    if not raw.get("enabled", True):
        return None
    category = _need(raw, "category", where)
    if category not in CATEGORIES:
        raise PackError(f"{where}: unknown category '{category}'")
    level = _need(raw, "level", where)
    if level not in LEVELS:
        raise PackError(f"{where}: level must be one of {', '.join(LEVELS)}, got '{level}'")
    due = raw.get("due", "deadline")
    if due not in DUE_MODES:
        raise PackError(f"{where}: due must be one of {', '.join(DUE_MODES)}, got '{due}'")
    params = dict(raw.get("params") or {})
    basis_of = ctx["age_basis"]
    pctx = ParseContext(
        where=where,
        category=category,
        age_basis=tuple(basis_of.get(category, basis_of["default"])),
        fields=category_fields(category),
    )
    when = parse_condition(_substitute(_need(raw, "when", where), params, where), pctx)
    deadline = raw.get("deadline") or ctx["deadlines"].get(category, ctx["deadlines"]["default"])
    if not isinstance(deadline, date):
        raise PackError(f"{where}: deadline must be a date, got {deadline!r}")
    raw_basis = dict(_need(raw, "basis", where))
    if "advisory" in raw:
        raw_basis["advisory"] = raw["advisory"]
    return Rule(
        id=raw["id"],
        category=category,
        level=level,
        due=due,
        title=str(_need(raw, "title", where)),
        when=when,
        basis=_basis(raw_basis, ctx["documents"], False, where),
        deadline=deadline,
        params=params,
    )


def _merge_rules(
    parent_raw: dict[str, dict[str, Any]], doc: dict[str, Any], where: str
) -> dict[str, dict[str, Any]]:
    rules = copy.deepcopy(parent_raw)
    for rule_id, change in (doc.get("overrides") or {}).items():
        if rule_id not in rules:
            raise PackError(f"{where}: override of unknown rule '{rule_id}'")
        bad = set(change) - OVERRIDE_KEYS
        if bad:
            raise PackError(f"{where} rule {rule_id}: cannot override {sorted(bad)}")
        merged = rules[rule_id]
        if "params" in change:
            merged["params"] = {**merged.get("params", {}), **change["params"]}
        merged.update({k: v for k, v in change.items() if k != "params"})
    for rule_id in doc.get("disable") or []:
        if rule_id not in rules:
            raise PackError(f"{where}: disable of unknown rule '{rule_id}'")
        rules[rule_id]["enabled"] = False
    for raw in doc.get("rules") or []:
        rule_id = _need(raw, "id", where)
        if rule_id in rules:
            raise PackError(f"{where}: rule '{rule_id}' defined twice (use overrides)")
        rules[rule_id] = copy.deepcopy(raw)
    return rules


def _targets(doc: dict[str, Any], documents: dict[str, str], where: str) -> tuple[Target, ...]:
    out = []
    for raw in doc.get("targets") or []:
        tw = f"{where} target {raw.get('id')}"
        if raw.get("metric") not in TARGET_METRICS:
            raise PackError(f"{tw}: metric must be one of {', '.join(TARGET_METRICS)}")
        if raw.get("category") not in CATEGORIES:
            raise PackError(f"{tw}: unknown category '{raw.get('category')}'")
        out.append(
            Target(
                id=_need(raw, "id", tw),
                category=raw["category"],
                metric=raw["metric"],
                value=float(_need(raw, "value", tw)),
                by=_need(raw, "by", tw),
                description=str(raw.get("description", "")),
                basis=_basis(_need(raw, "basis", tw), documents, False, tw),
            )
        )
    return tuple(out)


def _read(path: Path) -> tuple[dict[str, Any], str]:
    text = path.read_bytes()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PackError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise PackError(f"{path.name}: a pack must be a mapping")
    return doc, hashlib.sha256(text).hexdigest()


def load_registry(directory: Path) -> Registry:
    """Load and validate every pack in a folder; raises PackError naming file, rule and reason."""
    raw_docs = {}
    for path in sorted(directory.glob("*.yaml")):
        doc, sha = _read(path)
        pack_id = _need(doc, "id", path.name)
        if pack_id != path.stem:
            raise PackError(f"{path.name}: id '{pack_id}' must match the file name")
        raw_docs[pack_id] = (doc, sha, path.name)
    if "CN" not in raw_docs:
        raise PackError(f"{directory}: the national pack CN.yaml is missing")
    packs: dict[str, Pack] = {}
    rules_raw: dict[str, dict[str, dict[str, Any]]] = {}
    ctxs: dict[str, dict[str, Any]] = {}
    order = ["CN", *sorted(p for p in raw_docs if p != "CN")]
    for pack_id in order:
        doc, sha, name = raw_docs[pack_id]
        parent = doc.get("extends")
        if pack_id != "CN" and parent != "CN":
            raise PackError(f"{name}: provincial packs must extend CN, got {parent!r}")
        base = ctxs.get(parent or "", {"deadlines": {}, "age_basis": {}, "documents": {}})
        ctx = {
            key: {**base[key], **(doc.get(key) or {})}
            for key in ("deadlines", "age_basis", "documents")
        }
        if "default" not in ctx["deadlines"] or "default" not in ctx["age_basis"]:
            raise PackError(f"{name}: deadlines.default and age_basis.default are required")
        ctxs[pack_id] = ctx
        rules_raw[pack_id] = _merge_rules(rules_raw.get(parent or "", {}), doc, name)
        built = {
            rid: _build_rule(raw, ctx, f"{name} rule {rid}")
            for rid, raw in rules_raw[pack_id].items()
        }
        packs[pack_id] = Pack(
            id=pack_id,
            version=str(_need(doc, "version", name)),
            name=str(doc.get("name", "")),
            effective_on=_need(doc, "effective_on", name),
            effective_on_basis=str(doc.get("effective_on_basis", "assumption")),
            provinces=tuple(str(p) for p in doc.get("provinces") or []),
            extends=parent,
            deadlines=ctx["deadlines"],
            age_basis={k: tuple(v) for k, v in ctx["age_basis"].items()},
            rules={rid: r for rid, r in built.items() if r is not None},
            disabled=tuple(rid for rid, r in built.items() if r is None),
            targets=_targets(doc, ctx["documents"], name),
            sha256=sha,
        )
    by_province: dict[str, str] = {}
    for pack in packs.values():
        for prov in pack.provinces:
            if prov in by_province:
                raise PackError(
                    f"{pack.id}.yaml: province {prov} already has pack {by_province[prov]}"
                )
            by_province[prov] = pack.id
    advisory = frozenset(
        (p.id, r.id) for p in packs.values() for r in p.rules.values() if r.basis.advisory
    )
    return Registry(packs=packs, by_province=by_province, advisory=advisory)


@lru_cache
def _cached(directory: str) -> Registry:
    return load_registry(Path(directory))


def get_registry() -> Registry:
    """The packs of the configured rules folder (loaded once per process)."""
    return _cached(str(get_settings().rules_dir))


def readable(text: str) -> str:
    """A stored basis text without the source references of older snapshots: plans made
    before citations were kept store `document clause (S0:3242-3244); standards`, so their
    parenthesised source part (and a `见 S0:…` inside the clause) is dropped when shown."""
    out, i = [], 0
    while (start := text.find(" (", i)) >= 0:
        depth, end = 0, start + 1
        for end in range(start + 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        inner = text[start : end + 1]
        out.append(text[i:start])
        if not INTERNAL_REF.search(inner):
            out.append(inner)
        i = end + 1
    out.append(text[i:])
    joined = "".join(out)
    return re.sub(r"[，,]?\s*见\s*S\d+:[\d\-;, ]+", "", joined).strip()
