"""Small converters between the API's JSON and Python values (Python 3.10 compatible)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

JSON = dict[str, Any]


def to_datetime(value: Any) -> datetime:
    text = str(value)
    if text.endswith(("Z", "z")):  # fromisoformat() accepts "Z" only from Python 3.11
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def to_datetime_or_none(value: Any) -> datetime | None:
    return None if value is None else to_datetime(value)


def to_float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def aware_iso(value: datetime, name: str) -> str:
    """hailong refuses naive times: say so before sending anything."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} needs a time zone (hailong refuses naive times)")
    return value.isoformat()
