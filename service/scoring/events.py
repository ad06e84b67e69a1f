"""Keeping the counters live: every write of a dossier, response or petition goes through
here, in the same transaction, as "what it counted before" → "what it counts now"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from service.calendar.overrides import calendar_for_lateness
from service.calendar.working_days import local_date, overdue_working_days
from service.models import Dossier, Invitation, Petition, Response, utcnow
from service.profile import Profile
from service.scoring import counters
from service.scoring.contributions import (
    Delta,
    counts_in_group5,
    dossier_delta,
    petition_delta,
    response_delta,
)
from service.scoring.sql_rules import counted_in_group5
from service.webhooks import outbox


def response_of(session: Session, dossier: Dossier) -> Response | None:
    return session.exec(
        select(Response)
        .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
        .where(Invitation.dossier_id == dossier.id)
    ).first()


def dossier_footprint(
    session: Session, dossier: Dossier, profile: Profile, response: Response | None = None
) -> Delta:
    """What a dossier and its evaluation count for now (its staff may carry the evaluation)."""
    delta = dossier_delta(dossier, profile)
    response = response or (response_of(session, dossier) if dossier.id is not None else None)
    if response is not None:
        delta.add(response_delta(response, dossier, profile))
    return delta


@dataclass(frozen=True)
class Timeliness:
    resolved_day: date  # local (Asia/Ho_Chi_Minh) date of resolution
    is_late: bool
    overdue_working_days: int


def is_late(resolved_at: datetime, due_at: datetime | None) -> bool:
    return due_at is not None and resolved_at > due_at


def timeliness(
    resolved_at: datetime, due_at: datetime | None, overrides: Callable[[], Mapping[date, bool]]
) -> Timeliness:
    """A dossier's derived facts from its times; `overrides` is only called for a late one."""
    if due_at is None or not is_late(resolved_at, due_at):
        return Timeliness(local_date(resolved_at), False, 0)
    overdue = overdue_working_days(due_at, resolved_at, overrides())
    return Timeliness(local_date(resolved_at), True, overdue)


def derive_timeliness(
    session: Session, dossier: Dossier, overrides: dict[date, bool] | None = None
) -> None:
    """Fill the dossier's derived facts from its times and the working-day calendar."""
    derived = timeliness(
        dossier.resolved_at,
        dossier.due_at,
        lambda: overrides if overrides is not None else calendar_for_lateness(session),
    )
    dossier.resolved_day = derived.resolved_day
    dossier.is_late = derived.is_late
    dossier.overdue_working_days = derived.overdue_working_days


def record_change(session: Session, before: Delta, after: Delta) -> None:
    """Apply after − before to the counters (written at COMMIT: see `counters.apply`)."""
    change = Delta()
    change.add(after)
    change.add(before, sign=-1)
    counters.apply(session, change)


def petition_changed(
    session: Session, before: Petition | None, after: Petition, profile: Profile
) -> None:
    record_change(
        session,
        petition_delta(before, profile) if before else Delta(),
        petition_delta(after, profile),
    )
    if _open_deadline_moved(before, after, profile):
        # An open petition is late from its deadline on, as scores are read (aging.py): a
        # deadline moved changes the score with no counter moving, and the worker's sweep
        # only sees deadlines passing from now on. Portals heard no score.updated (audit).
        outbox.mark_scores_dirty(session, [(after.agency_id, after.received_day)])


def _open_deadline_moved(before: Petition | None, after: Petition, profile: Profile) -> bool:
    return (
        before is not None
        and before.handled_at is None
        and after.handled_at is None
        and before.deadline_at != after.deadline_at
        and counts_in_group5(after, profile)
    )


def mark_dossier(
    session: Session,
    dossier: Dossier,
    profile: Profile,
    *,
    unsatisfied: bool | None = None,
    petition: bool | None = None,
) -> None:
    """Flip the dossier flags group 5 c reads, moving its counters if they change."""
    flags, before = _flags(dossier), dossier_delta(dossier, profile)
    if unsatisfied:
        dossier.has_unsatisfied_evaluation = True
    if petition:
        dossier.has_petition = True
    _flags_moved(session, dossier, flags, before, profile)


def refresh_petition_flag(session: Session, dossier: Dossier, profile: Profile) -> None:
    """Re-read whether any petition that counts in group 5 still concerns the dossier (one
    was moved away)."""
    flags, before = _flags(dossier), dossier_delta(dossier, profile)
    dossier.has_petition = (
        session.exec(
            select(Petition.id).where(Petition.dossier_id == dossier.id, counted_in_group5(profile))
        ).first()
        is not None
    )
    _flags_moved(session, dossier, flags, before, profile)


def _flags(dossier: Dossier) -> tuple[bool, bool]:
    return dossier.has_unsatisfied_evaluation, dossier.has_petition


def _flags_moved(
    session: Session, dossier: Dossier, flags: tuple[bool, bool], before: Delta, profile: Profile
) -> None:
    """The counters moved from `before`, what the dossier counted with `flags`. A change of
    the flags dates the dossier: an answer waiting for this transaction reads the dossier
    again only when its updated_at changed (surveys.service.store), and had counted a
    dossier flagged meanwhile as newly bad, twice (audit)."""
    if _flags(dossier) != flags:
        dossier.updated_at = utcnow()
    session.add(dossier)
    record_change(session, before, dossier_delta(dossier, profile))


def snapshot(petition: Petition) -> Petition:
    return Petition.model_validate(petition.model_dump())
