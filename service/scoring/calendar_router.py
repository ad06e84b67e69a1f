"""HTTP for the working-day override table.

With scoring, because setting a day re-scores the late dossiers it spans
(calendar_days.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session

from service.calendar.overrides import day_status, list_overrides
from service.scoring.calendar_days import set_day, unset_day
from service.text_clean import Storable
from service.web.deps import ApiWork, ManagerWork
from service.web.errors import error_responses
from service.web.params import DayPath
from service.web.schemas import Flag

router = APIRouter(prefix="/api/v1/calendar", tags=["calendar"])


class OverrideUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    working: Annotated[bool, Flag]
    note: Annotated[str, Storable] | None = Field(default=None, max_length=255)


class DayPublic(BaseModel):
    date: date
    working: bool
    overridden: bool
    note: str | None
    dossiers_rescored: int = 0


class OverrideList(BaseModel):
    data: list[DayPublic]
    count: int


@router.get(
    "/overrides",
    response_model=OverrideList,
    responses=error_responses(401, 403),
    summary="Every local override, by day: the days off and make-up days entered here",
)
async def list_days(work: ApiWork) -> OverrideList:
    def read(session: Session) -> OverrideList:
        work.principal(session)
        data = [
            DayPublic(date=o.day, working=o.working, overridden=True, note=o.note)
            for o in list_overrides(session)
        ]
        return OverrideList(data=data, count=len(data))

    return await work.run(read)


@router.get(
    "/overrides/{date}",
    response_model=DayPublic,
    responses=error_responses(401, 403, 422),  # 403: a kiosk tablet's device key
    summary="Whether a day is a working day, and whether an override says so",
)
async def get_day(day: DayPath, work: ApiWork) -> DayPublic:
    def read(session: Session) -> DayPublic:
        work.principal(session)
        working, override = day_status(session, day)
        return DayPublic(
            date=day,
            working=working,
            overridden=override is not None,
            note=override.note if override else None,
        )

    return await work.run(read)


@router.put(
    "/overrides/{date}",
    response_model=DayPublic,
    responses=error_responses(401, 403, 422),
    summary="Declare a day off or a make-up working day; late dossiers are re-scored",
)
async def put_day(day: DayPath, update: OverrideUpdate, work: ManagerWork) -> DayPublic:
    def write(session: Session) -> DayPublic:
        # An input (API.md): an admin's, or a manager's of every agency's ancestor, i.e.
        # unscoped: a day off moves every agency's deadlines and scores.
        principal = work.principal(session)
        principal.require_unscoped("The calendar")
        override, moved = set_day(
            session, day, update.working, update.note, actor=principal.actor, profile=work.profile
        )
        return DayPublic(
            date=day,
            working=override.working,
            overridden=True,
            note=override.note,
            dossiers_rescored=moved,
        )

    return await work.run(write)


@router.delete(
    "/overrides/{date}",
    response_model=DayPublic,
    responses=error_responses(401, 403, 422),
    summary="Remove a day's override: the national calendar says again; late dossiers are "
    "re-scored (a day without one: nothing to do, 200)",
)
async def delete_day(day: DayPath, work: ManagerWork) -> DayPublic:
    def write(session: Session) -> DayPublic:
        principal = work.principal(session)
        principal.require_unscoped("The calendar")
        moved = unset_day(session, day, actor=principal.actor, profile=work.profile)
        working, _ = day_status(session, day)
        return DayPublic(
            date=day, working=working, overridden=False, note=None, dossiers_rescored=moved or 0
        )

    return await work.run(write)
