"""A message as it goes out, composed from its outbox row when it is sent (so with the
survey's link of that moment): its words (texts.py), its links, and the key that tells one
link's message from another's."""

from __future__ import annotations

import hashlib
import hmac

from service.i18n import DEFAULT_LANGUAGE, pick_language
from service.messaging import contacts, texts
from service.messaging.channels.base import OutgoingMessage
from service.models import Agency, Dossier, Invitation, OutgoingMessageRow
from service.settings import Settings

LINK_KEY_BYTES = 6  # 48 bits: two links of one message never share a key


def keyed_tag(signing_key: bytes, seed: str) -> str:
    """A short tag of `seed` under the install's key, telling nothing of it: what makes a
    message's id its own (OutgoingMessage.link_key)."""
    return hmac.new(signing_key, seed.encode(), hashlib.sha256).digest()[:LINK_KEY_BYTES].hex()


def link_key(signing_key: bytes, invitation: Invitation) -> str:
    """Which link of the survey a message carries, keyed so that it tells nothing of it:
    a survey issued again after a revoke sends its rows again with a new link (a new token
    seed), which every provider must take as a new message (OutgoingMessage.send_key)."""
    return keyed_tag(signing_key, f"message-link:{invitation.token_seed}")


def opt_out_link(base: str, token: str, invitation_language: str | None, channel: str) -> str:
    """The "Từ chối nhận tin" link, opening its page in the invitation's language (the
    token knows only the contact), in an e-mail. An SMS's and a Zalo message's link stays
    bare: eight characters more moved an English SMS to the text without diacritics, or
    past its two segments (review); their page has its language switch."""
    language = pick_language(invitation_language)
    if channel != "email" or language == DEFAULT_LANGUAGE:
        return f"{base}/u/{token}"
    return f"{base}/u/{token}?lang={language}"


def compose(
    settings: Settings,
    row: OutgoingMessageRow,
    invitation: Invitation,
    dossier: Dossier,
    agency: Agency,
    address: str,
) -> OutgoingMessage:
    """ValueError for an SMS that cannot fit (texts.sms_text)."""
    key = settings.signing_key()
    base = settings.base_url
    # Cleaned once here, for every channel: the names are stored as they were given.
    agency_name = texts.name_in_text(agency.name)
    procedure = texts.name_in_text(dossier.procedure_name or "")
    facts = texts.MessageFacts(
        kind=row.kind,
        agency_name=agency_name,
        dossier_code=dossier.code,
        procedure_name=procedure or None,
        expires_at=invitation.expires_at,
        link=f"{base}/m/{invitation.short_code}",
        opt_out_link=opt_out_link(
            base,
            contacts.opt_out_token(key, row.channel, address),
            invitation.language,
            row.channel,
        ),
    )
    text = texts.sms_text(facts) if row.channel != "email" else texts.email_text(facts)
    assert row.id is not None
    return OutgoingMessage(
        message_id=row.id,
        channel=row.channel,  # type: ignore[arg-type]
        kind=row.kind,  # type: ignore[arg-type]
        recipient=address,
        subject=texts.subject(facts),
        text=text,
        link=facts.link,
        opt_out_link=facts.opt_out_link,
        agency_name=agency_name,
        dossier_code=dossier.code,
        # The texts (texts.py) are Vietnamese whatever the invitation's language: the
        # e-mail's lang and Zalo's words say so (an "en" one read Vietnamese with English
        # rules to a screen reader; audit). The links open the survey and the opt-out page
        # in the invitation's language.
        language="vi",
        link_key=link_key(key, invitation),
    )
