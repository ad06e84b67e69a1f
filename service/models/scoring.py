"""Day counters behind every score, the calendar overrides, and the scoring state."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from service.models.base import ACTOR_MAX, UTCDateTime, utcnow

# The counted quantities, shared by agency and staff rows. A score for any period is the sum
# of its days' rows: reading never touches dossiers, responses or petitions.
COUNT_COLUMNS = (
    "resolved",  # dossiers resolved that day (A's denominator, group 5 c's denominator)
    "a_on_time",
    "a_late_grace",  # late by at most `late_zero_after_working_days` working days
    "a_late_over",  # later than that, or overdue by supplements where the profile says so
    "c_bad_dossiers",  # unsatisfied evaluation, petition about it, or overdue (group 5 c)
    "evaluations",
    "b_answered",
    "b_points",
    "c_answered",
    "c_points",
    "petitions",
    "petitions_in_authority",
    "petitions_in_authority_on_time",
    "petitions_bad",  # handled, and: unsatisfied verdict, result complaint, or late (rate b)
    # Petitions not handled yet. Whether one counts, and how, depends on the moment it is
    # read (it ages by itself past its deadline): reading adds the overdue ones from the
    # petition table (service/scoring/aging.py), so no counter has to move with the clock.
    "petitions_open",
    "petitions_open_in_authority",
    # TT 01/2018 points (profiles/tt-01-2018.toml), 0 unless that profile is computed beside
    # the K score: indicator 1 over resolved dossiers; 3, 4, 7 over the evaluations that
    # answered their question (3 and 7 share B's and C's counts; 4 has its own).
    "tt_time_points",
    "tt_returns_points",
    "tt_contacts_answered",
    "tt_contacts_points",
    "tt_attitude_points",
)


class _Counts(SQLModel):
    resolved: int = 0
    a_on_time: int = 0
    a_late_grace: int = 0
    a_late_over: int = 0
    c_bad_dossiers: int = 0
    evaluations: int = 0
    b_answered: int = 0
    b_points: int = 0
    c_answered: int = 0
    c_points: int = 0
    petitions: int = 0
    petitions_in_authority: int = 0
    petitions_in_authority_on_time: int = 0
    petitions_bad: int = 0
    petitions_open: int = 0
    petitions_open_in_authority: int = 0
    tt_time_points: int = 0
    tt_returns_points: int = 0
    tt_contacts_answered: int = 0
    tt_contacts_points: int = 0
    tt_attitude_points: int = 0


class AgencyDayCounter(_Counts, table=True):
    __tablename__ = "agency_day_counter"

    agency_id: int = Field(foreign_key="agency.id", primary_key=True)
    day: date = Field(primary_key=True)


class StaffDayCounter(_Counts, table=True):
    __tablename__ = "staff_day_counter"

    staff_id: int = Field(foreign_key="staff.id", primary_key=True)
    day: date = Field(primary_key=True)


class CalendarOverride(SQLModel, table=True):
    """A day the government moved: a weekday off, or a weekend make-up working day."""

    __tablename__ = "calendar_override"

    day: date = Field(primary_key=True)
    working: bool
    note: str | None = Field(default=None, max_length=255)
    set_by: str = Field(max_length=ACTOR_MAX)
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoringState(SQLModel, table=True):
    """Which profile the counters were built with; a different one triggers a rebuild.
    `rules_fingerprint`: the whole profile the service last started with (rules read when a
    score is read too); a different one announces every score. None until the first start
    after migration 0020."""

    __tablename__ = "scoring_state"

    id: int = Field(default=1, primary_key=True)
    profile_fingerprint: str = Field(max_length=64)
    rules_fingerprint: str | None = Field(default=None, max_length=64)
    rebuilt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
