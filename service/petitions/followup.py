"""The citizen's private follow-up link of a petition opened from a survey complaint.

Built like a survey token (service/handovers/tokens.py): token = HMAC(signing key, seed).
The petition keeps the random seed and the token's SHA-256, never the token, so a copy of
the database alone opens nothing, yet the service can show the same link again.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from service.handovers import tokens
from service.models import Agency, Dossier, Invitation, Petition, Response, utcnow
from service.petitions.views import PetitionFacts
from service.profile import Profile
from service.scoring.contributions import petition_scored, petition_state

FOLLOWUP_PATH = "/p/"


def token_from_seed(signing_key: bytes, seed: str) -> str:
    return tokens.token_from_seed(signing_key, seed, label=b"petition-followup:")


def issue(petition: Petition, signing_key: bytes) -> str:
    """Give the petition its follow-up token (once) and return it; idempotent."""
    if petition.followup_seed is None:
        petition.followup_seed = tokens.new_seed()
    token = token_from_seed(signing_key, petition.followup_seed)
    petition.followup_token_hash = tokens.hash_token(token)
    return token


def link(base_url: str, token: str) -> str:
    return f"{base_url}{FOLLOWUP_PATH}{token}"


def shown_link(
    session: Session, petition: Petition | None, signing_key: bytes, base_url: str
) -> str | None:
    """The link to show the citizen who wrote the complaint (the petition gets its token
    hash on the first showing, in this transaction); None when it has no follow-up link."""
    if petition is None or petition.followup_seed is None:
        return None
    token = issue(petition, signing_key)  # idempotent
    session.add(petition)
    return link(base_url, token)


def find(session: Session, token: str, *, for_update: bool = False) -> Petition | None:
    """The petition behind a follow-up token. `for_update` locks its row (PostgreSQL), so
    that two verdicts sent at once cannot both count."""
    if not token or len(token) > 128:
        return None
    query = select(Petition).where(Petition.followup_token_hash == tokens.hash_token(token))
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


@dataclass
class FollowupView(PetitionFacts):
    """What the citizen sees: status, deadline, the reply, the verdict. No staff, no key."""

    handled_on_time: bool
    # contributions.petition_state now: the console's and the score's rule, so the page
    # calls an open petition overdue the moment its deadline passes, as they do (it waited
    # a whole working day after the deadline's day: "still being handled" over a weekend).
    state: str
    # Whether the petition is in the agency's score now (contributions.petition_scored), so
    # whether the page may say the delay or the verdict counts: under the default profile
    # survey feedback counts nowhere, yet the page said it did (audit).
    in_score: bool
    # A comment (góp ý) asked for no answer: the page must not promise one (reviewer); it
    # got the link because the citizen left a contact.
    asks_reply: bool
    language: str | None

    @property
    def status(self) -> str:
        if self.handled_at is None:
            return "overdue" if self.state == "late" else "pending"
        return "replied"

    @property
    def can_judge(self) -> bool:
        return self.handled_at is not None and self.verdict is None


def view(session: Session, petition: Petition, profile: Profile) -> FollowupView:
    """`profile`: the service's, which decides whether the petition counts."""
    agency = session.get(Agency, petition.agency_id)
    assert agency is not None
    dossier = session.get(Dossier, petition.dossier_id) if petition.dossier_id else None
    complaint, language = None, None
    if petition.response_id is not None:
        row = session.exec(
            select(Response.complaint, Invitation.language)
            .join(Invitation, col(Invitation.id) == col(Response.invitation_id))
            .where(Response.id == petition.response_id)
        ).first()
        if row is not None:
            complaint, language = row
    now = utcnow()
    return FollowupView(
        **PetitionFacts.fields(petition, agency.name, dossier.code if dossier else None, complaint),
        handled_on_time=petition.handled_on_time,
        state=petition_state(petition, now),
        in_score=petition_scored(petition, profile, now),
        asks_reply=petition.kind == "petition",
        language=language,
    )
