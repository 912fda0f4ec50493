"""Pydantic I/O for assets: one create schema per category, generated from the column spec."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    create_model,
)

from app.assets.spec import (
    CATEGORIES,
    FieldSpec,
    choices_for,
    enum_index,
    fields_for,
    is_required,
)
from app.kit.values import norm


def _iso_date(value: Any) -> Any:
    """The API takes ISO dates only (YYYY-MM-DD); lenient parsing belongs to the import."""
    if isinstance(value, datetime):
        raise ValueError("应为日期 YYYY-MM-DD,不能带时间")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value) if len(value) == 10 else _bad_date()
        except ValueError:
            _bad_date()
    _bad_date()


def _bad_date() -> Any:
    raise ValueError("应为日期 YYYY-MM-DD(如 2015-06-30)")


def _enum_code(index: dict[str, str], value: Any) -> Any:
    """An enum value given by its label or a variant → its code (anything else is left as is,
    for the Literal to refuse)."""
    if isinstance(value, str):
        return index.get(norm(value), value)
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
REGION_CODE_OR_NAME = r"^(\d{6}|.*[一-鿿].*)$"
"""A region as the API takes it: a six-digit code, or a name in Chinese the service resolves."""


def _annotation(spec: FieldSpec, category: str) -> Any:
    """The Python type of a field in one category's schema."""
    if spec.kind == "enum":
        if spec.name == "category":
            return Literal[category]
        # codes, or the labels and variants survey sheets use (合格, YSP-5), as the import takes
        return Annotated[
            Literal[choices_for(spec, category)],
            BeforeValidator(partial(_enum_code, enum_index(spec, category))),
        ]
    if spec.kind == "date":
        return IsoDate
    if spec.kind == "bool":
        return StrictBool
    if spec.kind == "int":
        return Annotated[int, Field(ge=spec.minimum, le=spec.maximum)]
    if spec.kind == "decimal":
        return Annotated[Decimal, Field(ge=spec.minimum, max_digits=14, decimal_places=4)]
    return Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=spec.max_length)]


class _AssetBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _category_model(category: str) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for spec in fields_for(category):
        ann = _annotation(spec, category)
        if spec.name == "region_code":
            # a 6-digit code, or a name (河南省郑州市中原区) the service resolves
            ann = Annotated[
                str,
                BeforeValidator(_strip),
                Field(
                    min_length=1,
                    max_length=64,
                    pattern=REGION_CODE_OR_NAME,
                    description="6 位行政区划代码,或区划名称(河南省郑州市中原区、中原区)",
                    # pydantic leaves a pattern behind a validator out of the JSON schema
                    json_schema_extra={"pattern": REGION_CODE_OR_NAME},
                ),
            ]
        if spec.name == "status":
            fields[spec.name] = (ann, "in_service")
        elif is_required(spec, category):
            fields[spec.name] = (ann, ...)
        else:
            fields[spec.name] = (ann | None, None)
    name = "".join(p.title() for p in category.split("_")) + "Create"
    return create_model(name, __base__=_AssetBase, **fields)


CREATE_MODELS: dict[str, type[BaseModel]] = {c: _category_model(c) for c in CATEGORIES}
"""Per-category create schemas; the API and the import validate with these same models."""

if TYPE_CHECKING:
    AssetCreate = BaseModel
else:
    AssetCreate = Annotated[
        Union[tuple(CREATE_MODELS.values())],  # noqa: UP007
        Field(discriminator="category"),
    ]
    """Request body of POST /assets: the category's schema, chosen by `category`."""


class AssetRead(BaseModel):
    """An asset as the API returns it: common fields, its category's fields, and its flag status."""

    model_config = ConfigDict(extra="allow")

    id: int
    asset_code: str
    category: str
    region_code: str
    status: str
    flag_status: str | None = None
    renewed_on: date | None = None
    last_batch_id: int | None = None
    created_at: datetime
    updated_at: datetime


class AssetList(BaseModel):
    """A page of assets with the cursor of the next page (null on the last page)."""

    items: list[AssetRead]
    next_cursor: str | None
    limit: int
