"""Every model, imported once so metadata is complete (Alembic, tests)."""

from app.accounts.models import Account, ApiToken
from app.assets.models import Asset
from app.db import Base
from app.regions.models import Region
from app.rules.models import AssetFlag

metadata = Base.metadata

__all__ = ["Account", "ApiToken", "Asset", "AssetFlag", "Region", "metadata"]
