"""Read side of scheduling: the stored flags of a plan's region, one candidate per asset."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from sys import intern
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.accounts.scope import Principal, region_prefix_clause, scope_clause
from app.assets.models import Asset
from app.plans.calc import LEVELS, REQUIRED, Candidate
from app.plans.costs import Cost, CostModel, price_cost
from app.plans.grouping import group_label, subject_of
from app.rules.models import AssetFlag
from app.rules.packs import get_registry

LIVE_STATUSES = ("in_service", "renewing")
FLAG_COLUMNS = (
    AssetFlag.asset_id,
    AssetFlag.category,
    AssetFlag.level,
    AssetFlag.due_on,
    AssetFlag.in_scope_on,
    AssetFlag.rule_id,
    AssetFlag.pack_id,
    AssetFlag.pack_version,
    AssetFlag.as_of,
    Asset.asset_code,
    Asset.region_code,
)
FACT_COLUMNS = (
    Asset.address,
    Asset.community,
    Asset.filling_station,
    Asset.operator,
    Asset.owner,
    Asset.length_m,
    Asset.capacity_tph,
    Asset.fuel,
    Asset.pipe_level,
    Asset.unit_cost,
    Asset.owners_agree,
)
FACT_KEYS = tuple(c.key for c in FACT_COLUMNS)
ASSET_ID, CATEGORY, LEVEL, DUE_ON, IN_SCOPE_ON, RULE_ID, PACK_ID, PACK_VERSION, AS_OF = range(9)
ASSET_CODE, REGION_CODE, FACTS = 9, 10, 11
"""Positions in a flag row (plain tuples: the bulk path avoids per-row mapping objects)."""


@dataclass(frozen=True)
class Selection:
    """Which flags a plan is made from."""

    principal: Principal
    region_prefix: str
    categories: Sequence[str]
    horizon_end: date
    include_encouraged: bool
    include_advisory: bool = True
    """False: flags whose rule is advisory (another province's text) are left out."""


@dataclass(frozen=True, slots=True)
class LineFacts:
    """What a line stores besides its schedule: the asset snapshot, its flags and its cost."""

    asset_code: str
    address: str | None
    pack_id: str
    rule_ids: str
    quantity: Decimal
    unit_cost: Decimal
    cost_source: str
    quantity_assumed: bool
    work: str = "renewal"
    contingent: Decimal | None = None
    advisory: bool = False
    """Every flag behind the line is advisory."""


@dataclass
class Loaded:
    """Candidates with their facts, and what the flags say about packs."""

    candidates: list[Candidate] = field(default_factory=list)
    """With their LineFacts as payload."""
    sources: set[tuple[str, str, str, date]] = field(default_factory=set)
    """(pack id, pack version, rule id, evaluation date) of every flag used."""
    beyond_horizon: int = 0
    """Flagged assets whose conditions all start to hold after the plan's last year."""
    left_out: dict[str, int] = field(default_factory=lambda: {"advisory": 0, "owners_disagree": 0})
    """Flagged assets not planned: only advisory flags (include_advisory false), or an elevator
    renewal its owners voted against (ELV-RENEW needs 业主共同决定, HA S0:7244-7246)."""

    @property
    def packs(self) -> set[tuple[str, str]]:
        """(pack id, version) of the flags used."""
        return {(p, v) for p, v, _, _ in self.sources}

    @property
    def rules(self) -> set[tuple[str, str]]:
        """(pack id, rule id) of the flags used."""
        return {(p, r) for p, _, r, _ in self.sources}

    @property
    def evaluated(self) -> set[date]:
        """Evaluation dates of the flags used."""
        return {d for _, _, _, d in self.sources}


def _asset_filter(sel: Selection) -> Any:
    """Live assets of the plan's categories in its region and the caller's scope."""
    return (
        Asset.status.in_(LIVE_STATUSES),
        Asset.category.in_(list(sel.categories)),
        region_prefix_clause(Asset.region_code, sel.region_prefix),
        scope_clause(sel.principal, Asset.region_code, Asset.category),
    )


def _flag_rows(session: Session, sel: Selection) -> Iterator[Any]:
    """Flag rows joined to their asset's facts, grouped by asset, streamed in chunks."""
    levels = LEVELS if sel.include_encouraged else REQUIRED
    stmt = (
        select(*FLAG_COLUMNS, *FACT_COLUMNS)
        .join(Asset, Asset.id == AssetFlag.asset_id)
        .where(AssetFlag.level.in_(levels), AssetFlag.due_on.is_not(None), *_asset_filter(sel))
        .order_by(AssetFlag.asset_id)
    )
    result = session.connection().execute(stmt.execution_options(yield_per=20_000))
    for partition in result.partitions():
        yield from partition


def load_candidates(
    session: Session, sel: Selection, model: CostModel, overridden: frozenset[str]
) -> Loaded:
    """One candidate per flagged asset: required flags decide (else encouraged ones)."""
    out = Loaded()
    advisory = get_registry().advisory
    group: list[Any] = []
    for row in _flag_rows(session, sel):
        if group and row[ASSET_ID] != group[0][ASSET_ID]:
            _add(
                out,
                _eligible(out, group, sel, advisory),
                sel.horizon_end,
                model,
                overridden,
                advisory,
            )
            group = []
        group.append(row)
    if group:
        _add(
            out, _eligible(out, group, sel, advisory), sel.horizon_end, model, overridden, advisory
        )
    return out


OWNERS_AGREE = len(FLAG_COLUMNS) + FACT_KEYS.index("owners_agree")


def _eligible(
    out: Loaded, rows: list[Any], sel: Selection, advisory: frozenset[tuple[str, str]]
) -> list[Any]:
    """An asset's flags that may be planned; counts the assets left out and why."""
    kept = [
        r for r in rows
        if not (r[RULE_ID] == "ELV-RENEW" and r[OWNERS_AGREE] is False)
        and (sel.include_advisory or (r[PACK_ID], r[RULE_ID]) not in advisory)
    ]  # fmt: skip
    if len(kept) == len(rows):
        return rows
    if not kept:
        disagree = any(r[RULE_ID] == "ELV-RENEW" and r[OWNERS_AGREE] is False for r in rows)
        out.left_out["owners_disagree" if disagree else "advisory"] += 1
    return kept


def _fold(rows: list[Any]) -> tuple[str, date, date | None]:
    """Worst level, earliest due date, earliest start (None: already holds) of some flags."""
    if len(rows) == 1:
        return rows[0][LEVEL], rows[0][DUE_ON], rows[0][IN_SCOPE_ON]
    level = min((r[LEVEL] for r in rows), key=LEVELS.index)
    starts = [r[IN_SCOPE_ON] for r in rows]
    start = None if None in starts else min(starts)
    return level, min(r[DUE_ON] for r in rows), start


def _add(
    out: Loaded,
    rows: list[Any],
    end: date,
    model: CostModel,
    overridden: frozenset[str],
    advisory: frozenset[tuple[str, str]],
) -> None:
    """Fold an asset's flags into one candidate: earliest due, earliest start, worst level."""
    if not rows:
        return
    if len(rows) == 1:  # the common case, kept cheap
        use = rows if rows[0][IN_SCOPE_ON] is None or rows[0][IN_SCOPE_ON] <= end else []
    else:
        live = [r for r in rows if r[IN_SCOPE_ON] is None or r[IN_SCOPE_ON] <= end]
        use = [r for r in live if r[LEVEL] in REQUIRED] or live
    if not use:
        out.beyond_horizon += 1
        return
    first = use[0]
    level, due_on, in_scope = _fold(use)
    facts = dict(zip(FACT_KEYS, first[FACTS:], strict=True))
    category = intern(first[CATEGORY])
    cost = price_cost(model, category, facts, overridden, level)
    out.candidates.append(
        Candidate(
            asset_id=first[ASSET_ID],
            category=category,
            level=intern(level),
            due_on=due_on,
            in_scope_on=in_scope,
            amount=cost.amount,
            region_code=intern(first[REGION_CODE]),
            group=intern(group_label(category, facts)),
            subject=_interned(subject_of(category, facts, model)),
            payload=_line_facts(use, cost, facts, advisory),
        )
    )
    out.sources.update((r[PACK_ID], r[PACK_VERSION], r[RULE_ID], r[AS_OF]) for r in use)


def _interned(text: str | None) -> str | None:
    """One shared object per distinct string: names and codes repeat over 100,000s of lines."""
    return None if text is None else intern(text)


def _line_facts(
    use: list[Any], cost: Cost, facts: dict[str, Any], advisory: frozenset[tuple[str, str]]
) -> LineFacts:
    """The snapshot a line stores: code, address, pack, rule ids and cost."""
    first = use[0]
    rule_ids = first[RULE_ID] if len(use) == 1 else ",".join(sorted({r[RULE_ID] for r in use}))
    return LineFacts(
        asset_code=first[ASSET_CODE],
        address=facts["address"],
        pack_id=intern(first[PACK_ID]),
        rule_ids=intern(rule_ids[:200]),
        quantity=cost.quantity,
        unit_cost=cost.unit_cost,
        cost_source=cost.source,
        quantity_assumed=cost.quantity_assumed,
        work=cost.work,
        contingent=cost.contingent,
        advisory=all((r[PACK_ID], r[RULE_ID]) in advisory for r in use),
    )


def count_data_gaps(session: Session, sel: Selection) -> int:
    """Assets of the plan's region with an `unknown` flag: rules that could not be decided."""
    stmt = (
        select(func.count(func.distinct(AssetFlag.asset_id)))
        .join(Asset, Asset.id == AssetFlag.asset_id)
        .where(AssetFlag.level == "unknown", *_asset_filter(sel))
    )
    return int(session.scalar(stmt) or 0)
