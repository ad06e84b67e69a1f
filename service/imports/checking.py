"""Checking imported rows with the API's own rules: its input models (HandoverCreate,
ResponseCreate, PetitionUpsert), its checks (handover times, answers against the
profile's questionnaire, the petition service itself), with what the database says (the
agency exists, the dossier does or does not yet), a buffer of rows per query.

A refused row is told by row number, column and a sentence saying what to change.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from sqlalchemy import ARRAY, String, any_, bindparam, select, tuple_
from sqlmodel import Session, col

from service.auth.principal import Principal
from service.csv_cells import FORMULA_STARTS
from service.errors import InvalidInput, ServiceError
from service.handovers.schemas import HandoverCreate
from service.handovers.service import check_times
from service.imports.layout import (
    BEYOND_HEADER,
    EVALUATION_COLUMNS,
    FREE_TEXT_COLUMNS,
    MARKERS,
    NOT_A_VALUE,
    NUMBER_AS_CODE,
    Kind,
)
from service.models import Agency, Dossier, Invitation, Response
from service.petitions import service as petitions
from service.petitions.schemas import PetitionUpsert
from service.profile import Profile
from service.surveys.answers import Answers
from service.surveys.api_answers import checked_json_answers
from service.surveys.schemas import ResponseCreate
from service.surveys.service import check_answered_after_receipt
from service.web.errors import _location, _problem

# Stands in for the survey's credential in ResponseCreate: an import names the dossier.
_IMPORT_CREDENTIAL = "import"
# An imported evaluation may answer an invitation in these states (an old one has expired
# by time long ago; an answered or revoked one may not be answered).
ANSWERABLE = ("issued", "opened")


@dataclass(frozen=True)
class Refusal:
    row: int
    column: str
    reason: str


@dataclass
class Evaluation:
    payload: ResponseCreate
    answers: Answers


@dataclass
class Good:
    """A row that passed, with what writing it needs."""

    row: int
    agency: Agency
    handover: HandoverCreate | None = None  # dossiers
    evaluation: Evaluation | None = None  # dossiers (optional), evaluations
    dossier_code: str | None = None  # evaluations
    invitation_id: int | None = None  # evaluations: the invitation it answers
    petition: PetitionUpsert | None = None  # petitions


Checked = Good | list[Refusal]


def _nested(cells: dict[str, Any], columns: Iterable[str]) -> dict[str, Any]:
    """The JSON body the API would get: empty cells left out, `a.b` columns nested."""
    body: dict[str, Any] = {}
    for name in columns:
        value = cells.get(name)
        if value is None:
            continue
        head, _, tail = name.partition(".")
        if tail:
            body.setdefault(head, {})[tail] = value
        else:
            body[name] = value
    return body


def _from_validation(row: int, exc: ValidationError, prefix: str = "") -> list[Refusal]:
    return [
        Refusal(row, prefix + _location(tuple(e["loc"])), _problem(dict(e))) for e in exc.errors()
    ]


def _from_service(row: int, exc: ServiceError) -> list[Refusal]:
    if isinstance(exc, InvalidInput) and exc.fields:
        return [Refusal(row, f["field"], f["problem"]) for f in exc.fields]
    return [Refusal(row, "", exc.detail)]


def _answered_after(
    row: int, evaluation: Evaluation, received_at: datetime | None, resolved_at: datetime
) -> list[Refusal]:
    """The API's refusal of an answer time before its dossier's result, as this row's."""
    submitted_at = evaluation.payload.submitted_at
    assert submitted_at is not None  # required of an import (_evaluation)
    try:
        check_answered_after_receipt(submitted_at, received_at, resolved_at)
    except ServiceError as exc:
        return _from_service(row, exc)
    return []


def _formulas(row: int, cells: dict[str, Any]) -> list[Refusal]:
    """A code, time or number cell that a spreadsheet would run as a formula is refused,
    not stored: there it is the file's mistake (a formula exported as its text). People's
    words (FREE_TEXT_COLUMNS) are kept as the API keeps them."""
    return [
        Refusal(
            row,
            name,
            f"starts with '{value[0]}', so it reads as a spreadsheet formula; type the "
            "value itself (without a leading =, +, - or @)",
        )
        for name, value in cells.items()
        if isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and name not in FREE_TEXT_COLUMNS
    ]


MARKERS_SET = frozenset(MARKERS)


def _marked(row: int, cells: dict[str, Any]) -> list[Refusal]:
    """What the file's layout found wrong with a row (layout.MARKERS)."""
    refusals = []
    if BEYOND_HEADER in cells:
        named = len(cells.keys() - MARKERS_SET)
        refusals.append(_beyond_header(row, cells[BEYOND_HEADER], named))
    if (column := cells.get(NUMBER_AS_CODE)) is not None:
        refusals.append(
            Refusal(
                row,
                column,
                "is a number in the spreadsheet, and a code typed as a number loses its "
                "zeros (007 becomes 7, 79.10 becomes 79.1): format the column as Text and "
                "type its codes again",
            )
        )
    refusals += [Refusal(row, column, reason) for column, reason in cells.get(NOT_A_VALUE, ())]
    return refusals


def _beyond_header(row: int, column: int, named: int) -> Refusal:
    letter = get_column_letter(column)
    return Refusal(
        row,
        "",
        f"has a value in column {letter} ({column}), past the header's last named column "
        f"({get_column_letter(named)}); name that column in the header or remove the value",
    )


def _key(*parts: object) -> int:
    """A record's identity in the file, as 8 bytes: a million of them fit in a few tens of
    MB (a collision, one in ~10^10 for a million rows, would refuse a row as a duplicate)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


@dataclass
class Checker:
    """One import's checks; `seen` holds the records of the file met so far."""

    kind: Kind
    profile: Profile
    agencies: dict[str, Agency]
    seen: set[int] = field(default_factory=set)

    @classmethod
    def load(cls, session: Session, kind: Kind, profile: Profile) -> Checker:
        agencies = {a.code: a for a in session.execute(select(Agency)).scalars()}
        for agency in agencies.values():
            session.expunge(agency)
        return cls(kind, profile, agencies)

    def check(self, session: Session, rows: list[tuple[int, dict[str, Any]]]) -> list[Checked]:
        """The rows of one buffer, in order: refused ones as their refusals."""
        checks: dict[Kind, Callable[[Session, list[tuple[int, dict[str, Any]]]], list[Checked]]]
        checks = {
            "dossiers": self._dossiers,
            "evaluations": self._evaluations,
            "petitions": self._petitions,
        }
        marked = {row: _marked(row, cells) for row, cells in rows if MARKERS_SET & cells.keys()}
        checked = iter(checks[self.kind](session, [r for r in rows if r[0] not in marked]))
        return [marked[row] if row in marked else next(checked) for row, _ in rows]

    # -- one row, without the database -------------------------------------------------------
    def _met_before(self, row: int, agency: Agency, code: str, met: str) -> list[Refusal]:
        """The refusal of a dossier the file named on an earlier row (saying how: `met`);
        none on its first row, which is noted."""
        key = _key(agency.id, code)
        if key in self.seen:
            return [
                Refusal(row, "dossier_code", f"dossier '{code}' of agency '{agency.code}' {met}")
            ]
        self.seen.add(key)
        return []

    def _agency(self, row: int, code: str) -> Agency | list[Refusal]:
        agency = self.agencies.get(code)
        if agency is None:
            return [
                Refusal(
                    row,
                    "agency_code",
                    f"no agency has the code '{code}'; register it first "
                    "(hailong agencies add/import) or correct the code",
                )
            ]
        return agency

    def _evaluation(self, row: int, cells: dict[str, Any]) -> Evaluation | list[Refusal]:
        body = _nested(cells, EVALUATION_COLUMNS)
        if "submitted_at" not in body:
            return [
                Refusal(
                    row,
                    "submitted_at",
                    "is required with an evaluation: the time the citizen answered, with "
                    "its offset, e.g. 2025-09-16T09:00:00+07:00",
                )
            ]
        body["token"] = _IMPORT_CREDENTIAL
        body.setdefault("answers", {})
        try:
            payload = ResponseCreate.model_validate(body)
            answers = checked_json_answers(self.profile, payload.answers, "import")
        except ValidationError as exc:
            return _from_validation(row, exc)
        except ServiceError as exc:
            return _from_service(row, exc)
        # Unique across every response: a repeat passed the checks and stopped the writing
        # half-way, a job that --resume could not finish (audit).
        if (submission := payload.client_submission_id) is not None:
            key = _key("client_submission_id", submission)
            if key in self.seen:
                return [Refusal(row, "client_submission_id", _REPEATED_SUBMISSION)]
            self.seen.add(key)
        return Evaluation(payload, answers)

    def _handover(self, row: int, cells: dict[str, Any]) -> Good | list[Refusal]:
        """The dossier and its evaluation, each checked whatever the other's problems: a
        row refused for its channel said nothing of its answer time and answers, heard of
        only after the next run of a file that may take an hour (imports audit)."""
        refusals = _formulas(row, cells)
        handover: HandoverCreate | None = None
        try:
            handover = HandoverCreate.model_validate(
                _nested({k: v for k, v in cells.items() if k not in EVALUATION_COLUMNS}, cells)
            )
            check_times(handover)
        except ValidationError as exc:
            refusals += _from_validation(row, exc)
        except ServiceError as exc:
            refusals += _from_service(row, exc)
        agency = self._agency(row, handover.agency_code) if handover is not None else None
        if isinstance(agency, list):
            refusals += agency
        evaluation = None
        if any(cells.get(name) is not None for name in EVALUATION_COLUMNS):
            checked = self._evaluation(row, cells)
            if isinstance(checked, list):
                refusals += checked
            else:
                evaluation = checked
        if evaluation is not None and handover is not None:
            refusals += _answered_after(row, evaluation, handover.received_at, handover.resolved_at)
        if refusals or handover is None or not isinstance(agency, Agency):
            return refusals
        met = "is on an earlier row of this file; keep one row per dossier"
        if again := self._met_before(row, agency, handover.dossier_code, met):
            return again
        return Good(row, agency, handover=handover, evaluation=evaluation)

    # -- a buffer of rows, with the database -------------------------------------------------
    def _dossiers(self, session: Session, rows: list[tuple[int, dict[str, Any]]]) -> list[Checked]:
        checked = _without_stored_submissions(
            session, [self._handover(row, cells) for row, cells in rows]
        )
        pairs = [(g.agency.id, g.handover.dossier_code) for g in _good(checked) if g.handover]
        stored = _stored_dossiers(session, pairs)
        return [
            [
                Refusal(
                    c.row,
                    "dossier_code",
                    f"dossier '{c.handover.dossier_code}' of agency '{c.agency.code}' is "
                    "already in hailong; an import adds new dossiers only: remove the row",
                )
            ]
            if isinstance(c, Good)
            and c.handover is not None
            and (c.agency.id, c.handover.dossier_code) in stored
            else c
            for c in checked
        ]

    def _evaluation_row(self, row: int, cells: dict[str, Any]) -> Good | list[Refusal]:
        refusals = _formulas(row, cells)
        if refusals:
            return refusals
        agency = self._agency(row, str(cells.get("agency_code") or ""))
        code = cells.get("dossier_code")
        if isinstance(agency, list):
            return agency
        if not isinstance(code, str):
            return [Refusal(row, "dossier_code", "is required: the code of the evaluated dossier")]
        evaluation = self._evaluation(row, cells)
        if isinstance(evaluation, list):
            return evaluation
        met = "is evaluated on an earlier row of this file; a dossier has one evaluation"
        if again := self._met_before(row, agency, code, met):
            return again
        return Good(row, agency, evaluation=evaluation, dossier_code=code)

    def _evaluations(
        self, session: Session, rows: list[tuple[int, dict[str, Any]]]
    ) -> list[Checked]:
        checked = _without_stored_submissions(
            session, [self._evaluation_row(row, cells) for row, cells in rows]
        )
        pairs = [(g.agency.id, g.dossier_code) for g in _good(checked) if g.dossier_code]
        invitations = _invitations(session, pairs)
        out: list[Checked] = []
        for c in checked:
            if isinstance(c, Good):
                found = invitations.get((int(c.agency.id or 0), c.dossier_code or ""))
                if found is None:
                    c = [
                        Refusal(
                            c.row,
                            "dossier_code",
                            f"agency '{c.agency.code}' has no dossier '{c.dossier_code}' in "
                            "hailong; import the dossier first (or correct the code)",
                        )
                    ]
                elif found[1] not in ANSWERABLE:
                    c = [
                        Refusal(
                            c.row,
                            "dossier_code",
                            f"the survey of dossier '{c.dossier_code}' is {found[1]}; it "
                            "cannot take another evaluation: remove the row",
                        )
                    ]
                else:
                    assert c.evaluation is not None
                    refused = _answered_after(c.row, c.evaluation, found[2], found[3])
                    if refused:
                        c = refused
                    else:
                        c.invitation_id = found[0]
            out.append(c)
        return out

    def _petitions(self, session: Session, rows: list[tuple[int, dict[str, Any]]]) -> list[Checked]:
        """Through the petition service itself, in transactions rolled back: the same rules
        as POST /api/v1/petitions, the dossier's included."""
        out: list[Checked] = []
        principal = importer()
        try:
            for row, cells in rows:
                refusals = _formulas(row, cells)
                if refusals:
                    out.append(refusals)
                    continue
                try:
                    payload = PetitionUpsert.model_validate(_nested(cells, cells))
                except ValidationError as exc:
                    out.append(_from_validation(row, exc))
                    continue
                agency = self._agency(row, payload.agency_code)
                if isinstance(agency, list):
                    out.append(agency)
                    continue
                key = _key(agency.id, payload.petition_code)
                if key in self.seen:
                    out.append(
                        [
                            Refusal(
                                row,
                                "petition_code",
                                f"petition '{payload.petition_code}' of agency "
                                f"'{agency.code}' is on an earlier row of this file; keep "
                                "one row per petition",
                            )
                        ]
                    )
                    continue
                # Each row in a transaction of its own, always rolled back (not a SAVEPOINT:
                # on SQLite, releasing one opened outside a transaction commits it).
                try:
                    petitions.upsert(session, principal, payload, self.profile, audited=False)
                except ServiceError as exc:
                    out.append(_from_service(row, exc))
                    continue
                finally:
                    session.rollback()
                self.seen.add(key)
                out.append(Good(row, agency, petition=payload))
        finally:
            session.rollback()
        return out


IMPORT_ACTOR = "cli:import"


def importer() -> Principal:
    """Who writes an import: the CLI, with an admin's reach."""
    return Principal.of_cli(IMPORT_ACTOR)


def _good(checked: list[Checked]) -> list[Good]:
    return [c for c in checked if isinstance(c, Good)]


_REPEATED_SUBMISSION = (
    "is on an earlier row of this file; a client_submission_id names one evaluation: "
    "give each its own, or leave the column empty"
)


def _without_stored_submissions(session: Session, checked: list[Checked]) -> list[Checked]:
    """The rows whose evaluation names a client_submission_id stored already refused (one
    query per buffer)."""

    def submission(c: Checked) -> str | None:
        if isinstance(c, Good) and c.evaluation is not None:
            return c.evaluation.payload.client_submission_id
        return None

    wanted = {s for c in checked if (s := submission(c)) is not None}
    if not wanted:
        return checked
    ids = col(Response.client_submission_id)
    stored = set(session.execute(select(ids).where(ids.in_(wanted))).scalars())
    return [
        [
            Refusal(
                c.row,
                "client_submission_id",
                f"'{submission(c)}' is stored already (an evaluation imported or given "
                "before): give this one its own, or leave the column empty",
            )
        ]
        if isinstance(c, Good) and submission(c) in stored
        else c
        for c in checked
    ]


def _stored_dossiers(session: Session, pairs: list[tuple[Any, str]]) -> set[tuple[int, str]]:
    """Which of these (agency id, dossier code) are stored: one query per agency, its codes
    as one array on PostgreSQL (thousands of bound pairs cost more to send than to run)."""
    if not pairs:
        return set()
    table = Dossier.__table__  # type: ignore[attr-defined]
    by_agency: dict[int, list[str]] = {}
    for agency_id, code in pairs:
        by_agency.setdefault(int(agency_id), []).append(code)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        codes = table.c.code == any_(bindparam("codes", type_=ARRAY(String)))
    else:
        codes = table.c.code.in_(bindparam("codes", expanding=True))
    query = select(table.c.code).where(table.c.agency_id == bindparam("agency"), codes)
    found: set[tuple[int, str]] = set()
    for agency_id, wanted in by_agency.items():
        rows = connection.execute(query, {"agency": agency_id, "codes": wanted})
        found.update((agency_id, str(code)) for (code,) in rows)
    return found


def _invitations(
    session: Session, pairs: list[tuple[Any, str]]
) -> dict[tuple[int, str], tuple[int, str, datetime | None, datetime]]:
    """(agency id, dossier code) -> (invitation id, its status, the dossier's received_at
    and resolved_at)."""
    if not pairs:
        return {}
    d = Dossier.__table__  # type: ignore[attr-defined]
    i = Invitation.__table__  # type: ignore[attr-defined]
    query = (
        select(d.c.agency_id, d.c.code, i.c.id, i.c.status, d.c.received_at, d.c.resolved_at)
        .join(i, i.c.dossier_id == d.c.id)
        .where(tuple_(d.c.agency_id, d.c.code).in_(bindparam("pairs", expanding=True)))
    )
    found = session.connection().execute(query, {"pairs": pairs})
    return {
        (int(a), str(code)): (int(iid), str(status), received, resolved)
        for a, code, iid, status, received, resolved in found
    }
