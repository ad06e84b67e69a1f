"""What the one-stop system gets back for an invitation: its survey links and short code."""

from __future__ import annotations

from datetime import datetime

from service.handovers import tokens
from service.handovers.invitations import Issued, current_status
from service.handovers.schemas import HandoverPublic, InvitationStatus
from service.messaging.schemas import MessagePublic
from service.settings import Settings


def public_view(issued: Issued, settings: Settings) -> HandoverPublic:
    invitation = issued.invitation
    return link_view(
        settings,
        token=tokens.token_from_seed(settings.signing_key(), invitation.token_seed),
        dossier_code=issued.dossier.code,
        survey_id=invitation.public_id,
        short_code=invitation.short_code,
        expires_at=invitation.expires_at,
        status=current_status(invitation),
        messages=issued.messages,
    )


def link_view(
    settings: Settings,
    *,
    token: str,
    dossier_code: str,
    survey_id: str,
    short_code: str,
    expires_at: datetime,
    status: InvitationStatus,
    messages: list[MessagePublic] | None = None,
) -> HandoverPublic:
    """The view from loose fields: the batch writer answers without Invitation rows."""
    survey_url = f"{settings.base_url}/s/{token}"
    return HandoverPublic(
        survey_id=survey_id,
        dossier_code=dossier_code,
        survey_url=survey_url,
        short_code=tokens.format_short_code(short_code),
        qr_svg_url=f"{survey_url}/qr.svg",
        qr_png_url=f"{survey_url}/qr.png",
        slip_url=f"{survey_url}/slip",
        expires_at=expires_at,
        status=status,
        messages=messages or [],
    )
