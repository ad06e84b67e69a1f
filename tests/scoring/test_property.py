"""Live counters = a full recompute = a plain reference implementation.

Hypothesis generates streams of events and replays them through the real app's public API:
handovers (new dossiers, and re-posts that move the resolution time across month, quarter
and year boundaries, change the due time, the supplement requests, the staff or the agency),
evaluations (backdated with an admin key across period boundaries, some with complaints,
which open petitions), petition imports and updates, calendar overrides (days off and
make-up working days around National Day, quarter ends, the new year and Tết) and period
inputs D and E. Times are written in several UTC offsets, close to local midnight, so that
cutting periods in Asia/Ho_Chi_Minh matters.

After each stream the test reads every score (agency and staff) the stream touched and
compares it with tests/scoring/reference.py, computed from the final state it tracked;
then it snapshots the day counters, rebuilds them from the raw rows, checks the two
snapshots are equal, and reads and compares the scores once more.

Each example runs on a fresh database with an app in its initial state (see `fresh_database`
and `fresh_app`).

Known service bugs found by this test are pinned by the strict xfail tests at the end of
this file; the generator keeps away from exactly those cases (see `Features`), so the
property test stays a guard for everything else.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from fractions import Fraction
from typing import Any, Literal

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import event as label
from hypothesis import strategies as st
from sqlmodel import col, select

from service.admin.agencies import upsert_agency
from service.admin.keys import create_key
from service.calendar.working_days import LOCAL_TZ, local_date
from service.db import make_engine, transaction
from service.models import (
    COUNT_COLUMNS,
    AgencyDayCounter,
    Dossier,
    Invitation,
    Response,
    StaffDayCounter,
    utcnow,
)
from service.profile import PROFILES_DIR, Profile, load_profile
from service.scoring.rebuild import rebuild
from service.settings import Settings
from service.timebounds import CLOCKS_APART
from tests.conftest import TEST_SECRET, Backend, ReusedApp
from tests.scoring import reference
from tests.scoring.reference import Expected, ExpectedStaff, World

AGENCIES: dict[str, str | None] = {
    "79": None,
    "79.BTH": "79",
    "79.SGN": "79",
    "79.STP": "79",
    "G22.39": "79",
}
WARDS = ("79.BTH", "79.SGN", "G22.39")
STAFF = ("CB1", "CB2", "CB3")
SLOTS = 10  # dossier codes HS-0 .. HS-9: a slot seen again is a re-post
PETITION_CODES = ("PAKN-1", "PAKN-2", "PAKN-3")
# Where the generated days cluster: 30/4-2/5/2025 with the make-up Saturday 26/4, quarter
# and year ends, National Day (1-2/9/2025), Tết 2026 (16-20/2). Every day lies in the past,
# as handovers require.
ANCHORS: tuple[date, ...] = (date(2025, 4, 30), date(2025, 6, 30), date(2025, 8, 31))
ANCHORS += (date(2025, 9, 30), date(2025, 12, 31), date(2026, 2, 16))
# And the last weeks: days months in the past made every open petition late by the time the
# scores were read, so "open within its deadline" (and the siblings cache's next deadline)
# never met the reference (rules audit). Twelve days back, streams end before today.
ANCHORS += (local_date(utcnow()) - timedelta(days=12),)
SPREAD = 10  # days either side of an anchor
OFFSETS = (7, 0, -5, 9)  # the UTC offsets times are written in (hours)
D_VALUES = ("unset", None, 0.0, 12.5, 16.0, 17.0, 17.5, 18.0)
E_VALUES = ("unset", None, 0, 1, 1)
EMPTY_PERIOD = "2025-03"  # nothing is generated there: every score must be empty
# The counter column the live path never writes on staff rows but the rebuild does (see
# test_staff_counters_rebuild_like_live below); compared everywhere else.
STAFF_COLUMN_LIVE_SKIPS = "c_bad_dossiers"

Unset = Literal["unset"]


# --- the events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Moment:
    """A local wall-clock time in Ho Chi Minh City, written in the API with another offset."""

    day: date
    hour: int
    minute: int = 0
    offset: int = 7

    @property
    def at(self) -> datetime:
        return datetime.combine(self.day, time(self.hour, self.minute), LOCAL_TZ)

    def __repr__(self) -> str:
        return f"M({self.day} {self.hour:02d}:{self.minute:02d} local, written {self.offset:+d})"


@dataclass(frozen=True)
class Due:
    """A due time `days` after the local day of resolution (negative: before it)."""

    days: int
    hour: int
    minute: int = 0
    offset: int = 7


@dataclass(frozen=True)
class Handover:
    slot: int
    agency: str
    resolved: Moment
    due: Due | None = None
    lead_days: int | None = 3  # received_at this many days before min(due, resolved)
    supplements: int = 0
    handling: str | None = None
    returning: str | None = None
    receiving: str | None = None


@dataclass(frozen=True)
class MoveResolved:  # re-post: the same dossier resolved at another time (due unchanged)
    slot: int
    resolved: Moment


@dataclass(frozen=True)
class ChangeDue:  # re-post: another due time, or none
    slot: int
    due: Due | None


@dataclass(frozen=True)
class ChangeSupplements:
    slot: int
    supplements: int


@dataclass(frozen=True)
class ChangeStaff:
    slot: int
    role: Literal["receiving", "handling", "returning"]
    code: str | None


@dataclass(frozen=True)
class Answer:
    slot: int
    supplement_requests: str | None  # None: not answered (an admin's import may leave it)
    staff_attitude: str | None
    overall: str | None  # None: not answered (only where the profile allows it)
    at: Moment | None  # None: now, without submitted_at
    complaint: bool = False
    timeliness: str = "on_time"
    wants_reply: bool = False  # the complaint asks for an answer (a "phản ánh")


@dataclass(frozen=True)
class Handled:
    days: int  # after receipt; or, near_deadline, after the local day of the deadline
    hours: int = 0  # added to receipt; or, near_deadline, the local hour
    offset: int = 7
    near_deadline: bool = False


@dataclass(frozen=True)
class PetitionEvent:
    target: str  # a petition code, or "HL": the complaint petition of dossier_slot
    agency: str
    dossier_slot: int | None
    received: Moment
    handled: Handled | None = None
    deadline_days: int | None = None  # explicit deadline this many days after receipt
    verdict: Literal["satisfied", "unsatisfied"] | None = None
    result_complaint: bool = False
    within_authority: bool = True
    unlink: bool = False  # no dossier_slot: send dossier_code null (detach), else leave it out


@dataclass(frozen=True)
class Override:
    day: date
    working: bool


@dataclass(frozen=True)
class OverrideInSpan:  # a day `nth` days after a late dossier's local due day (or before its
    slot: int  # local resolution day): where its overdue working days are counted
    nth: int
    working: bool
    from_resolution: bool = False


@dataclass(frozen=True)
class Inputs:
    agency: str
    period: str
    d: float | Unset | None = "unset"
    e: int | Unset | None = "unset"


@dataclass(frozen=True)
class InputsWhereDossier:  # D and E for the agency and month/quarter/year of a dossier
    slot: int
    kind: Literal["month", "quarter", "year"]
    d: float | Unset | None = "unset"
    e: int | Unset | None = "unset"


Event = (
    Handover
    | MoveResolved
    | ChangeDue
    | ChangeSupplements
    | ChangeStaff
    | Answer
    | PetitionEvent
    | Override
    | OverrideInSpan
    | Inputs
    | InputsWhereDossier
)


@dataclass(frozen=True)
class Features:
    """Cases where the service is known to disagree with the rules (each pinned by a strict
    xfail test below). Off: the generator steers around them."""

    relink_petitions: bool = True  # fixed: the old dossier is released
    calendar_moves_petition_deadlines: bool = False  # stored deadlines never re-derived


# --- driving the app ------------------------------------------------------------------------


def written(moment: datetime, offset: int) -> str:
    return moment.astimezone(timezone(timedelta(hours=offset))).isoformat()


def code_of(slot: int) -> str:
    return f"HS-{slot}"


def within(agency: str, ancestor: str) -> bool:
    """The agency itself, or one below it."""
    return agency == ancestor or (
        (parent := AGENCIES[agency]) is not None and within(parent, ancestor)
    )


def due_time(resolved_at: datetime, due: Due | None) -> datetime | None:
    if due is None:
        return None
    day = reference.local_day(resolved_at) + timedelta(days=due.days)
    return datetime.combine(day, time(due.hour, due.minute), LOCAL_TZ)


class Harness:
    """Replays events through the API and tracks the final state for the reference."""

    def __init__(self, client: TestClient, engine: sa.Engine, profile: Profile) -> None:
        self.client = client
        self.engine = engine
        self.profile = profile
        self.features = Features()
        self.one_by_one = True
        self.applied: list[Event] = []  # printed on failure (this Hypothesis/pytest pair
        # prints the falsifying arguments blank, so the report carries the stream itself)
        self.world = World(agencies=dict(AGENCIES))
        self.tokens: dict[str, str] = {}
        self.leads: dict[str, int | None] = {}
        # When each dossier was received (resolved, when not sent): no answer is dated before.
        self.lodged: dict[str, datetime] = {}
        self.days: set[date] = set()  # every local day a score may have moved on
        self.periods: set[str] = {EMPTY_PERIOD}
        with transaction(engine) as session:
            for code, parent in AGENCIES.items():
                upsert_agency(session, code, f"Agency {code}", parent, actor="test")
            _, issuer = create_key(
                session, role="issuer", name="property issuer", agency_code=None, actor="test"
            )
            _, admin = create_key(
                session, role="admin", name="property admin", agency_code=None, actor="test"
            )
        self.issuer = {"Authorization": f"Bearer {issuer}"}
        self.admin = {"Authorization": f"Bearer {admin}"}

    # -- events --

    def run(self, events: Sequence[Event]) -> None:
        for event in events:
            self.apply(event)

    def apply(self, event: Event) -> None:
        self.applied.append(event)
        if isinstance(event, Handover):
            self.handover(event)
        elif isinstance(event, Answer):
            self.answer(event)
        elif isinstance(event, PetitionEvent):
            self.petition(event)
        elif isinstance(event, Override):
            self.override(event)
        elif isinstance(event, OverrideInSpan):
            late = sorted(c for c, d in self.world.dossiers.items() if reference.is_late(d))
            code = late[event.slot % len(late)] if late else self.existing(event.slot)
            if code is None:
                return
            dossier = self.world.dossiers[code]
            if event.from_resolution:
                day = reference.local_day(dossier.resolved_at) - timedelta(days=event.nth)
            else:
                due = dossier.due_at or dossier.resolved_at - timedelta(days=7)
                day = reference.local_day(due) + timedelta(days=event.nth)
            self.override(Override(day, event.working))
        elif isinstance(event, Inputs):
            self.inputs(event)
        elif isinstance(event, InputsWhereDossier):
            code = self.existing(event.slot)
            if code is None:
                return
            dossier = self.world.dossiers[code]
            keys = reference.period_keys_of(reference.local_day(dossier.resolved_at))
            key = keys[("month", "quarter", "year").index(event.kind)]
            self.inputs(Inputs(dossier.agency, key, event.d, event.e))
        else:
            self.tweak(event)

    def existing(self, slot: int) -> str | None:
        """The dossier an event names: its slot's, or (so that few events are wasted) one of
        the dossiers posted so far."""
        codes = sorted(self.world.dossiers)
        if not codes:
            return None
        return code_of(slot) if code_of(slot) in self.world.dossiers else codes[slot % len(codes)]

    def unanswered(self, slot: int) -> str | None:
        """The dossier an answer is for: preferably one not answered yet."""
        codes = sorted(self.world.dossiers)
        if not codes:
            return None
        start = codes.index(code_of(slot)) if code_of(slot) in codes else slot % len(codes)
        for code in codes[start:] + codes[:start]:
            if code not in self.world.evaluations:
                return code
        return codes[start]  # all answered: the service must refuse a second answer

    def handover(self, event: Handover) -> None:
        code = code_of(event.slot)
        agency = event.agency
        if code in self.world.dossiers:
            # A dossier is its agency's (codes are unique per agency): the stream re-posts
            # it under its own agency. Another agency's dossier with the same code is
            # tests/test_scope_matrix.py's.
            agency = self.world.dossiers[code].agency
        dossier = reference.Dossier(
            code=code,
            agency=agency,
            resolved_at=event.resolved.at,
            due_at=due_time(event.resolved.at, event.due),
            supplement_requests=event.supplements,
            receiving=event.receiving,
            handling=event.handling,
            returning=event.returning,
        )
        offset = event.due.offset if event.due else event.resolved.offset
        self.post_dossier(dossier, event.lead_days, (event.resolved.offset, offset))

    def tweak(
        self,
        event: MoveResolved | ChangeDue | ChangeSupplements | ChangeStaff,
    ) -> None:
        code = self.existing(event.slot)
        if code is None:
            return
        old = self.world.dossiers[code]
        offsets = (0, 0)  # unchanged times re-sent in UTC: the same instants
        if isinstance(event, MoveResolved):
            new = replace(old, resolved_at=event.resolved.at)
            offsets = (event.resolved.offset, 0)
        elif isinstance(event, ChangeDue):
            new = replace(old, due_at=due_time(old.resolved_at, event.due))
            offsets = (0, event.due.offset if event.due else 0)
        elif isinstance(event, ChangeSupplements):
            new = replace(old, supplement_requests=event.supplements)
        elif isinstance(event, ChangeStaff):
            new = replace(
                old,
                receiving=event.code if event.role == "receiving" else old.receiving,
                handling=event.code if event.role == "handling" else old.handling,
                returning=event.code if event.role == "returning" else old.returning,
            )
        else:
            raise AssertionError(f"not an edit of a dossier: {event}")
        self.post_dossier(new, self.leads[code], offsets)

    def post_dossier(
        self, dossier: reference.Dossier, lead_days: int | None, offsets: tuple[int, int]
    ) -> None:
        earliest = min(dossier.resolved_at, dossier.due_at or dossier.resolved_at)
        received = None if lead_days is None else earliest - timedelta(days=lead_days)
        body = {
            "dossier_code": dossier.code,
            "agency_code": dossier.agency,
            "received_at": written(received, offsets[1]) if received else None,
            "due_at": written(dossier.due_at, offsets[1]) if dossier.due_at else None,
            "resolved_at": written(dossier.resolved_at, offsets[0]),
            "supplement_requests": dossier.supplement_requests,
            "staff": {
                "receiving": dossier.receiving,
                "handling": dossier.handling,
                "returning": dossier.returning,
            },
        }
        known = dossier.code in self.world.dossiers
        response = self.client.post("/api/v1/handovers", json=body, headers=self.issuer)
        assert response.status_code == (200 if known else 201), response.text
        self.tokens[dossier.code] = response.json()["survey_url"].rsplit("/", 1)[1]
        self.world.dossiers[dossier.code] = dossier
        self.leads[dossier.code] = lead_days
        self.lodged[dossier.code] = received or dossier.resolved_at
        self.days.add(reference.local_day(dossier.resolved_at))
        for role in ("receiving", "handling", "returning"):
            staff = dossier.staff(role)
            if staff is not None:
                self.world.staff.add((dossier.agency, staff))

    def import_answer(self, field: str, given: str | None, otherwise: str) -> str | None:
        """`given`, or `otherwise` where the profile requires the question of an import."""
        question = self.profile.survey.question(field)
        if given is None and question is not None and question.required_on("import"):
            return otherwise
        return given

    def answer(self, event: Answer) -> None:
        code = self.unanswered(event.slot)
        if code is None:
            return
        # Posted with an admin key: an import, which the profile may require less of.
        overall = self.import_answer("overall", event.overall, "satisfied")
        supplements = self.import_answer("supplement_requests", event.supplement_requests, "none")
        attitude = self.import_answer("staff_attitude", event.staff_attitude, "good")
        body: dict[str, Any] = {
            "token": self.tokens[code],
            "source": "api",
            "answers": {
                "timeliness": event.timeliness,
                "supplement_requests": supplements,
                "staff_attitude": attitude,
                "overall": overall,
                "complaint": "Trả kết quả chậm, phải đi lại nhiều lần" if event.complaint else "",
                # An answer is asked for only about something written (an empty one: 422).
                "wants_reply": event.wants_reply and event.complaint,
            },
        }
        if event.at is not None:
            body["submitted_at"] = written(event.at.at, event.at.offset)
        before = datetime.now(UTC)
        response = self.client.post("/api/v1/responses", json=body, headers=self.admin)
        if code in self.world.evaluations:  # never asks twice
            assert response.status_code == 409, response.text
            return
        if event.at is not None and event.at.at < self.lodged[code] - CLOCKS_APART:
            # Dated before its dossier was received: refused, nothing counted.
            assert response.status_code == 422, response.text
            assert response.json()["fields"][0]["field"] == "submitted_at", response.text
            return
        assert response.status_code == 201, response.text
        received = event.at.at if event.at is not None else self.now_received(before, code)
        self.world.evaluations[code] = reference.Evaluation(
            dossier_code=code,
            received_at=received,
            timeliness=event.timeliness,
            supplement_requests=supplements,
            staff_attitude=attitude,
            overall=overall,
        )
        self.days.add(reference.local_day(received))
        if event.complaint:  # a complaint goes to the feedback inbox of the dossier's agency
            petition_code = f"HL-{code}"
            agency = self.world.dossiers[code].agency
            self.world.petitions[f"{petition_code}@{agency}"] = reference.Petition(
                code=petition_code,
                agency=agency,
                received_at=received,
                dossier_code=code,
                source="survey",
                wants_reply=event.wants_reply,
            )

    def now_received(self, before: datetime, code: str) -> datetime:
        """An answer without submitted_at is received now; only its local day matters."""
        after = datetime.now(UTC)
        if reference.local_day(before) == reference.local_day(after):
            return after
        # The request straddled local midnight: ask the database which side it fell on.
        with transaction(self.engine) as session:
            stored: datetime = session.exec(
                select(Response.received_at)
                .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
                .join(Dossier, col(Dossier.id) == col(Invitation.dossier_id))
                .where(Dossier.code == code)
            ).one()
        return stored

    def petition(self, event: PetitionEvent) -> None:
        """Petition codes are unique per agency: the world keys them `code@agency`."""
        if event.target == "HL":
            complaints = sorted(c for c in self.world.petitions if c.startswith("HL-"))
            if not complaints:
                return
            complaint = self.world.petitions[
                complaints[(event.dossier_slot or 0) % len(complaints)]
            ]
            code = complaint.code
        else:
            code = event.target
        key = f"{code}@{event.agency}"
        old = self.world.petitions.get(key)
        received_at = old.received_at if old is not None and event.target == "HL" else None
        received_at = received_at or event.received.at
        linked = self.existing(event.dossier_slot) if event.dossier_slot is not None else None
        if linked is not None and not within(self.world.dossiers[linked].agency, event.agency):
            # Another agency's dossier: refused as if unknown, and nothing changes.
            refused: dict[str, Any] = {
                "petition_code": code,
                "agency_code": event.agency,
                "dossier_code": linked,
                "received_at": written(received_at, event.received.offset),
            }
            response = self.client.post("/api/v1/petitions", json=refused, headers=self.admin)
            assert response.status_code == 422, response.text
            return
        if (
            old is not None
            and old.dossier_code is not None
            and linked != old.dossier_code
            and not self.features.relink_petitions
        ):
            linked = old.dossier_code
        deadline = None
        if event.deadline_days is not None:
            deadline = received_at + timedelta(days=event.deadline_days)
        handled = None
        if event.handled is not None and event.handled.near_deadline:
            limit = deadline or self.default_deadline(received_at)
            day = reference.local_day(limit) + timedelta(days=event.handled.days)
            near = datetime.combine(day, time(event.handled.hours), LOCAL_TZ)
            handled = max(received_at, near)
        elif event.handled is not None:
            handled = received_at + timedelta(days=event.handled.days, hours=event.handled.hours)
        if handled is not None:
            # A survey comment's petition is received now: its handling a few days on would
            # lie ahead, which the service refuses (timebounds.PastMoment). Handled now.
            handled = min(handled, utcnow())
        offset = event.handled.offset if event.handled else event.received.offset
        body = {
            "petition_code": code,
            "agency_code": event.agency,
            "dossier_code": linked,
            "received_at": written(received_at, event.received.offset),
            "deadline_at": written(deadline, offset) if deadline else None,
            "handled_at": written(handled, offset) if handled else None,
            "citizen_verdict": event.verdict,
            "result_complaint": event.result_complaint,
            "within_authority": event.within_authority,
        }
        if linked is None and not event.unlink:
            del body["dossier_code"]  # left out: the link stays; sent as null, it goes
        verdict: str | None = event.verdict
        if event.target == "HL":
            if old is None:
                # A survey comment's code at an agency that has none: an import may not
                # create one (it would take the code the citizen's comment will need).
                response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
                assert response.status_code == 422, response.text
                return
            if "dossier_code" in body and body["dossier_code"] != old.dossier_code:
                # Nor is its dossier: the one the citizen evaluated stays (refused, and
                # nothing changes).
                response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
                assert response.status_code == 422, response.text
                return
            # A survey comment's verdict is the citizen's own (given on the follow-up page):
            # an import records its handling only.
            del body["citizen_verdict"]
            verdict = old.citizen_verdict
        elif verdict is not None and handled is None:
            # The citizen judges the handling, after it: a verdict on a petition the body
            # leaves (or makes) unhandled is refused, and nothing changes.
            response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
            assert response.status_code == 422, response.text
            return
        response = self.client.post("/api/v1/petitions", json=body, headers=self.admin)
        assert response.status_code == (200 if old else 201), response.text
        if linked is None and old is not None and not event.unlink:
            linked = old.dossier_code  # no dossier_code sent: the link stays
        self.world.petitions[key] = reference.Petition(
            code=code,
            agency=event.agency,
            received_at=received_at,
            dossier_code=linked,
            deadline_at=deadline,
            handled_at=handled,
            citizen_verdict=verdict,
            result_complaint=event.result_complaint,
            within_authority=event.within_authority,
            # An update keeps where the item came from (the survey, or an import).
            source=old.source if old else "import",
            wants_reply=old.wants_reply if old else True,
        )
        self.days.add(reference.local_day(received_at))

    def default_deadline(self, received_at: datetime) -> datetime:
        last_day = reference.nth_working_day_after(
            reference.local_day(received_at),
            self.profile.petitions.handling_deadline_working_days,
            self.world.overrides,
        )
        return datetime.combine(last_day, time(23, 59, 59), LOCAL_TZ)

    def moves_a_deadline(self, event: Override) -> bool:
        """Would this override move the default deadline of a petition already stored?"""
        after = {**self.world.overrides, event.day: event.working}
        days = self.profile.petitions.handling_deadline_working_days
        for petition in self.world.petitions.values():
            if petition.deadline_at is not None:
                continue
            start = reference.local_day(petition.received_at)
            before_day = reference.nth_working_day_after(start, days, self.world.overrides)
            if before_day != reference.nth_working_day_after(start, days, after):
                return True
        return False

    def override(self, event: Override) -> None:
        if not self.features.calendar_moves_petition_deadlines and self.moves_a_deadline(event):
            return
        response = self.client.put(
            f"/api/v1/calendar/overrides/{event.day.isoformat()}",
            json={"working": event.working, "note": "property test"},
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        self.world.overrides[event.day] = event.working

    def inputs(self, event: Inputs) -> None:
        body: dict[str, Any] = {}
        d, e = self.world.inputs.get((event.agency, event.period), (None, None))
        if event.d != "unset":
            body["d"] = d = event.d
        if event.e != "unset":
            body["e"] = e = event.e
        response = self.client.put(
            f"/api/v1/agencies/{event.agency}/periods/{event.period}/inputs",
            json=body,
            headers=self.admin,
        )
        assert response.status_code == 200, response.text
        self.world.inputs[(event.agency, event.period)] = (d, e)
        self.periods.add(event.period)

    def describe(self) -> None:
        """Label the example, so that the statistics show what the streams reached."""
        world = self.world
        label(f"dossiers: {len(world.dossiers)}")
        label(f"evaluations: {len(world.evaluations)}")
        label(f"petitions: {len(world.petitions)}")
        label(f"overrides: {len(world.overrides)}")
        late = [d for d in world.dossiers.values() if reference.is_late(d)]
        label(f"late dossiers: {len(late)}")
        overdue = {reference.overdue_working_days(d, world.overrides) for d in late}
        label(f"overdue 5-6 days: {bool(overdue & {5, 6})}")
        keys = self.period_keys()
        groups = {
            s.group for key in keys for s in reference.scores(world, self.profile, key).values()
        }
        label(f"groups reached: {sorted(groups)}")
        shown = any(
            not s.withheld and s.evaluations
            for key in keys
            for agency, _ in world.staff
            for s in reference.staff_scores(world, self.profile, agency, key).values()
        )
        label(f"staff B/C shown: {shown}")

    # -- checks --

    def period_keys(self) -> list[str]:
        keys = set(self.periods)
        for day in self.days:
            keys.update(reference.period_keys_of(day))
        return sorted(keys)

    def score_mismatches(self, staff: bool = True) -> list[str]:
        problems: list[str] = []
        staffed = {agency for agency, _ in self.world.staff} if staff else set()
        for key in self.period_keys():
            expected = reference.scores(self.world, self.profile, key)
            got = self.read_scores(key)
            if set(got) != set(AGENCIES):
                problems.append(f"{key}: scores of {sorted(got)}, expected {sorted(AGENCIES)}")
            for agency in sorted(set(got) & set(AGENCIES)):
                problems += compare_score(expected[agency], got[agency])
            for agency in sorted(staffed):
                response = self.client.get(
                    f"/api/v1/agencies/{agency}/staff-scores/{key}", headers=self.admin
                )
                assert response.status_code == 200, response.text
                wanted = reference.staff_scores(self.world, self.profile, agency, key)
                problems += compare_staff(agency, key, wanted, response.json())
        return problems

    def read_scores(self, key: str) -> dict[str, dict[str, Any]]:
        """Every agency's score. The property test reads all five in one request (the list
        runs the same code as the one-agency read); the hand-picked tests read one by one."""
        if not self.one_by_one:
            response = self.client.get(f"/api/v1/scores?period={key}", headers=self.admin)
            assert response.status_code == 200, response.text
            return {s["agency_code"]: s for s in response.json()["data"]}
        scores = {}
        for agency in AGENCIES:
            response = self.client.get(
                f"/api/v1/agencies/{agency}/scores/{key}", headers=self.admin
            )
            assert response.status_code == 200, response.text
            scores[agency] = response.json()
        return scores

    def check_scores(self, when: str, staff: bool = True) -> None:
        problems = self.score_mismatches(staff)
        assert not problems, report(f"scores {when} differ from the reference", problems, self)

    def counters(self) -> dict[str, dict[tuple[int, date], dict[str, int]]]:
        tables: dict[str, dict[tuple[int, date], dict[str, int]]] = {}
        with transaction(self.engine) as session:
            agency_rows = session.exec(select(AgencyDayCounter)).all()
            staff_rows = session.exec(select(StaffDayCounter)).all()
            tables["agency_day_counter"] = {
                (r.agency_id, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in agency_rows
            }
            tables["staff_day_counter"] = {
                (r.staff_id, r.day): {c: getattr(r, c) for c in COUNT_COLUMNS} for r in staff_rows
            }
        return tables

    def rebuild(self) -> None:
        with transaction(self.engine) as session:
            rebuild(session, self.profile)

    def check_rebuild(self, skip_staff_columns: tuple[str, ...]) -> None:
        live = self.counters()
        self.rebuild()
        rebuilt = self.counters()
        problems = compare_counters(live, rebuilt, skip_staff_columns)
        assert not problems, report("live counters differ from a rebuild", problems, self)

    def check_everything(
        self, skip_staff_columns: tuple[str, ...] = (STAFF_COLUMN_LIVE_SKIPS,)
    ) -> None:
        self.check_scores("from the live counters")
        self.check_rebuild(skip_staff_columns)
        # Staff scores read only the staff counters, just shown equal to the rebuilt ones.
        self.check_scores("after a rebuild", staff=False)


# --- comparing ------------------------------------------------------------------------------


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Fraction):
        return f"{float(value)!r} (= {value})"
    return repr(value)


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, Fraction):
        return (
            isinstance(got, int | float)
            and not isinstance(got, bool)
            and (float(expected) == got or math.isclose(float(expected), got, rel_tol=1e-12))
        )
    return bool(expected == got)


def compare_score(expected: Expected, got: dict[str, Any]) -> list[str]:
    where = f"{expected.agency} {expected.period}"
    pairs = {
        "a": (expected.a, got["a"]),
        "b": (expected.b, got["b"]),
        "c": (expected.c, got["c"]),
        "d": (expected.d, got["d"]),
        "e": (expected.e, got["e"]),
        "k": (expected.k, got["k"]),
        "group": (expected.group, got["group"]),
        "k_min": (expected.k_min, got["k_min"]),
        "k_max": (expected.k_max, got["k_max"]),
        "missing": (expected.missing, got["missing"]),
        "d_source": (expected.d_source, got["d_source"]),
        "rank": (expected.rank, got["rank"]),
        "group5.score": (expected.group5, got["group5"]["score"]),
        "group5.petitions_on_time_rate": (
            expected.petitions_on_time_rate,
            got["group5"]["petitions_on_time_rate"],
        ),
        "group5.petitions_satisfied_rate": (
            expected.petitions_satisfied_rate,
            got["group5"]["petitions_satisfied_rate"],
        ),
        "group5.dossiers_satisfied_rate": (
            expected.dossiers_satisfied_rate,
            got["group5"]["dossiers_satisfied_rate"],
        ),
        "counts.resolved_dossiers": (
            expected.resolved_dossiers,
            got["counts"]["resolved_dossiers"],
        ),
        "counts.evaluations": (expected.evaluations, got["counts"]["evaluations"]),
        "counts.petitions": (expected.petitions, got["counts"]["petitions"]),
    }
    return [
        f"{where} {name}: expected {show(want)}, got {show(have)}"
        for name, (want, have) in pairs.items()
        if not same(want, have)
    ]


# What the staff-scores API gives per officer, compared with the reference's.
STAFF_FIELDS = (
    "resolved_dossiers",
    "a",
    "evaluations",
    "b_evaluations",
    "c_evaluations",
    "withheld",
    "b",
    "c",
)


def compare_staff(
    agency: str, period: str, expected: dict[str, ExpectedStaff], got: dict[str, Any]
) -> list[str]:
    problems = []
    rows = {row["staff_code"]: row for row in got["data"]}
    if set(rows) != set(expected):
        problems.append(
            f"{agency} {period} staff list: expected {sorted(expected)}, got {sorted(rows)}"
        )
    for code in sorted(set(rows) & set(expected)):
        want, have = expected[code], rows[code]
        for name in STAFF_FIELDS:
            if not same(getattr(want, name), have[name]):
                problems.append(
                    f"{agency} {period} staff {code} {name}: expected "
                    f"{show(getattr(want, name))}, got {show(have[name])}"
                )
    return problems


def compare_counters(
    live: dict[str, dict[tuple[int, date], dict[str, int]]],
    rebuilt: dict[str, dict[tuple[int, date], dict[str, int]]],
    skip_staff_columns: tuple[str, ...],
) -> list[str]:
    problems = []
    for table in ("agency_day_counter", "staff_day_counter"):
        skip = skip_staff_columns if table == "staff_day_counter" else ()

        def kept(
            rows: dict[tuple[int, date], dict[str, int]], skip: tuple[str, ...] = skip
        ) -> dict[tuple[int, date], dict[str, int]]:
            out = {}
            for key, counts in rows.items():
                counts = {c: v for c, v in counts.items() if c not in skip}
                if any(counts.values()):  # an all-zero row is no row
                    out[key] = counts
            return out

        mine, theirs = kept(live[table]), kept(rebuilt[table])
        for key in sorted(set(mine) | set(theirs)):
            a, b = mine.get(key, {}), theirs.get(key, {})
            for column in COUNT_COLUMNS:
                if a.get(column, 0) != b.get(column, 0):
                    problems.append(
                        f"{table} {key[0]} {key[1]} {column}: live {a.get(column, 0)}, "
                        f"rebuilt {b.get(column, 0)}"
                    )
    return problems


def report(title: str, problems: list[str], harness: Harness) -> str:
    world = harness.world
    lines = [f"{title} ({len(problems)} differences, profile {harness.profile.name}):"]
    lines += [f"  {p}" for p in problems[:60]]
    if len(problems) > 60:
        lines.append(f"  ... and {len(problems) - 60} more")
    lines.append(f"stream ({len(harness.applied)} events, in order):")
    lines += [f"  {e!r}" for e in harness.applied]
    lines.append("final state:")
    for d in world.dossiers.values():
        late = reference.is_late(d)
        overdue = reference.overdue_working_days(d, world.overrides)
        lines.append(
            f"  dossier {d.code} {d.agency} resolved {d.resolved_at.astimezone(LOCAL_TZ)} "
            f"due {d.due_at.astimezone(LOCAL_TZ) if d.due_at else None} late={late} "
            f"overdue_days={overdue} supplements={d.supplement_requests} "
            f"staff h={d.handling} r={d.returning}"
        )
    for e in world.evaluations.values():
        lines.append(
            f"  evaluation {e.dossier_code} at {e.received_at.astimezone(LOCAL_TZ)} "
            f"{e.supplement_requests}/{e.staff_attitude}/{e.overall}"
        )
    for p in world.petitions.values():
        lines.append(f"  petition {p}")
    lines.append(f"  overrides {world.overrides}  inputs {world.inputs}")
    return "\n".join(lines)


# --- running one stream on a fresh database -------------------------------------------------


@pytest.fixture(scope="module")
def variant_profile(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The default profile with every choice the texts leave open turned the other way, so
    that the stream exercises the branches hcmc-104-2024 never takes."""
    text = (PROFILES_DIR / "hcmc-104-2024.toml").read_text(encoding="utf-8")
    changes = [
        ('name = "hcmc-104-2024"', 'name = "test-variant"'),
        ("late_within_grace_points = 0.0", "late_within_grace_points = 0.5"),
        ("max_supplement_requests_for_point = 1", "max_supplement_requests_for_point = 0"),
        ("few_supplements_points = 1.0", "few_supplements_points = 0.5"),
        ("good_attitude_points = 1.0", "good_attitude_points = 0.75"),
        ("supplements_make_overdue = false", "supplements_make_overdue = true"),
        ("threshold_is_satisfied = true", "threshold_is_satisfied = false"),
        ('missing_rate_rule = "scale"', 'missing_rate_rule = "null"'),
        ("handling_deadline_working_days = 15", "handling_deadline_working_days = 3"),
        ('role_for_evaluations = "returning"', 'role_for_evaluations = "handling"'),
        ("min_evaluations_for_staff = 5", "min_evaluations_for_staff = 2"),
        ('unsatisfied_attitude = ["poor"]', 'unsatisfied_attitude = ["poor", "normal"]'),
        (
            'field = "overall"\nrequired_in = ["phone", "kiosk", "api"]',
            'field = "overall"\nrequired_in = []',
        ),
        ("survey_comments_are_petitions = false", "survey_comments_are_petitions = true"),
        ('open_within_deadline = "excluded"', 'open_within_deadline = "counted_not_on_time"'),
        ('open_after_deadline = "late"', 'open_after_deadline = "excluded"'),
        ('good_attitude = ["good"]', 'good_attitude = ["good", "normal"]'),
        ('unanswered_question = "not_counted"', 'unanswered_question = "zero_points"'),
    ]
    for old, new in changes:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("profiles") / "test-variant.toml"
    path.write_text(text, encoding="utf-8")
    load_profile(str(path))  # valid
    return str(path)


Reset = Callable[[], str]


@pytest.fixture(scope="module")
def fresh_database(backend: Backend) -> Iterator[Reset]:
    """A clean database for each example. SQLite: the backend's fresh copy of the migrated
    template. PostgreSQL: the backend's TRUNCATE once, then DELETE of every row, which on
    tables this small is several times faster than TRUNCATE (hundreds of examples)."""
    if backend.name != "postgresql":
        yield backend.reset
        return
    url = backend.reset()
    engine = sa.create_engine(url)
    schema = sa.MetaData()
    schema.reflect(engine)
    tables = [t for t in reversed(schema.sorted_tables) if t.name != "alembic_version"]

    def reset() -> str:
        with engine.begin() as connection:
            for table in tables:
                connection.execute(table.delete())
        return url

    yield reset
    engine.dispose()


# One app per database and profile, reset for each example (tests/conftest.py, ReusedApp):
# a new app per example paid FastAPI's and Jinja's first-request costs every time.
_apps: dict[tuple[str, str, str | None], ReusedApp] = {}


@contextmanager
def fresh_app(reset: Reset, profile: str, also: str | None = None) -> Iterator[Harness]:
    """The app of `profile` (with `also` computed beside it) on a fresh database."""
    url = reset()
    if (url, profile, also) not in _apps:
        _apps[url, profile, also] = ReusedApp(
            Settings(
                database_url=url,
                base_url="http://testserver",
                secret_key=TEST_SECRET,
                log_requests=False,
                scoring_profile=profile,
                scoring_profile_also=also,
            )
        )
    app = _apps[url, profile, also].reset()
    engine = make_engine(app.state.settings)
    try:
        harness_profile = load_profile(profile, also)
        with TestClient(app) as client:
            yield Harness(client, engine, harness_profile)
    finally:
        engine.dispose()


def profile_named(choice: str, variant: str) -> str:
    return variant if choice == "variant" else choice


# --- strategies -----------------------------------------------------------------------------

slots = st.integers(0, SLOTS - 1)
# Skewed towards one ward and one person, so that staff reach the anonymity minimum.
staff = st.sampled_from((None, STAFF[0], STAFF[0], *STAFF))
wards = st.sampled_from((WARDS[0], *WARDS))
offsets = st.sampled_from(OFFSETS)
dues = st.builds(
    Due,
    days=st.one_of(st.integers(-12, 3), st.integers(-10, -6)),  # -10..-6: about 5 working days
    hour=st.sampled_from((0, 8, 17, 23)),
    minute=st.sampled_from((0, 59)),
    offset=offsets,
)


@st.composite
def streams(draw: st.DrawFn) -> list[Event]:
    """A stream of events clustered around one or two anchors, so that they meet in the
    same periods (and so that reading every touched period stays cheap)."""
    anchors = draw(st.lists(st.sampled_from(ANCHORS), min_size=1, max_size=2, unique=True))
    days = st.builds(
        lambda anchor, shift: anchor + timedelta(days=shift),
        st.sampled_from(anchors),
        # Half of the days on either side of the anchor's month boundary.
        st.one_of(st.sampled_from((0, 1)), st.integers(-SPREAD, SPREAD)),
    )
    moments = st.builds(
        Moment,
        day=days,
        hour=st.sampled_from((0, 0, 6, 8, 10, 16, 17, 23, 23)),
        minute=st.sampled_from((0, 30, 59)),
        offset=offsets,
    )
    periods = sorted(
        {
            key
            for anchor in anchors
            for shift in (-SPREAD, 0, SPREAD)
            for key in reference.period_keys_of(anchor + timedelta(days=shift))
        }
    )
    handovers = st.builds(
        Handover,
        slot=slots,
        agency=wards,
        resolved=moments,
        due=st.one_of(st.none(), dues, dues),
        lead_days=st.one_of(st.none(), st.integers(0, 20)),
        supplements=st.integers(0, 3),
        handling=staff,
        returning=staff,
        receiving=staff,
    )
    tweaks = st.one_of(
        st.builds(MoveResolved, slot=slots, resolved=moments),
        st.builds(ChangeDue, slot=slots, due=st.one_of(st.none(), dues)),
        st.builds(ChangeSupplements, slot=slots, supplements=st.integers(0, 3)),
        st.builds(
            ChangeStaff,
            slot=slots,
            role=st.sampled_from(("receiving", "handling", "returning")),
            code=staff,
        ),
    )
    answers = st.builds(
        Answer,
        slot=slots,
        # None: not answered, which only an admin's import may leave (profile).
        supplement_requests=st.sampled_from(("none", "once", "twice_or_more", None)),
        staff_attitude=st.sampled_from(("good", "normal", "poor", None)),
        overall=st.sampled_from(("very_satisfied", "satisfied", "unsatisfied", None)),
        at=st.one_of(moments, moments, moments, st.none()),
        complaint=st.booleans(),
        timeliness=st.sampled_from(("on_time", "late")),
        wants_reply=st.booleans(),
    )
    near_deadline = st.builds(
        Handled,
        days=st.sampled_from((-1, 0, 0, 1)),
        hours=st.sampled_from((0, 9, 17, 23)),
        offset=offsets,
        near_deadline=st.just(True),
    )
    petitions = st.builds(
        PetitionEvent,
        target=st.sampled_from((*PETITION_CODES, "HL")),
        agency=st.sampled_from(tuple(AGENCIES)),
        dossier_slot=st.one_of(st.none(), slots),
        received=moments,
        handled=st.one_of(
            st.none(),
            st.builds(Handled, days=st.integers(0, 30), hours=st.integers(0, 23), offset=offsets),
            near_deadline,
            near_deadline,
        ),
        deadline_days=st.one_of(st.none(), st.none(), st.integers(1, 25)),
        verdict=st.sampled_from((None, "satisfied", "satisfied", "unsatisfied")),
        result_complaint=st.sampled_from((False, False, True)),
        within_authority=st.booleans(),
        unlink=st.sampled_from((False, False, False, True)),
    )
    overrides = st.one_of(
        st.builds(Override, day=days, working=st.booleans()),
        st.builds(
            OverrideInSpan,
            slot=slots,
            nth=st.one_of(st.just(1), st.integers(0, 10)),
            working=st.booleans(),
        ),
        st.builds(
            OverrideInSpan,
            slot=slots,
            nth=st.integers(0, 2),
            working=st.booleans(),
            from_resolution=st.just(True),
        ),
    )
    inputs = st.builds(
        Inputs,
        agency=st.sampled_from(tuple(AGENCIES)),
        period=st.sampled_from(periods),
        d=st.sampled_from(D_VALUES),
        e=st.sampled_from(E_VALUES),
    )
    inputs_where = st.builds(
        InputsWhereDossier,
        slot=slots,
        kind=st.sampled_from(("month", "quarter", "year")),
        d=st.sampled_from(D_VALUES),
        e=st.sampled_from((0, 1, 1)),
    )
    # one_of flattens nested one_ofs: each leaf strategy weighs the same.
    events = st.one_of(handovers, tweaks, answers, answers, petitions, petitions, petitions)
    events = st.one_of(events, overrides, inputs, inputs_where)
    # A few dossiers, most of them answered, a few inputs; then anything, in any order.
    posted = draw(st.lists(handovers, min_size=4, max_size=SLOTS))
    first: list[Event] = [replace(h, slot=slot) for slot, h in enumerate(posted)]
    first += draw(st.lists(answers, max_size=len(posted)))
    first += draw(st.lists(petitions, max_size=3))
    first += draw(st.lists(inputs_where, max_size=3))
    return [*first, *draw(st.lists(events, min_size=6, max_size=30))]


# --- the property ---------------------------------------------------------------------------


# Examples per backend: each replays ~20-50 requests on a fresh database, and PostgreSQL
# takes about twice as long per request as SQLite; both stay well under a minute on 2 cores.
# The replays are `heavy`: the whole suite (CI's) runs them, the quick loop does not; it
# keeps this module's worked scenarios, which drive the same harness.
EXAMPLES = {"sqlite": 35, "postgresql": 20}


def replayed(examples: int) -> Callable[[Callable[[str, list[Event]], None]], Callable[[], None]]:
    """A replay of generated streams under one of the three profiles, `examples` times."""

    def decorate(replay: Callable[[str, list[Event]], None]) -> Callable[[], None]:
        given_streams = given(
            profile=st.sampled_from(("hcmc-104-2024", "vn-766", "variant")),
            stream=streams(),
        )(replay)
        return settings(
            max_examples=examples,
            deadline=None,
            database=None,  # no .hypothesis/ in the work tree; failures print a reproduce blob
            print_blob=True,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
            ],
        )(given_streams)

    return decorate


@pytest.mark.heavy
def test_live_counters_equal_a_recompute_and_the_reference(
    backend: Backend, fresh_database: Reset, variant_profile: str
) -> None:
    @replayed(EXAMPLES[backend.name])
    def replay(profile: str, stream: list[Event]) -> None:
        with fresh_app(fresh_database, profile_named(profile, variant_profile)) as harness:
            harness.one_by_one = False
            harness.run(stream)
            harness.check_everything()
            harness.describe()  # shown by --hypothesis-show-statistics

    replay()


# TT 01/2018's counters beside the K score's: no reference of their own, so the live ones
# are held to a rebuild (the test above never set the profile computed beside: rules audit).
TT01_EXAMPLES = {name: max(2, n // 3) for name, n in EXAMPLES.items()}


@pytest.mark.heavy
def test_tt01_counters_live_equal_a_rebuild(
    backend: Backend, fresh_database: Reset, variant_profile: str
) -> None:
    @replayed(TT01_EXAMPLES[backend.name])
    def replay(profile: str, stream: list[Event]) -> None:
        chosen = profile_named(profile, variant_profile)
        with fresh_app(fresh_database, chosen, also="tt-01-2018") as harness:
            harness.one_by_one = False
            harness.run(stream)
            harness.check_rebuild((STAFF_COLUMN_LIVE_SKIPS,))

    replay()


# --- hand-picked streams: they guard the machinery above ------------------------------------


def vn(day: str, hour: int, minute: int = 0, offset: int = 7) -> Moment:
    return Moment(date.fromisoformat(day), hour, minute, offset)


def score_of(harness: Harness, agency: str, period: str) -> dict[str, Any]:
    response = harness.client.get(
        f"/api/v1/agencies/{agency}/scores/{period}", headers=harness.admin
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_repost_moves_a_dossier_from_september_to_october(fresh_database: Reset) -> None:
    with fresh_app(fresh_database, "hcmc-104-2024") as harness:
        harness.run(
            [
                # 30/9 23:30 local: September and Q3.
                Handover(0, "79.BTH", vn("2025-09-30", 23, 30), Due(0, 17), handling="CB1"),
                Handover(1, "79.BTH", vn("2025-09-15", 10), Due(2, 17), returning="CB2"),
                # Answered 30/9 23:59 local, written in UTC as 30/9 16:59: September.
                Answer(1, "once", "good", "satisfied", vn("2025-09-30", 23, 59, offset=0)),
                # The same dossier re-posted: 1/10 00:30 local, written in UTC as 30/9 17:30.
                MoveResolved(0, vn("2025-10-01", 0, 30, offset=0)),
            ]
        )
        assert score_of(harness, "79.BTH", "2025-09")["counts"]["resolved_dossiers"] == 1
        october = score_of(harness, "79.BTH", "2025-10")
        assert october["counts"]["resolved_dossiers"] == 1
        assert october["a"] == 0.0  # late: resolved 1/10 after its due time 30/9 17:00
        assert score_of(harness, "79.BTH", "2025-Q4")["counts"]["resolved_dossiers"] == 1
        harness.check_everything()


def test_complaint_on_a_late_dossier(fresh_database: Reset) -> None:
    with fresh_app(fresh_database, "hcmc-104-2024") as harness:
        harness.run(
            [
                Handover(0, "G22.39", vn("2025-09-10", 10), Due(-1, 17), returning="CB3"),
                Handover(1, "G22.39", vn("2025-09-11", 10), Due(0, 17)),
                Answer(
                    0,
                    "twice_or_more",
                    "poor",
                    "unsatisfied",
                    vn("2025-09-12", 9),
                    complaint=True,
                    wants_reply=True,
                ),
                PetitionEvent(
                    "PAKN-1", "G22.39", 1, vn("2025-09-20", 8), Handled(3), verdict="satisfied"
                ),
                Inputs("G22.39", "2025-09", e=1),
            ]
        )
        body = score_of(harness, "G22.39", "2025-09")
        # The survey comment asked for an answer, but it is not a national-channel petition:
        # only PAKN-1 counts, handled on time (the comment is in the feedback inbox).
        assert body["counts"] == {"resolved_dossiers": 2, "evaluations": 1, "petitions": 1}
        assert body["group5"]["petitions_on_time_rate"] == 1.0
        # Dossier 0 is late and complained about, dossier 1 has a petition: none is clean.
        assert body["group5"]["dossiers_satisfied_rate"] == 0.0
        harness.check_everything()


@pytest.mark.heavy
def test_a_day_off_turns_six_overdue_days_into_five(
    fresh_database: Reset, variant_profile: str
) -> None:
    """Due Thu 18/9/2025, resolved Fri 26/9: Fri 19, Mon 22 ... Fri 26 are 6 working days
    late (0 points); declaring Wed 24/9 a day off leaves 5 (late_within_grace_points 0.5)."""
    with fresh_app(fresh_database, variant_profile) as harness:
        harness.run([Handover(0, "79.SGN", vn("2025-09-26", 10), Due(-8, 17), handling="CB1")])
        assert score_of(harness, "79.SGN", "2025-09")["a"] == 0.0
        harness.check_everything()
        harness.apply(Override(date(2025, 9, 24), working=False))
        assert score_of(harness, "79.SGN", "2025-09")["a"] == 0.5
        harness.check_everything()
        harness.apply(Override(date(2025, 9, 24), working=True))
        assert score_of(harness, "79.SGN", "2025-09")["a"] == 0.0
        harness.check_everything()
        # The edges of the span: the day after the due day, and the resolution day itself.
        for edge in (date(2025, 9, 19), date(2025, 9, 26)):
            harness.apply(Override(edge, working=False))
            assert score_of(harness, "79.SGN", "2025-09")["a"] == 0.5, edge
            harness.check_everything()
            harness.apply(Override(edge, working=True))
            assert score_of(harness, "79.SGN", "2025-09")["a"] == 0.0, edge


def test_weekend_make_up_day_is_a_working_day(fresh_database: Reset, variant_profile: str) -> None:
    """Due Fri 25/4/2025, resolved Wed 7/5: Sat 26/4 (make-up), Mon 28, Tue 29, then the
    30/4, 1/5, 2/5 holidays, Mon 5, Tue 6, Wed 7: 6 working days late (0 points), not 5
    (0.5 points under the variant profile)."""
    with fresh_app(fresh_database, variant_profile) as harness:
        harness.run([Handover(0, "79.SGN", vn("2025-05-07", 10), Due(-12, 17))])
        assert score_of(harness, "79.SGN", "2025-05")["a"] == 0.0
        harness.check_everything()


# --- once service bugs (found by this test), now pinned; and one choice by design --------


def test_relinked_petition_releases_its_old_dossier(fresh_database: Reset) -> None:
    with fresh_app(fresh_database, "hcmc-104-2024") as harness:
        harness.features = Features(relink_petitions=True)
        harness.run(
            [
                Handover(0, "79.BTH", vn("2025-09-10", 10)),
                Handover(1, "79.BTH", vn("2025-09-11", 10)),
                PetitionEvent("PAKN-1", "79.BTH", 0, vn("2025-09-12", 9)),
                PetitionEvent("PAKN-1", "79.BTH", 1, vn("2025-09-12", 9)),
            ]
        )
        harness.check_everything()  # dossiers_satisfied_rate: expected 1/2, got 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="BY DESIGN (profiles/*.toml, [petitions]): a petition's default deadline is fixed "
    "when it is received — a deadline told to a citizen does not move. Computed once, "
    "with the calendar of the moment it is stored; a later calendar override inside its "
    "15 working days does not move it (dossiers are re-scored, petitions are not, and a "
    "rebuild does not re-derive deadlines either).",
)
def test_a_day_off_moves_a_stored_petition_deadline(fresh_database: Reset) -> None:
    with fresh_app(fresh_database, "hcmc-104-2024") as harness:
        harness.features = Features(calendar_moves_petition_deadlines=True)
        harness.run(
            [
                # Received Mon 1/12/2025: the 15th working day after is Mon 22/12.
                PetitionEvent("PAKN-1", "79.STP", None, vn("2025-12-01", 9), Handled(21, 3)),
                # Handled Mon 22/12 12:00: on time. Then Sat 6/12 is declared a make-up
                # working day: the 15th working day is now Fri 19/12, and it was late.
                Override(date(2025, 12, 6), working=True),
            ]
        )
        harness.check_everything()  # petitions_on_time_rate: expected 0, got 1


def test_staff_counters_rebuild_like_live(fresh_database: Reset) -> None:
    with fresh_app(fresh_database, "hcmc-104-2024") as harness:
        harness.run([Handover(0, "79.BTH", vn("2025-09-10", 10), Due(-1, 17), handling="CB1")])
        harness.check_rebuild(skip_staff_columns=())
