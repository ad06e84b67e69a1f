"""A survey card's ticket: the server's signed word that this survey was shown to a tablet
of an agency entitled to answer it.

A tablet moved to another agency's counter still holds, in its outbox, the answers its
citizens gave at the old one; its new device key alone may not answer the old agency's
surveys (presenting.find_for_answer), the refusal is final for the outbox, and an answer the
citizen was thanked for was lost (review). The ticket travels with the answer and lets in
that one survey only, as the survey link's token does on a phone. It reads nothing: no
survey is ever looked up by its ticket.
"""

from __future__ import annotations

import re

from service.auth.compare import same_secret
from service.handovers import tokens
from service.kiosk.schemas import TICKET_MAX_LENGTH, SurveyCard

# Its own label: an HMAC of one kind never passes for another kind (handovers/tokens.py).
LABEL = b"kiosk-ticket:"
# "<agency id>.<HMAC>": the agency it was shown at, in clear for the log, signed with it.
SHAPE = re.compile(r"([0-9]{1,19})\.[A-Za-z0-9_\-]{43}")


def issue(signing_key: bytes, survey_id: str, agency_id: int) -> str:
    mac = tokens.token_from_seed(signing_key, f"{survey_id}:{agency_id}", label=LABEL)
    ticket = f"{agency_id}.{mac}"
    assert len(ticket) <= TICKET_MAX_LENGTH
    return ticket


def stamped(card: SurveyCard, signing_key: bytes, agency_id: int | None) -> SurveyCard:
    """The card as the tablet of `agency_id` receives it: with its ticket."""
    assert agency_id is not None
    return card.model_copy(update={"ticket": issue(signing_key, card.survey_id, agency_id)})


def shown_at(signing_key: bytes, ticket: str | None, survey_id: str) -> int | None:
    """The agency a valid ticket of this survey was shown at; None for no ticket, a forged
    one, or one of another survey."""
    matched = SHAPE.fullmatch(ticket) if ticket else None
    if ticket is None or matched is None:
        return None
    agency_id = int(matched.group(1))
    return agency_id if same_secret(ticket, issue(signing_key, survey_id, agency_id)) else None
