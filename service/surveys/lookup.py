"""Finding a survey to show or answer: its invitation, dossier and agency, whether it was
answered, and the response stored earlier under the request's client_submission_id — one
statement, built once from the tables (SQLAlchemy Core), read into plain rows.

Why not ORM objects: answering reads a few columns and writes the rest with Core
statements (service.py), so loading three mapped objects per request, and their identity
map, cost more than the query itself (py-spy and cProfile of the answer path, bench/README
"Answers"). The rows are read by attribute as the models are (`Row`): the scoring rules
take them for a Dossier and a Response (service/scoring/contributions.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, bindparam, literal, select
from sqlmodel import Session

from service import throttle
from service.handovers import tokens
from service.handovers.service import Issued
from service.models import Agency, Dossier, Invitation, Petition, Response

Params = Mapping[str, Any]


class Row:
    """A table's row as plain attributes (every column, by name): what the ORM object would
    hold, without the ORM. Not in any session: changing it writes nothing."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:  # only for the type checker: every column
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.__dict__[name] = value


@dataclass
class Survey:
    """An invitation with what showing or answering it reads."""

    invitation: Row  # every column of the invitation
    dossier: Row  # every column of its dossier
    agency_code: str
    agency_name: str
    # The survey's response, when it was answered, and the petition its comment opened.
    answer_id: int | None = None
    answer_source: str | None = None
    answer_petition_id: int | None = None
    # The response stored earlier under the request's client_submission_id, and the
    # invitation it answered (another one: the id was reused).
    earlier_id: int | None = None
    earlier_invitation_id: int | None = None

    @classmethod
    def of(cls, session: Session, issued: Issued) -> Survey:
        """The same from mapped objects (a kiosk finds its survey through the ORM)."""
        agency = session.get(Agency, issued.dossier.agency_id)
        assert agency is not None
        return cls(
            Row(_values(issued.invitation, _columns(Invitation))),
            Row(_values(issued.dossier, _columns(Dossier))),
            agency.code,
            agency.name,
        )


def _values(obj: Any, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in names}


@lru_cache(maxsize=8)
def _columns(model: Any) -> tuple[str, ...]:
    return tuple(c.name for c in model.__table__.columns)


@lru_cache(maxsize=2)
def _statement(by: str) -> Select[Any]:
    """Found by token hash (`by` "token") or short code ("short_code"); the submission id
    bound as `submission_id` (None: none), and the guessing throttle's count read beside
    it (throttle.failures_column): always one row, from a one-row table that the survey's
    tables are joined to (outer joins), so the count comes back when nothing is found."""
    invitation = Invitation.__table__  # type: ignore[attr-defined]
    dossier = Dossier.__table__  # type: ignore[attr-defined]
    agency = Agency.__table__  # type: ignore[attr-defined]
    answer = Response.__table__.alias("answer")  # type: ignore[attr-defined]
    earlier = Response.__table__.alias("earlier")  # type: ignore[attr-defined]
    petition = Petition.__table__  # type: ignore[attr-defined]
    # The thank-you page shows the comment's petition: one read fewer on every answer
    # given on the phone. (A subquery: a response opens one petition, but no key says so.)
    answer_petition = (
        select(petition.c.id).where(petition.c.response_id == answer.c.id).limit(1)
    ).scalar_subquery()
    condition = (
        invitation.c.token_hash == bindparam("key")
        if by == "token"
        else invitation.c.short_code == bindparam("key")
    )
    one_row = select(literal(1).label("one")).subquery("one_row")
    return select(
        throttle.failures_column(),
        *invitation.c,
        *dossier.c,
        agency.c.code,
        agency.c.name,
        answer.c.id,
        answer.c.source,
        answer_petition,
        earlier.c.id,
        earlier.c.invitation_id,
    ).select_from(
        one_row.outerjoin(invitation, condition)
        .outerjoin(dossier, dossier.c.id == invitation.c.dossier_id)
        .outerjoin(agency, agency.c.id == dossier.c.agency_id)
        .outerjoin(answer, answer.c.invitation_id == invitation.c.id)
        # At most one row: client_submission_id is unique, and NULL matches nothing.
        .outerjoin(earlier, earlier.c.client_submission_id == bindparam("submission_id"))
    )


# (the throttle's failure count, the survey or None): what Guess.look_counting takes.
Counted = tuple[int | None, Survey | None]


def _find(
    session: Session, by: str, key: str | None, submission_id: str | None, throttle_params: Params
) -> Counted:
    found = (
        session.connection()
        .execute(_statement(by), {"key": key, "submission_id": submission_id, **throttle_params})
        .one()
    )
    failures = found[0]
    invitation_names, dossier_names = _columns(Invitation), _columns(Dossier)
    split = 1 + len(invitation_names)
    end = split + len(dossier_names)
    if found[1] is None:  # no invitation has this key
        return failures, None
    code, name, answer_id, source, petition_id, earlier_id, earlier_of = found[end:]
    return failures, Survey(
        Row(dict(zip(invitation_names, found[1:split], strict=True))),
        Row(dict(zip(dossier_names, found[split:end], strict=True))),
        code,
        name,
        answer_id=answer_id,
        answer_source=source,
        answer_petition_id=petition_id,
        earlier_id=earlier_id,
        earlier_invitation_id=earlier_of,
    )


def by_token(
    session: Session, token: str, submission_id: str | None, throttle_params: Params
) -> Counted:
    """`throttle_params`: from `Guess.look_counting`, which this is run by."""
    # A real token is 43 characters (tokens.py): anything far longer is nobody's survey,
    # and not worth hashing (NULL matches no row; the count is read all the same).
    key = tokens.hash_token(token) if token and len(token) <= 128 else None
    return _find(session, "token", key, submission_id, throttle_params)


def by_short_code(
    session: Session, typed: str, submission_id: str | None, throttle_params: Params
) -> Counted:
    code = tokens.normalize_short_code(typed)
    key = code if len(code) == tokens.SHORT_CODE_LENGTH else None
    return _find(session, "short_code", key, submission_id, throttle_params)


def dossier_row(session: Session, dossier_id: int) -> Row:
    """A dossier's every column, read now (an answer whose dossier was posted again while
    it waited: service.store)."""
    dossier = Dossier.__table__  # type: ignore[attr-defined]
    found = session.connection().execute(select(dossier).where(dossier.c.id == dossier_id)).one()
    return Row(dict(found._mapping))
