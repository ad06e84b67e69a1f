"""Sync and async clients over httpx; both speak the same small surface."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from hailong_client.errors import raise_for_error
from hailong_client.models import Agency, Survey


def _handover_body(
    dossier_code: str, agency_code: str, resolved_at: datetime, extra: dict[str, Any]
) -> dict[str, Any]:
    if resolved_at.tzinfo is None:
        raise ValueError("resolved_at needs a time zone (hailong refuses naive times)")
    body: dict[str, Any] = {
        "dossier_code": dossier_code,
        "agency_code": agency_code,
        "resolved_at": resolved_at.isoformat(),
    }
    for name, value in extra.items():
        if value is not None:
            body[name] = value.isoformat() if isinstance(value, datetime) else value
    return body


def _headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}", "User-Agent": "hailong-client/0.1"}


class HailongClient:
    """hailong for one-stop systems and portals (synchronous)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    def __enter__(self) -> HailongClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def issue_survey(
        self, dossier_code: str, agency_code: str, resolved_at: datetime, **facts: Any
    ) -> Survey:
        """POST /api/v1/handovers. Safe to repeat: the same dossier keeps its survey."""
        response = self._http.post(
            "/api/v1/handovers", json=_handover_body(dossier_code, agency_code, resolved_at, facts)
        )
        raise_for_error(response)
        return Survey.from_response(response.json(), created=response.status_code == 201)

    def revoke_survey(self, dossier_code: str) -> Survey:
        response = self._http.post(f"/api/v1/handovers/{dossier_code}/revoke")
        raise_for_error(response)
        return Survey.from_response(response.json(), created=False)

    def agencies(self) -> list[Agency]:
        response = self._http.get("/api/v1/agencies")
        raise_for_error(response)
        return [Agency(**a) for a in response.json()["data"]]


class AsyncHailongClient:
    """hailong for one-stop systems and portals (asyncio)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=_headers(api_key), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> AsyncHailongClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def issue_survey(
        self, dossier_code: str, agency_code: str, resolved_at: datetime, **facts: Any
    ) -> Survey:
        response = await self._http.post(
            "/api/v1/handovers", json=_handover_body(dossier_code, agency_code, resolved_at, facts)
        )
        raise_for_error(response)
        return Survey.from_response(response.json(), created=response.status_code == 201)

    async def revoke_survey(self, dossier_code: str) -> Survey:
        response = await self._http.post(f"/api/v1/handovers/{dossier_code}/revoke")
        raise_for_error(response)
        return Survey.from_response(response.json(), created=False)

    async def agencies(self) -> list[Agency]:
        response = await self._http.get("/api/v1/agencies")
        raise_for_error(response)
        return [Agency(**a) for a in response.json()["data"]]
