"""API shapes of TT 01/2018 scores (`profile=tt-01-2018`): per agency and per dossier."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from service.profile import Tt01Key
from service.scoring.schemas import CountsPublic, InputEntry

Basis = Literal["dossiers", "evaluations", "petitions", "entered"]


class Tt01IndicatorPublic(BaseModel):
    number: int = Field(description="1..9, the circular's order")
    key: Tt01Key
    name: str = Field(description="The indicator's name in Vietnamese")
    points: float | None = Field(description="0..max_points; null: nothing to score it on")
    max_points: int
    basis: Basis = Field(description="What it is the mean over, or 'entered' by the authority")
    count: int | None = Field(description="How many dossiers, evaluations or petitions")
    entered_from: str | None = Field(
        default=None,
        description="An entered indicator (5, 6, 9) the agency's period has none of its own "
        "for: where its value comes from, the quarter a month takes it from ('2025-Q3') or "
        "the quarters a year's is the exact mean of ('mean of 2025-Q1..Q4 (4 quarters)'); "
        "null where entered for the period itself, not entered, or for a dossier (its "
        "`period` says whose it takes)",
    )


class Tt01Totals(BaseModel):
    indicators: list[Tt01IndicatorPublic]
    total: float | None = Field(description="The sum of the nine; null while one is missing")
    total_min: float
    total_max: float = Field(description="What the total can still reach")
    max_total: int
    classification: str = Field(
        description="The profile's class of the total (tot, dat, khong_dat), or "
        "chua_du_du_lieu while an indicator is missing"
    )
    missing: list[Tt01Key]


class Tt01Score(Tt01Totals):
    agency_code: str
    agency_name: str
    period: str
    profile: str
    rank: int | None = Field(description="Among siblings (same parent) by total; ties share")
    entered: InputEntry | None = Field(description="Who last entered indicators 5, 6, 9")
    counts: CountsPublic
    computed_at: datetime


class Tt01ScoreList(BaseModel):
    data: list[Tt01Score]
    count: int


class DossierTt01Score(Tt01Totals):
    dossier_code: str
    agency_code: str
    period: str = Field(description="The period whose entered indicators it takes")
    profile: str
    evaluated: bool
