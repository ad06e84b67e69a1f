"""Writing one chunk of checked rows, set-based, in the chunk's transaction: on PostgreSQL
one COPY per table (ids drawn from the tables' sequences first), on SQLite one executemany
INSERT per table; columns named from the tables, rows checked against them (db.check_row).

A dossier's columns come from the handover's own function (new_dossiers.facts) and its
invitation's from the handover's (new_dossiers._invitation, the same token and short code
rules). What an import does not do, and why:
- no counters are moved row by row: the scores are recomputed once, at the end
  (`hailong scores recompute`'s rebuild), which counts every row whatever its path;
- no webhook events for past dossiers and evaluations (a million `invitation.issued` to
  every subscriber would announce surveys nobody can answer); petitions go through the
  petition service and so emit what POST /api/v1/petitions emits;
- an imported complaint is kept as the evaluation's text and opens no inbox item: it was
  handled in the older system (import it as a petition when it counts as one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, insert, or_, select, text, tuple_, update
from sqlmodel import Session

from service import db
from service.calendar.working_days import local_date
from service.errors import ServiceError
from service.handovers import new_dossiers, tokens
from service.handovers.service import staff_codes
from service.imports.checking import ANSWERABLE, Evaluation, Good, importer
from service.models import Counter, Dossier, Invitation, Response, Staff, utcnow
from service.models.write_order import written_columns
from service.petitions import service as petitions
from service.profile import Profile
from service.settings import Settings
from service.surveys.service import answer_columns


@lru_cache(maxsize=1)
def _statements() -> tuple[Any, Any, Any]:
    d = Dossier.__table__  # type: ignore[attr-defined]
    i = Invitation.__table__  # type: ignore[attr-defined]
    # The invitation of a dossier named by agency and code (written in the same statement
    # list, its id unknown until then).
    invitation_id = (
        select(i.c.id)
        .join(d, d.c.id == i.c.dossier_id)
        .where(
            d.c.agency_id == bindparam("dossier_agency_id"), d.c.code == bindparam("dossier_code")
        )
        .scalar_subquery()
    )
    responses = Response.__table__  # type: ignore[attr-defined]
    answered = (
        update(i)
        # Not IN (...): its literals are expanded per execution, which an executemany
        # refuses (every file evaluating two dossiers stopped with a traceback).
        .where(i.c.id == bindparam("answered_id"), or_(*(i.c.status == s for s in ANSWERABLE)))
        .values(status="answered", answered_at=bindparam("answered_when"))
    )
    return (
        insert(responses).values(invitation_id=invitation_id).inline(),
        insert(responses).inline(),
        answered,
    )


class Directory:
    """Staff and counters by (agency id, code), registered when new (API.md: unknown staff
    codes are registered under the agency). Forgotten when a chunk is rolled back."""

    def __init__(self) -> None:
        self.staff: dict[tuple[int, str], int] = {}
        self.counters: dict[tuple[int, str], int] = {}

    def forget(self) -> None:
        self.staff.clear()
        self.counters.clear()

    def _ids(
        self,
        session: Session,
        model: type[Staff] | type[Counter],
        known: dict[tuple[int, str], int],
        wanted: set[tuple[int, str]],
    ) -> None:
        missing = wanted - known.keys()
        if not missing:
            return
        table = model.__table__  # type: ignore[union-attr]
        pair = tuple_(table.c.agency_id, table.c.code)
        query = select(table.c.agency_id, table.c.code, table.c.id).where(
            pair.in_(bindparam("pairs", expanding=True))
        )
        connection = session.connection()
        found = connection.execute(query, {"pairs": sorted(missing)})
        known.update({(int(a), str(c)): int(i) for a, c, i in found})
        new = sorted(missing - known.keys())
        if new:
            now = utcnow()
            rows = [{"agency_id": a, "code": c, "created_at": now} for a, c in new]
            for row in rows:
                db.check_row(model, row, leave_out={"id", "display_name", "name"})
            connection.execute(insert(table), rows)
            found = connection.execute(query, {"pairs": new})
            known.update({(int(a), str(c)): int(i) for a, c, i in found})

    def load(self, session: Session, goods: Sequence[Good]) -> None:
        staff: set[tuple[int, str]] = set()
        counters: set[tuple[int, str]] = set()
        for good in goods:
            assert good.handover is not None and good.agency.id is not None
            staff.update((good.agency.id, code) for code in staff_codes(good.handover))
            if good.handover.counter_code is not None:
                counters.add((good.agency.id, good.handover.counter_code))
        self._ids(session, Staff, self.staff, staff)
        self._ids(session, Counter, self.counters, counters)


def _response(evaluation: Evaluation, agency_id: int) -> dict[str, Any]:
    payload = evaluation.payload
    at = payload.submitted_at
    assert at is not None  # required of an import (checking.py)
    row = {
        "agency_id": agency_id,
        "client_submission_id": payload.client_submission_id,
        "source": payload.source,
        **answer_columns(evaluation.answers),
        "language": None,  # an older system's evaluation: not known
        "received_at": at,
        "received_day": local_date(at),
    }
    db.check_row(Response, row, leave_out={"id", "invitation_id"})
    return row


def write_dossiers(
    session: Session,
    goods: Sequence[Good],
    directory: Directory,
    settings: Settings,
    overrides: Callable[[], Mapping[date, bool]],
) -> None:
    """New dossiers, their invitations (answered when the row carries the evaluation), and
    those evaluations."""
    directory.load(session, goods)
    now = utcnow()
    ttl = timedelta(days=settings.invitation_ttl_days)
    codes: set[str] = set()
    while len(codes) < len(goods):
        codes.add(tokens.new_short_code())
    dossiers, invitations, responses = [], [], []
    for good, short_code in zip(goods, codes, strict=True):
        handover, agency_id = good.handover, good.agency.id
        assert handover is not None and agency_id is not None
        staff = {c: directory.staff[(agency_id, c)] for c in staff_codes(handover)}
        counter = (
            directory.counters[(agency_id, handover.counter_code)]
            if handover.counter_code is not None
            else None
        )
        dossier = {
            "code": handover.dossier_code,
            "agency_id": agency_id,
            **new_dossiers.facts(handover, staff, counter, overrides),
            "has_unsatisfied_evaluation": False,  # both derived by the recompute at the end
            "has_petition": False,
            "created_at": now,
            "updated_at": now,
        }
        db.check_row(Dossier, dossier)
        invitation, _ = new_dossiers._invitation(
            dossier, handover.language, short_code, settings, now
        )
        # Issued when the result was handed over, long ago: expired, unless answered.
        issued: datetime = handover.handed_over_at or handover.resolved_at
        invitation.update(issued_at=issued, expires_at=issued + ttl)
        if good.evaluation is not None:
            invitation.update(status="answered", answered_at=good.evaluation.payload.submitted_at)
            response = _response(good.evaluation, agency_id)
            response.update(dossier_agency_id=agency_id, dossier_code=handover.dossier_code)
            responses.append(response)
        dossiers.append(dossier)
        invitations.append(invitation)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        _copy_dossiers(connection, dossiers, invitations, responses)
        return
    insert_dossiers, insert_invitations, _ = new_dossiers._statements()
    connection.execute(insert_dossiers, dossiers)
    connection.execute(insert_invitations, invitations)
    if responses:
        connection.execute(_statements()[0], responses)


def _new_ids(connection: Connection, table: Any, count: int) -> list[int]:
    """`count` ids drawn from the table's own sequence, as its INSERTs would draw them."""
    query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :n)")
    return [int(i) for (i,) in connection.execute(query, {"table": table.name, "n": count})]


def _copy(connection: Connection, table: Any, rows: Sequence[Mapping[str, Any]]) -> None:
    """COPY the rows into the table, every column named from the table itself (each row was
    checked against it by db.check_row)."""
    if not rows:
        return
    columns = [c.name for c in written_columns(table)]
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(f'"{c}"' for c in columns)
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for row in rows:
            copy.write_row([row[c] for c in columns])


def _copy_dossiers(
    connection: Connection,
    dossiers: list[dict[str, Any]],
    invitations: list[dict[str, Any]],
    responses: list[dict[str, Any]],
) -> None:
    """PostgreSQL: ids drawn first, so that invitations and responses name theirs without
    a subquery per row, then one COPY per table (bench/README.md, "Bulk import")."""
    d = Dossier.__table__  # type: ignore[attr-defined]
    i = Invitation.__table__  # type: ignore[attr-defined]
    r = Response.__table__  # type: ignore[attr-defined]
    invitation_of: dict[tuple[int, str], int] = {}
    dossier_ids, invitation_ids = (
        _new_ids(connection, d, len(dossiers)),
        _new_ids(connection, i, len(invitations)),
    )
    for dossier, invitation, dossier_id, invitation_id in zip(
        dossiers, invitations, dossier_ids, invitation_ids, strict=True
    ):
        dossier["id"] = dossier_id
        key = (invitation.pop("dossier_agency_id"), invitation.pop("dossier_code"))
        invitation.update(id=invitation_id, dossier_id=dossier_id)
        invitation_of[key] = invitation_id
    for response, response_id in zip(
        responses, _new_ids(connection, r, len(responses)), strict=True
    ):
        key = (response.pop("dossier_agency_id"), response.pop("dossier_code"))
        response.update(id=response_id, invitation_id=invitation_of[key])
    _copy(connection, d, dossiers)
    _copy(connection, i, invitations)
    _copy(connection, r, responses)


class ClaimLost(Exception):
    """A row the chunk's check passed changed before the chunk wrote it (a survey revoked or
    answered, a dossier or client_submission_id taken, a petition updated through the API):
    the chunk is rolled back, and checked again (run._write_all)."""


# The invitation's unique constraint on its short code, as each database names it.
_SHORT_CODE_CONSTRAINT = "uq_invitation_short_code"
_SHORT_CODE_SQLITE = "UNIQUE constraint failed: invitation.short_code"


def short_code_taken(exc: BaseException) -> bool:
    """Whether the write failed on a short code it drew that another invitation has (about
    one in a million invitations): drawn again, the same rows go through."""
    error = getattr(exc, "orig", None) or exc  # COPY raises the driver's own error
    diag = getattr(error, "diag", None)
    if diag is not None:
        return bool(diag.constraint_name == _SHORT_CODE_CONSTRAINT)
    return _SHORT_CODE_SQLITE in str(error)


def write_evaluations(session: Session, goods: Sequence[Good]) -> None:
    """Evaluations of dossiers already in hailong: their invitations become answered, each
    claimed as an answer claims it (only while issued or opened); the responses are
    inserted only when every invitation was claimed, else ClaimLost."""
    responses, answered = [], []
    for good in goods:
        assert good.evaluation is not None and good.agency.id is not None
        row = _response(good.evaluation, good.agency.id)
        responses.append({**row, "invitation_id": good.invitation_id})
        answered.append({"answered_id": good.invitation_id, "answered_when": row["received_at"]})
    connection = session.connection()
    _, insert_responses, mark_answered = _statements()
    # The rows each UPDATE matched, summed over the executemany (both drivers sum them): a
    # response inserted whatever the claim matched left a survey revoked meanwhile with a
    # counted evaluation under it (audit).
    claimed = connection.execute(mark_answered, answered).rowcount
    if claimed != len(answered):
        raise ClaimLost(f"{len(answered) - claimed} survey(s) changed since the check")
    connection.execute(insert_responses, responses)


def write_petitions(session: Session, goods: Sequence[Good], profile: Profile) -> None:
    """One by one through the petition service (as POST /api/v1/petitions): imported or
    updated by code, so that writing one twice changes nothing."""
    principal = importer()
    for good in goods:
        assert good.petition is not None
        try:
            petitions.upsert(session, principal, good.petition, profile, audited=False)
        except ServiceError as exc:
            # Its petition changed through the API since the check (a handled_at recorded
            # before the row's received_at, say): the refusal left the CLI as a traceback,
            # the job interrupted (audit). Checked again, the row is refused as it is now.
            raise ClaimLost(f"row {good.row}: {exc.detail}") from exc
