"""How surveys and API callers write some fields, beyond a plain number or an enum label.

The import's fast converters (app/imports/convert.py) and the create schemas
(app/assets/schemas.py) both read this module, so a notation is accepted, or refused with the
same message, on both paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.assets.spec import INT_MAX, FieldSpec, label_of
from app.kit.values import DN_PATTERN, nominal_diameter, norm

PRE_PARSERS: dict[str, Callable[[Any], Any]] = {"diameter_mm": nominal_diameter}
"""Field → parser of its text notations (DN150 → 150), applied before the field's own type."""
JSON_SCHEMAS: dict[str, dict[str, Any]] = {
    "diameter_mm": {
        "anyOf": [
            {"type": "integer", "minimum": 0, "maximum": INT_MAX},
            {"type": "string", "pattern": DN_PATTERN, "examples": ["DN150"]},
        ],
        "description": "公称直径 DN(毫米):150、DN150、DN 150、150mm;"
        "外径写法(Φ159、φ159×6、De110)不收,请换算成 DN",
    }
}
"""Field → its OpenAPI schema where the text notations widen the type."""

AMBIGUOUS: dict[str, dict[str, tuple[str, ...]]] = {
    "material": dict.fromkeys(
        ("铸铁", "铸铁管", "铸管", "cast_iron"), ("grey_cast_iron", "ductile_iron")
    ),
}
"""Field → words that could mean several codes: refused with a message naming the choices."""
_AMBIGUOUS = {
    field: {norm(w): codes for w, codes in words.items()} for field, words in AMBIGUOUS.items()
}


def refuse_ambiguous(spec: FieldSpec, category: str, value: Any) -> None:
    """A ValueError naming the choices when `value` is a word that could mean several codes."""
    codes = _AMBIGUOUS.get(spec.name, {}).get(norm(str(value)))
    if codes is not None:
        choices = " 或 ".join(label_of(spec, c, category) for c in codes)
        raise ValueError(f"{spec.label}「{str(value).strip()}」不明确:请写明 {choices}")
