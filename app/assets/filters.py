"""Query parameters naming a category or a status, by code or by the Chinese label exports use.

`category=电梯` is `category=elevator`, `status=已更新` is `status=renewed`; the OpenAPI enum
lists the codes and the labels, so the schema and the server agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import Query

from app.assets.spec import CATEGORIES, FIELDS_BY_NAME
from app.kit.labels import to_code, words

STATUS_LABELS = FIELDS_BY_NAME["status"].choices
CATEGORY_WORDS = words(CATEGORIES)
STATUS_WORDS = words(STATUS_LABELS)

if TYPE_CHECKING:
    CategoryFilter = str | None
    StatusFilter = str | None
else:
    CategoryFilter = Annotated[
        Literal[CATEGORY_WORDS] | None,
        Query(description="设备类别:代码(elevator…)或中文名称(电梯、燃气管道…)"),
    ]
    StatusFilter = Annotated[
        Literal[STATUS_WORDS] | None,
        Query(description="设备状态:代码(in_service…)或中文(在用、更新中、已更新、已报废…)"),
    ]


def category_code(value: str | None) -> str | None:
    """The category code of a code or Chinese name."""
    return to_code(CATEGORIES, value)


def status_code(value: str | None) -> str | None:
    """The status code of a code or Chinese label."""
    return to_code(STATUS_LABELS, value)
