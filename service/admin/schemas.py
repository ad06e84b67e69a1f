"""API shapes for the agency tree."""

from __future__ import annotations

from pydantic import BaseModel


class AgencyPublic(BaseModel):
    code: str
    name: str
    parent_code: str | None
    level: int


class AgencyList(BaseModel):
    data: list[AgencyPublic]
    count: int
