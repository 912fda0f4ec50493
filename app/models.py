"""Every model, imported once so metadata is complete (Alembic, tests)."""

from app.accounts.models import Account, ApiToken
from app.assets.models import Asset
from app.audit.models import Change, ChangeSet
from app.db import Base
from app.imports.models import ImportBatch, ImportRow
from app.plans.models import Plan, PlanLine, PlanProject
from app.regions.models import Region, RetiredRegion
from app.rules.models import AssetFlag, RulePackRecord

metadata = Base.metadata

__all__ = [
    "Account",
    "ApiToken",
    "Asset",
    "AssetFlag",
    "Change",
    "ChangeSet",
    "ImportBatch",
    "ImportRow",
    "Plan",
    "PlanLine",
    "PlanProject",
    "Region",
    "RetiredRegion",
    "RulePackRecord",
    "metadata",
]
