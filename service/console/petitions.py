"""The petitions inbox: deadlines in working days, overdue first, and one petition's page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from sqlalchemy import func
from sqlmodel import Session, col, select

from service.calendar.overrides import load_overrides
from service.calendar.working_days import local_date, overdue_working_days
from service.models import Agency, Invitation, Petition, Response, ResponseContact, utcnow
from service.models.petition_dossier import dossier_code, petitions_with_dossier_codes
from service.petitions.views import PetitionFacts
from service.profile import Profile
from service.scoring import contributions as rules

LIST_LIMIT = 200
Show = Literal["open", "handled", "all"]


@dataclass
class Timing:
    """A petition's deadline in working days, as the inbox states it."""

    state: Literal["open", "due_today", "overdue", "no_deadline", "on_time", "late"]
    days: int = 0


def timing(petition: Petition, now: datetime, overrides: Mapping[date, bool]) -> Timing:
    deadline, handled = petition.deadline_at, petition.handled_at
    if handled is not None:
        if deadline is None or handled <= deadline:
            return Timing("on_time")
        return Timing("late", overdue_working_days(deadline, handled, overrides))
    if deadline is None:
        return Timing("no_deadline")
    if now > deadline:
        return Timing("overdue", overdue_working_days(deadline, now, overrides))
    if local_date(now) == local_date(deadline):
        return Timing("due_today")
    # Working days after today up to and including the deadline's day.
    return Timing("open", overdue_working_days(now, deadline, overrides))


@dataclass
class InboxRow:
    id: int
    code: str
    source: str
    dossier_code: str | None
    received_at: datetime
    deadline_at: datetime | None
    handled_at: datetime | None
    timing: Timing
    verdict: str | None
    kind: str


@dataclass
class Inbox:
    rows: list[InboxRow]
    total: int
    open_count: int
    overdue_count: int
    first: int = 1  # the place in the list of the first row shown (1-based)

    @property
    def has_more(self) -> bool:
        return self.first - 1 + len(self.rows) < self.total


def inbox(session: Session, agency: Agency, show: Show, page: int = 1) -> Inbox:
    """Open petitions by deadline, so the overdue ones come first; handled ones newest first;
    LIST_LIMIT a page. Past the first 200 a handled petition (its reply to correct) had no
    link anywhere in the console (console audit)."""
    now = utcnow()
    mine = Petition.agency_id == agency.id
    is_open = col(Petition.handled_at).is_(None)
    # The summary counts petitions owed an answer: a comment asks none (DESIGN: comments
    # are not petitions), and was counted "chưa trả lời" for ever (audit).
    owed = Petition.kind == "petition"
    open_count = session.exec(
        select(func.count()).select_from(Petition).where(mine, owed, is_open)
    ).one()
    overdue_count = session.exec(
        select(func.count())
        .select_from(Petition)
        .where(mine, owed, is_open, col(Petition.deadline_at) < now)
    ).one()
    query = petitions_with_dossier_codes(agency)
    by_deadline = (col(Petition.deadline_at).is_(None), col(Petition.deadline_at), col(Petition.id))
    if show == "open":
        # What the summary counts: a comment that asked for no answer sat in "not answered"
        # under "0 not answered yet", cleared only by a reply nobody asked for (console
        # audit). It stays under "all" and the comments tab.
        query = query.where(mine, owed, is_open).order_by(*by_deadline)
    elif show == "handled":
        query = query.where(mine, col(Petition.handled_at).is_not(None)).order_by(
            col(Petition.handled_at).desc(), col(Petition.id)
        )
    else:
        query = query.where(mine).order_by(col(Petition.handled_at).is_not(None), *by_deadline)
    total = session.exec(
        select(func.count()).select_from(query.with_only_columns(col(Petition.id)).subquery())
    ).one()
    overrides = load_overrides(session)
    rows = []
    skipped = (page - 1) * LIST_LIMIT
    for petition, shown_code in session.exec(query.offset(skipped).limit(LIST_LIMIT)).all():
        assert petition.id is not None
        rows.append(
            InboxRow(
                id=petition.id,
                code=petition.code,
                source=petition.source,
                dossier_code=shown_code,
                received_at=petition.received_at,
                deadline_at=petition.deadline_at,
                handled_at=petition.handled_at,
                timing=timing(petition, now, overrides),
                verdict=petition.citizen_verdict,
                kind=petition.kind,
            )
        )
    return Inbox(rows, total, open_count, overdue_count, skipped + 1)


@dataclass
class PetitionView(PetitionFacts):
    id: int
    code: str
    source: str
    agency_code: str
    timing: Timing
    within_authority: bool
    replied_at: datetime | None
    replied_by: str | None
    verdict_at: datetime | None
    kind: str  # "petition": an answer is owed; "comment": a remark, no answer asked
    counts_in_group5: bool  # a national-channel petition (or the profile counts survey ones)
    counts_against_group5: bool  # at this moment: handled late, overdue, or judged badly
    has_followup: bool  # the citizen has a follow-up link to read the reply at
    # The phone or e-mail the citizen left with the comment, consenting that the office
    # keep it and contact them back: no page showed it, so no one could (survey audit).
    contact: str | None = None
    # The language the complaint was written in (its text is read out with its rules, WCAG
    # 3.1.2): the answer's, else its survey's; "vi" for an imported petition.
    complaint_lang: str = "vi"


def find_petition(
    session: Session, petition_id: int, *, for_update: bool = False
) -> Petition | None:
    query = select(Petition).where(Petition.id == petition_id)
    if for_update:  # two managers answering at once: the second waits, then counts right
        query = query.with_for_update()
    return session.exec(query).first()


def petition_view(
    session: Session, petition: Petition, agency: Agency, profile: Profile
) -> PetitionView:
    response = session.get(Response, petition.response_id) if petition.response_id else None
    assert petition.id is not None
    now = utcnow()
    facts = PetitionFacts.fields(
        petition,
        agency.name,
        dossier_code(session, petition, agency),
        response.complaint if response else None,
    )
    return PetitionView(
        **facts,
        id=petition.id,
        code=petition.code,
        source=petition.source,
        agency_code=agency.code,
        timing=timing(petition, now, load_overrides(session)),
        within_authority=petition.within_authority,
        replied_at=petition.replied_at,
        replied_by=petition.replied_by,
        verdict_at=petition.verdict_at,
        kind=petition.kind,
        counts_in_group5=rules.counts_in_group5(petition, profile),
        counts_against_group5=rules.petition_against_group5(petition, profile, now),
        has_followup=petition.followup_seed is not None,
        contact=_contact(session, petition),
        complaint_lang=_survey_language(session, response),
    )


def _survey_language(session: Session, response: Response | None) -> str:
    """The language the citizen wrote in: the answer's, else (stored before it was kept)
    the survey's."""
    if response is None:
        return "vi"
    if response.language is not None:
        return response.language
    language = session.exec(
        select(Invitation.language).where(Invitation.id == response.invitation_id)
    ).first()
    return language or "vi"


def _contact(session: Session, petition: Petition) -> str | None:
    if petition.response_id is None:
        return None
    return session.exec(
        select(ResponseContact.contact).where(ResponseContact.response_id == petition.response_id)
    ).first()
