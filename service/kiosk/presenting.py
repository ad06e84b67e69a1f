"""Which survey a counter's tablet shows, and which surveys that tablet may answer.

A handover that names a counter presents its survey on that counter. A citizen may also
bring a survey to a tablet by typing its short code or dossier code or scanning its QR;
that is recorded as a presentation at the tablet's counter. A tablet answers only surveys
presented at its counter: a stolen device key cannot answer the whole province's surveys.
An answer kept in the outbox of a tablet moved since to another agency comes with its card's
ticket (tickets.py), which answers that one survey.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import Session, col, select

from service.errors import Forbidden, NotFound
from service.handovers import registry, tokens
from service.handovers.service import Issued, current_status, find_by_token
from service.kiosk.pairing import Device
from service.kiosk.schemas import SurveyCard
from service.models import Agency, Counter, Dossier, Invitation, KioskPresentation, utcnow
from service.surveys.service import ensure_answerable, find_by_short_code
from service.timebounds import CLOCK_SKEW

SURVEY_LINK = re.compile(r"/s/([A-Za-z0-9_\-]{20,128})")
# How long after its handover a dossier's survey is found by its dossier code at a tablet.
DOSSIER_CODE_WITHIN = timedelta(days=1)
log = logging.getLogger(__name__)


def card(invitation: Invitation, dossier: Dossier, agency_name: str) -> SurveyCard:
    assert invitation.id is not None
    return SurveyCard(
        cursor=invitation.id,
        survey_id=invitation.public_id,
        dossier_code=dossier.code,
        agency_name=agency_name,
        procedure_name=dossier.procedure_name,
        short_code=tokens.format_short_code(invitation.short_code),
        language=invitation.language,
    )


def _handed_over_at_counters() -> Any:
    """Invitations of dossiers handed over at a counter, with what a card shows."""
    return (
        select(Invitation, Dossier, Agency.name)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .join(Agency, col(Dossier.agency_id) == col(Agency.id))
        .where(col(Dossier.counter_id).is_not(None))
    )


# What a tablet is offered: a survey still to answer, handed over within the present window.
OFFERED = ("issued", "opened")


def _still_to_offer(window_minutes: int, now: datetime) -> tuple[ColumnElement[bool], ...]:
    """The conditions every way a card reaches a tablet applies (the next card, the waiting
    list, the feed): the feed once pushed imported month-old dossiers (kiosk audit).

    Recent by the handover's own time where it is given, not only by when the survey was
    issued: a handover posted late (a one-stop system catching up after an outage, the
    demo's history) put a stranger's dossier handed over months ago first on the tablet,
    ahead of the citizen standing there (kiosk walkthrough). That time is the one-stop
    system's clock, which may be behind ours by as much as it may be ahead (CLOCK_SKEW): a
    slow clock must not keep every survey from the tablets, nor the demo's printed curl,
    run a while after, from reaching one (review)."""
    since = now - timedelta(minutes=window_minutes)
    handed_over_at = col(Dossier.handed_over_at)
    return (
        col(Invitation.status).in_(OFFERED),
        col(Invitation.issued_at) >= since,
        or_(handed_over_at.is_(None), handed_over_at >= since - CLOCK_SKEW),
    )


def latest_for_counter(
    session: Session, counter_id: int, after: int | None, window_minutes: int
) -> SurveyCard | None:
    """The newest survey handed over at this counter and not answered, if recent enough."""
    now = utcnow()
    query = _handed_over_at_counters().where(
        Dossier.counter_id == counter_id, *_still_to_offer(window_minutes, now)
    )
    if after is not None:
        query = query.where(col(Invitation.id) > after)
    row = session.exec(query.order_by(col(Invitation.id).desc()).limit(1)).first()
    if row is None or current_status(row[0], now) not in OFFERED:
        return None
    return card(*row)


def waiting_for_counter(
    session: Session, counter_id: int, window_minutes: int, limit: int = 50
) -> list[SurveyCard]:
    """Every survey handed over at this counter within the window and not answered, oldest
    first: what a tablet that (re)connects must still offer, so that none is dropped. Past
    `limit`, the newest: the oldest were the tablet's to offer long ago (skipped, or timed
    out), and the tablet keeps only what this list names, so the 50 oldest of a burst left
    out the survey of the citizen at the counter now (kiosk audit)."""
    now = utcnow()
    newest_first = session.exec(
        _handed_over_at_counters()
        .where(Dossier.counter_id == counter_id, *_still_to_offer(window_minutes, now))
        .order_by(col(Invitation.id).desc())
        .limit(limit)
    ).all()
    rows = reversed(newest_first)
    return [card(*row) for row in rows if current_status(row[0], now) in OFFERED]


def counter_handovers_since(session: Session, after: int, limit: int) -> list[tuple[int, int]]:
    """(invitation id, counter id) of every survey issued with a counter after the invitation
    `after`: two integers a row, which the feed can afford to read again four times a
    second (building every card of its window each time cost 30-40 ms a poll)."""
    rows = session.exec(
        select(col(Invitation.id), col(Dossier.counter_id))
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .where(col(Invitation.id) > after, col(Dossier.counter_id).is_not(None))
        .order_by(col(Invitation.id))
        .limit(limit)
    ).all()
    return [(int(invitation_id or 0), int(counter_id or 0)) for invitation_id, counter_id in rows]


def cards_of(
    session: Session, invitation_ids: list[int], window_minutes: int
) -> list[tuple[int, SurveyCard]]:
    """(counter id, card) of these invitations, in their order: those a tablet would be
    offered by `waiting_for_counter`, unanswered and issued within the window. An import of
    last month's dossiers (issued when they were handed over, expired or answered) was
    pushed to the counters' tablets, a stranger's month-old dossier shown to the citizen at
    the counter, and past a tablet's 20 cards the present one never came (kiosk audit)."""
    if not invitation_ids:
        return []
    now = utcnow()
    rows = session.exec(
        _handed_over_at_counters()
        .where(col(Invitation.id).in_(invitation_ids), *_still_to_offer(window_minutes, now))
        .order_by(col(Invitation.id))
    ).all()
    cards = []
    for invitation, dossier, agency_name in rows:
        assert dossier.counter_id is not None
        if current_status(invitation, now) in OFFERED:
            cards.append((dossier.counter_id, card(invitation, dossier, agency_name)))
    return cards


def newest_invitation_id(session: Session) -> int:
    return session.exec(select(col(Invitation.id)).order_by(col(Invitation.id).desc())).first() or 0


def _find_typed(session: Session, device: Device, typed: str) -> Issued | None:
    text = typed.strip()
    link = SURVEY_LINK.search(text)
    if link:  # a scanned QR code: the survey's link
        return find_by_token(session, link.group(1))
    if len(tokens.normalize_short_code(text)) == tokens.SHORT_CODE_LENGTH:
        issued = find_by_short_code(session, text)
        if issued is not None:
            return issued
    # A dossier code: dossier codes run in sequence and are easy to guess, and a correct
    # guess is no miss for the throttle. A tablet (or a stolen device key) once collected
    # and answered every open survey of its agency, those sent to citizens by SMS included
    # (audit). So only the tablet's own agency's dossiers handed over at a counter within
    # DOSSIER_CODE_WITHIN: the citizen in front of it; any other survey by its short code.
    row = session.exec(
        select(Invitation, Dossier)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .where(
            Dossier.code == text,
            Dossier.agency_id == device.agency.id,
            col(Dossier.counter_id).is_not(None),
            col(Invitation.issued_at) >= utcnow() - DOSSIER_CODE_WITHIN,
        )
    ).first()
    if row is not None:
        return Issued(row[0], row[1], created=False)
    return find_by_token(session, text) if len(text) >= 20 else None


def present_typed(session: Session, device: Device, typed: str) -> SurveyCard:
    """Find the survey a citizen brought to the tablet and let this counter answer it."""
    issued = _find_typed(session, device, typed)
    if issued is None:
        raise NotFound(
            "No survey has this code. Check the survey code or dossier code on the slip."
        )
    ensure_answerable(issued.invitation)
    invitation, dossier = issued.invitation, issued.dossier
    assert invitation.id is not None and device.counter.id is not None
    if dossier.counter_id != device.counter.id:
        registry.record_presentation(session, device.counter.id, invitation.id)
    agency = session.get(Agency, dossier.agency_id)
    assert agency is not None
    return card(invitation, dossier, agency.name)


def find_for_answer(
    session: Session, device: Device, survey_id: str, ticket_shown_at: int | None = None
) -> Issued:
    """The survey a tablet is answering, if it was presented at one of its agency's counters,
    or if its card's ticket says it was shown to a tablet of agency `ticket_shown_at`
    (kiosk/tickets.py: checked by the caller for this survey_id).

    Not only at the tablet's own counter now: an answer waiting in a tablet's outbox was
    refused (and dropped) once the tablet was paired at another counter, or once the
    one-stop system corrected the dossier's counter (audit); at another agency's counter,
    only the ticket kept with the answer lets it in (review). A tablet still learns survey
    ids only from its own counter (its stream, its waiting list, what is typed at it), so a
    device key reaches nothing more than before."""
    row = session.exec(
        select(Invitation, Dossier)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .where(Invitation.public_id == survey_id)
    ).first()
    if row is None:
        raise NotFound("No survey has this survey_id.")
    invitation, dossier = row
    if not _presented_at_agency(session, device, invitation, dossier):
        if ticket_shown_at is None:
            raise Forbidden(
                "This survey was not handed over at a counter of this tablet's agency nor "
                "entered at one of its tablets."
            )
        log.info(
            "kiosk answer by ticket: survey %s shown at agency %s, sent from agency %s",
            survey_id,
            ticket_shown_at,
            device.agency.id,
        )
    return Issued(invitation, dossier, created=False)


def _presented_at_agency(
    session: Session, device: Device, invitation: Invitation, dossier: Dossier
) -> bool:
    # A dossier's counter is registered under the dossier's own agency (handovers/registry).
    if dossier.counter_id is not None and dossier.agency_id == device.agency.id:
        return True
    counters = select(col(Counter.id)).where(Counter.agency_id == device.agency.id)
    presented = session.exec(
        select(KioskPresentation.id).where(
            col(KioskPresentation.counter_id).in_(counters),
            KioskPresentation.invitation_id == invitation.id,
        )
    ).first()
    return presented is not None
