"""HTTP for the working-day override table."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from service.calendar.service import set_day
from service.calendar.working_days import is_working_day
from service.deps import AdminKey, AnyKey, ProfileDep, SessionDep
from service.errors import error_responses
from service.models import CalendarOverride

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])
DayPath = Annotated[date, Path(description="A date, YYYY-MM-DD")]


class OverrideUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: bool
    note: str | None = Field(default=None, max_length=255)


class DayPublic(BaseModel):
    date: date
    working: bool
    overridden: bool
    note: str | None
    dossiers_rescored: int = 0


@router.get(
    "/overrides/{day}",
    response_model=DayPublic,
    responses=error_responses(401, 422),
    summary="Whether a day is a working day, and whether an override says so",
)
def get_day(day: DayPath, principal: AnyKey, session: SessionDep) -> DayPublic:
    override = session.get(CalendarOverride, day)
    working = override.working if override else is_working_day(day)
    return DayPublic(
        date=day,
        working=working,
        overridden=override is not None,
        note=override.note if override else None,
    )


@router.put(
    "/overrides/{day}",
    response_model=DayPublic,
    responses=error_responses(401, 403, 422),
    summary="Declare a day off or a make-up working day; late dossiers are re-scored",
)
def put_day(
    day: DayPath,
    update: OverrideUpdate,
    principal: AdminKey,
    session: SessionDep,
    profile: ProfileDep,
) -> DayPublic:
    override, moved = set_day(
        session, day, update.working, update.note, actor=principal.actor, profile=profile
    )
    return DayPublic(
        date=day,
        working=override.working,
        overridden=True,
        note=override.note,
        dossiers_rescored=moved,
    )
