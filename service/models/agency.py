"""Agencies (with their hierarchy), their staff and their counters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ColumnElement, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from service.models.base import UTCDateTime, utcnow

# The materialised path's width: ~15 levels of 64-character codes, far more than a
# province's tree; admin/agencies.py refuses an agency (or a move) that would pass it.
AGENCY_PATH_MAX = 1024


def path_within(path: Any, scope_path: str) -> ColumnElement[bool]:
    """SQL for `Agency.is_within`: `path` (an agency's path column) is `scope_path` or
    below it. A prefix match that takes '%' and '_' in codes as themselves, and minds case
    on both databases (SQLite's LIKE would not: db.py turns case_sensitive_like on), so
    that a key scoped to 'sb' never reaches 'SB' or 'S_B' never 'SXB'."""
    within: ColumnElement[bool] = path.startswith(scope_path, autoescape=True)
    return within


class Agency(SQLModel, table=True):
    __tablename__ = "agency"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=255)
    parent_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    # Depth in the tree: 0 for a province, 1 for its departments and wards, ...
    level: int = 0
    # Materialised path of codes, "/79/G22/G22.39/": "this agency and its descendants"
    # becomes one indexed prefix match instead of a recursive query on every request.
    path: str = Field(sa_column=Column(String(AGENCY_PATH_MAX), nullable=False, index=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    def is_within(self, scope_path: str) -> bool:
        """This agency is the one at `scope_path` or below it in the tree."""
        return self.path.startswith(scope_path)


class _CodeOfAgency(SQLModel):
    """A code an agency's handovers name, registered on its first use: a staff member or a
    counter, unique within the agency."""

    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    code: str = Field(max_length=64)


class Staff(_CodeOfAgency, table=True):
    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    display_name: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Counter(_CodeOfAgency, table=True):
    __tablename__ = "counter"
    __table_args__ = (UniqueConstraint("agency_id", "code"),)

    name: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
