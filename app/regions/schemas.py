"""Region I/O."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RegionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    level: str
    parent_code: str | None
    full_name: str
