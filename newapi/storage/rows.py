"""ORM objects as plain dicts keyed by attribute (= New API's JSON field) names."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import inspect

from newapi.storage.tables import Base


@cache
def _attribute_names(model: type[Base]) -> tuple[str, ...]:
    return tuple(attr.key for attr in inspect(model).column_attrs)


def as_dict(obj: Base, exclude: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in _attribute_names(type(obj)) if name not in exclude}
