"""Who may read which evaluations and petitions, and the audit record of every read of the
citizens' own words."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Literal

from sqlalchemy import Engine, Row
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from service import audit
from service.admin.agencies import get_agency_by_code
from service.auth.principal import Principal
from service.auth.roles import MANAGERS
from service.errors import Forbidden, NotFound, field_error
from service.evaluations import query
from service.evaluations.query import Selection
from service.evaluations.schemas import (
    Answers,
    DossierFactsPublic,
    EvaluationPage,
    EvaluationPublic,
    PrivateText,
    StaffCodes,
)
from service.models.write_order import put_first_rows_from_another_server
from service.periods import Period
from service.profile import Profile
from service.scoring.sql_rules import PETITIONS, RESPONSES

log = logging.getLogger("hailong.evaluations")

# Auditors read the audit log and nothing else (service/models/access.py): an inspection of
# the scores is done with a reader key, which already reads the same evaluations through
# /scores/.../explain.
PRIVATE_ROLE = "admin"
# Who reads whose dossier each answer rated (the staff codes, the staff_code filter): the
# roles /staff-scores is open to. A reader (a portal, which may publish) was handed one
# officer's single answers that staff-scores withholds below the anonymity minimum
# (DESIGN "Staff"); /explain names no staff either (scoring audit).
Kind = Literal["evaluations", "petitions"]
# What each kind's `source` filter can name (models: Response.source, Petition.source).
# Another value filtered every row out, and an export of none read as "no evaluations this
# quarter" (exports audit): `source=Phone`, or `phone` on petitions, as the shared
# parameter's example said.
SOURCES: dict[Kind, tuple[str, ...]] = {
    "evaluations": ("phone", "kiosk", "api"),
    "petitions": ("survey", "import"),
}


@dataclass(frozen=True)
class Filters:
    """What the caller asked for, before its key's scope is applied."""

    agency_code: str | None = None
    subtree: bool = True
    period: Period | None = None
    source: str | None = None
    staff_code: str | None = None
    include_private: bool = False

    def described(self) -> dict[str, Any]:
        """For the audit record: every filter, as asked."""
        return {
            "agency_code": self.agency_code,
            "subtree": self.subtree,
            "period": self.period.key if self.period else None,
            "source": self.source,
            "staff_code": self.staff_code,
        }


def _either(names: tuple[str, ...]) -> str:
    return f"{', '.join(names[:-1])} or {names[-1]}"


def resolve(
    session: Session, principal: Principal, kind: Kind, filters: Filters, profile: Profile
) -> Selection:
    """The rows the caller asked for within its key's scope: 403 for an agency outside it,
    for private text without an admin key or for a staff member's answers without a
    manager's or an admin's, 404 for an unknown agency, 422 for a filter no row of this
    kind can match."""
    if filters.source is not None and filters.source not in SOURCES[kind]:
        raise field_error(
            "source", f"{kind} come from {_either(SOURCES[kind])}: name one of these, or none"
        )
    if kind == "petitions" and filters.staff_code is not None:
        raise field_error("staff_code", "petitions are not scored per staff member: leave it out")
    if filters.include_private and principal.role != PRIVATE_ROLE:
        raise Forbidden(
            "The citizens' own words and contacts (include_private) are read with an admin "
            "key only, and every such read is recorded in the audit log."
        )
    with_staff = principal.role in MANAGERS
    if filters.staff_code is not None and not with_staff:
        raise Forbidden(
            "Answers by staff member are read with a manager or admin key; a per-staff "
            "score is at /api/v1/agencies/{code}/staff-scores/{period}, shown where it rests "
            "on enough answers to keep the citizens anonymous."
        )
    agency_id, prefix = None, principal.scope_path
    if filters.agency_code is not None:
        agency = get_agency_by_code(session, filters.agency_code)
        if agency is None:
            raise NotFound(f"No agency has the code '{filters.agency_code}'.")
        principal.require_scope(agency)
        if filters.subtree:
            prefix = agency.path
        else:
            agency_id, prefix = agency.id, None
    period = filters.period
    return Selection(
        agency_id=agency_id,
        path_prefix=prefix,
        first_day=period.first_day if period else None,
        last_day=period.last_day if period else None,
        source=filters.source,
        staff_code=filters.staff_code,
        staff_role=profile.staff.role_for_evaluations,
        include_private=filters.include_private,
        with_staff=with_staff,
        scope_path=principal.scope_path,
    )


def _record_private_read(
    session: Session, principal: Principal, kind: Kind, how: str, filters: Filters, count: int
) -> None:
    detail = {"filters": filters.described(), "count": count, "how": how}
    audit.record(session, principal.actor, f"{kind}.read_private", None, detail)


def page(
    session: Session,
    principal: Principal,
    filters: Filters,
    profile: Profile,
    cursor: int | None,
    limit: int,
) -> EvaluationPage:
    """A page of evaluations after the response `cursor`, in the order a reader follows
    (query.evaluation_page); `next_cursor` when there may be more."""
    chosen = resolve(session, principal, "evaluations", filters, profile)
    rows = query.evaluation_page(session, chosen, profile, cursor, limit)
    data = [evaluation_public(row, chosen.include_private) for row in rows]
    if chosen.include_private:  # in the same transaction as the read it records
        _record_private_read(session, principal, "evaluations", "api", filters, len(data))
    more = len(data) == limit
    return EvaluationPage(
        data=data, count=len(data), next_cursor=data[-1].response_id if more else None
    )


def put_first_answers_from_another_server(engine: Engine) -> None:
    """At start: answers restored from another server's dump keep that server's transaction
    ids, which the pages' order reads (models/write_order.py); put first, none is skipped.
    PostgreSQL's alone (SQLite's are all 0; its no-op UPDATE waited for the write lock).
    A database not reached, not migrated, read-only or a standby is left as it is (the
    service starts as it always has; a read-only one stopped the start: review): a
    restore's rows then wait for the next start that can write."""
    if engine.dialect.name != "postgresql":
        return
    try:
        with engine.begin() as connection:
            moved = put_first_rows_from_another_server(connection, RESPONSES)
    except DBAPIError as exc:
        reason = str(exc.orig or exc).splitlines()[0]
        log.warning("answers restored from another server not checked at start: %s", reason)
        return
    if moved:
        log.warning(
            "%d answers were stored by transactions ahead of this database server's (restored "
            "from another server?): GET /api/v1/evaluations now lists them first",
            moved,
        )


def start_export(
    session: Session, principal: Principal, kind: Kind, filters: Filters, profile: Profile
) -> Selection:
    """An export's rows, fixed at its start (none written later joins it); a private one is
    counted and recorded before its first row leaves."""
    chosen = resolve(session, principal, kind, filters, profile)
    table = RESPONSES if kind == "evaluations" else PETITIONS
    chosen = replace(chosen, up_to_id=query.highest_id(session, table))
    if chosen.include_private:
        counter = query.evaluation_count if kind == "evaluations" else query.petition_count
        count = counter(session, chosen, profile)
        _record_private_read(session, principal, kind, "export", filters, count)
    return chosen


def evaluation_public(row: Row[Any], include_private: bool) -> EvaluationPublic:
    m = row._mapping
    return EvaluationPublic(
        response_id=m["id"],
        received_at=m["received_at"],
        received_day=m["received_day"],
        agency_code=m["agency_code"],
        source=m["source"],
        answers=Answers(
            timeliness=m["timeliness"],
            supplement_requests=m["supplement_requests"],
            staff_attitude=m["staff_attitude"],
            overall=m["overall"],
            agencies_contacted=m["agencies_contacted"],
        ),
        group5_satisfied=not m["unsatisfied"],
        dossier=DossierFactsPublic(
            dossier_code=m["dossier_code"],
            agency_code=m["dossier_agency_code"],
            procedure_code=m["procedure_code"],
            procedure_name=m["procedure_name"],
            received_at=m["dossier_received_at"],
            due_at=m["due_at"],
            resolved_at=m["resolved_at"],
            handed_over_at=m["handed_over_at"],
            on_time=not m["is_late"],
            overdue_working_days=m["overdue_working_days"],
            supplement_requests=m["dossier_supplement_requests"],
            channel=m["channel"],
            counter_code=m["counter_code"],
            staff=StaffCodes(
                receiving=m["receiving_staff_code"],
                handling=m["handling_staff_code"],
                returning=m["returning_staff_code"],
            ),
        ),
        private=PrivateText(complaint=m["complaint"], contact=m["contact"])
        if include_private
        else None,
    )
