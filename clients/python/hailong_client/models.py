"""What the API returns, as typed records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Survey:
    survey_id: str
    dossier_code: str
    survey_url: str
    short_code: str
    qr_svg_url: str
    qr_png_url: str
    slip_url: str
    expires_at: datetime
    status: str
    created: bool  # False when the dossier was already known (HTTP 200)

    @classmethod
    def from_response(cls, body: dict[str, Any], created: bool) -> Survey:
        return cls(
            **{**body, "expires_at": datetime.fromisoformat(body["expires_at"])},
            created=created,
        )


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    parent_code: str | None
    level: int
