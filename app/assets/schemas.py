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
    WithJsonSchema,
    create_model,
)

from app.assets.notations import AMBIGUOUS, JSON_SCHEMAS, PRE_PARSERS, refuse_ambiguous
from app.assets.spec import (
    CATEGORIES,
    FieldSpec,
    choices_for,
    enum_index,
    fields_for,
    is_required,
    labels_for,
    upper_bound,
)
from app.kit.labels import AMOUNT_HELP, DATE_HELP, Day, LedgerDay, Money
from app.kit.values import norm


def _enum_code(spec: FieldSpec, category: str, index: dict[str, str], value: Any) -> Any:
    """An enum value given by its label or a variant → its code; a word that could mean several
    codes (铸铁) is refused naming them; anything else is left as is, for the Literal to refuse."""
    if isinstance(value, str):
        code = index.get(norm(value))
        if code is None:
            refuse_ambiguous(spec, category, value)
        return code or value
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


IsoDate = Day
"""A date field of the API (the name predates the Chinese notations it now takes)."""
REGION_CODE_OR_NAME = r"^(\d{6}|.*\D.*)$"
"""A region as the API takes it: a six-digit code, or a name (河南省郑州市中原区, any text that is
not only digits) the service resolves, a 422 naming the field when it knows no such division.
(Spelled without a class of Chinese characters: schemathesis reads patterns as ASCII, and
hypothesis cannot draw from an ASCII reading of a non-ASCII class.)"""


def _annotation(spec: FieldSpec, category: str) -> Any:
    """The Python type of a field in one category's schema."""
    if spec.kind == "enum":
        if spec.name == "category":
            return Literal[category]
        # codes, or the labels and variants survey sheets use (合格, YSP-5), as the import takes
        return Annotated[
            Literal[choices_for(spec, category)],
            BeforeValidator(partial(_enum_code, spec, category, enum_index(spec, category))),
        ]
    if spec.kind == "date":
        return LedgerDay
    if spec.kind == "bool":
        return StrictBool
    if spec.kind == "int":
        if spec.name in PRE_PARSERS:
            return Annotated[
                int,
                Field(ge=spec.minimum, le=upper_bound(spec)),
                BeforeValidator(PRE_PARSERS[spec.name]),
                WithJsonSchema(JSON_SCHEMAS[spec.name]),
            ]
        return Annotated[int, Field(ge=spec.minimum, le=upper_bound(spec))]
    if spec.kind == "decimal" and spec.unit == "万元":
        return Money
    if spec.kind == "decimal":
        return Annotated[Decimal, Field(ge=spec.minimum, max_digits=14, decimal_places=4)]
    return Annotated[str, BeforeValidator(_strip), Field(min_length=1, max_length=spec.max_length)]


def _description(spec: FieldSpec, category: str) -> str | None:
    """What a field's OpenAPI description says about the notations it takes."""
    if spec.kind == "enum" and spec.name != "category":
        words = "; ".join(
            f"{code} " + "、".join(labels) for code, labels in labels_for(spec, category).items()
        )
        ambiguous = "、".join(AMBIGUOUS.get(spec.name, {}))
        return f"{spec.label}:代码或中文写法({words})" + (
            f";{ambiguous} 不明确,不收" if ambiguous else ""
        )
    if spec.kind == "date":
        return f"{spec.label};{DATE_HELP}(只写年月为该月1日)"
    if spec.kind == "decimal" and spec.unit == "万元":
        return f"{spec.label},{AMOUNT_HELP}"
    if spec.name in JSON_SCHEMAS:
        return f"{spec.label},{JSON_SCHEMAS[spec.name]['description']}"
    return None


def _default(value: Any, description: str | None) -> Any:
    """A field's default, with its description at field level (inside a `| None` union it would
    describe only the non-null branch); no description leaves the type's own."""
    return Field(value, description=description) if description else value


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
        text = _description(spec, category)
        if spec.name == "status":
            fields[spec.name] = (ann, _default("in_service", text))
        elif is_required(spec, category):
            fields[spec.name] = (ann, _default(..., text))
        else:
            fields[spec.name] = (ann | None, _default(None, text))
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
