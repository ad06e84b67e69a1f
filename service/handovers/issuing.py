"""Issuing a handover's survey: the batch writer for a plain new dossier, one by one for
everything else (an update, a new staff code, a conflict), with the same answer either way.

The HTTP route only hands the payload here; which way it is written is this module's
business (batching.py says why new dossiers are batched).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from service.handovers import one_by_one, views
from service.handovers.batching import HandoverWriter
from service.handovers.schemas import HandoverCreate, HandoverPublic
from service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Outcome:
    view: HandoverPublic
    created: bool  # False: a dossier posted before (200)


async def issue(work: UnitOfWork, writer: HandoverWriter, payload: HandoverCreate) -> Outcome:
    one_by_one.check_times(payload)
    batched = await writer.issue(await work.authorize(), payload)
    if batched is not None:
        return Outcome(batched, created=True)

    def write_one(session: Session) -> Outcome:
        principal = work.principal(session)
        issued = one_by_one.issue(session, principal, payload, work.settings, work.profile)
        return Outcome(views.public_view(issued, work.settings), issued.created)

    # A short-code collision is only found by the COMMIT (the invitation goes out with it).
    return await work.run(write_one, conflict_retries=one_by_one.ATTEMPTS - 1)
