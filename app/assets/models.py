"""The ledger: one row per asset, common and category fields as typed columns."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, BigId, TimestampMixin


class Asset(TimestampMixin, Base):
    """A surveyed piece of equipment. Category fields of other categories stay NULL.

    One wide table (not JSON, not per-category tables): rules compare typed columns directly in
    SQL, indexes serve the list filters, and a NULL costs one bit per row on PostgreSQL.
    """

    __tablename__ = "assets"
    __table_args__ = (
        UniqueConstraint("category", "asset_code"),
        Index("ix_assets_region_code_id", "region_code", "id"),
        Index("ix_assets_category_region_code_id", "category", "region_code", "id"),
        Index("ix_assets_status_id", "status", "id"),
        Index("ix_assets_commissioned_on_id", "commissioned_on", "id"),
        Index("ix_assets_last_batch_id", "last_batch_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    asset_code: Mapped[str] = mapped_column(String(64))
    """Natural key within a category (注册代码, 钢瓶编号, 车牌号, 管段编号…)."""
    category: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(6), ForeignKey("regions.code"))
    name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    community: Mapped[str | None] = mapped_column(String(200))
    building: Mapped[str | None] = mapped_column(String(64))
    unit: Mapped[str | None] = mapped_column(String(64))
    owner: Mapped[str | None] = mapped_column(String(200))
    operator: Mapped[str | None] = mapped_column(String(200))
    commissioned_on: Mapped[date | None]
    """Age basis for most rules."""
    manufactured_on: Mapped[date | None]
    standard: Mapped[str | None] = mapped_column(String(64))
    design_life_years: Mapped[int | None]
    last_inspection_on: Mapped[date | None]
    inspection_result: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="in_service")
    surveyed_on: Mapped[date | None]
    unit_cost: Mapped[Decimal | None]
    """万元 per unit; overrides the category cost model when set."""

    # elevator
    building_use: Mapped[str | None] = mapped_column(String(16))
    elevator_kind: Mapped[str | None] = mapped_column(String(16))
    floors: Mapped[int | None]
    rated_load_kg: Mapped[int | None]
    rated_speed_mps: Mapped[Decimal | None]
    faults_12m: Mapped[int | None]
    scrap_conditions_met: Mapped[bool | None]
    assessment_result: Mapped[str | None] = mapped_column(String(16))
    assessed_on: Mapped[date | None]
    owners_agree: Mapped[bool | None]
    # water_pump
    setting: Mapped[str | None] = mapped_column(String(24))
    rated_power_kw: Mapped[Decimal | None]
    efficiency_grade: Mapped[str | None] = mapped_column(String(16))
    on_elimination_list: Mapped[bool | None]
    affects_water_quality: Mapped[bool | None]
    damaged: Mapped[bool | None]
    # boiler
    fuel: Mapped[str | None] = mapped_column(String(16))
    capacity_tph: Mapped[Decimal | None]
    emissions_compliant: Mapped[bool | None]
    # gas_pipe
    material: Mapped[str | None] = mapped_column(String(24))
    pipe_level: Mapped[str | None] = mapped_column(String(16))
    length_m: Mapped[Decimal | None]
    diameter_mm: Mapped[int | None]
    pressure_class: Mapped[str | None] = mapped_column(String(16))
    converted_from_other_gas: Mapped[bool | None]
    severe_corrosion: Mapped[bool | None]
    crosses_enclosed_space: Mapped[bool | None]
    safety_distance_ok: Mapped[bool | None]
    # lpg_cylinder
    model: Mapped[str | None] = mapped_column(String(16))
    life_extended_until: Mapped[date | None]
    phase: Mapped[str | None] = mapped_column(String(16))
    has_electronic_tag: Mapped[bool | None]
    filling_station: Mapped[str | None] = mapped_column(String(200))
    # sanitation_vehicle
    plate_no: Mapped[str | None] = mapped_column(String(16))
    vehicle_kind: Mapped[str | None] = mapped_column(String(16))
    emission_stage: Mapped[int | None]
    registered_on: Mapped[date | None]
    mileage_km: Mapped[int | None]
    has_cargo_function: Mapped[bool | None]

    # derived and bookkeeping
    renewed_on: Mapped[date | None]
    """Date the asset was recorded as renewed or retired."""
    last_batch_id: Mapped[int | None]
    """Import batch that last created or changed this asset."""


SPEC_COLUMNS_EXCLUDED = frozenset({"id", "renewed_on", "last_batch_id", "created_at", "updated_at"})
