"""A citizen's contact for the agency's answer: a Vietnamese phone number or an e-mail.

Phone: a mobile or landline number as people write it, with spaces, dots, dashes or
brackets between digits: 0 then 9 or 10 digits (0901 234 567, 028 3829 1234), or the same
with +84, 84 or 0084 in place of the leading 0 (+84 901 234 567), as handovers take it.
E-mail: what an invitation may be sent to (messaging/contacts.py: a dot-atom name, '@', a
dotted domain). Anything else is refused with a sentence in the citizen's language, so that
the agency is never left with an answer it cannot send.
"""

from __future__ import annotations

import re

from service.messaging.contacts import PHONE_SEPARATORS, normalize_email
from service.text_clean import strip_bidi_controls

# Not messaging/contacts.py's mobile rule: the agency may answer by calling a landline
# too (its rule is for SMS and Zalo). ASCII digits only, as there: \d took full-width and
# other scripts' digits, kept as a number no one can call (audit).
_PHONE = re.compile(r"^(?:0|\+?84|0084)[0-9]{9,10}$")
MAX_EMAIL_CHARS = 254


def clean_contact(text: str | None) -> str | None:
    """The contact as typed, without direction controls or surrounding spaces; None if empty."""
    return strip_bidi_controls(text or "").strip() or None


def is_phone(text: str) -> bool:
    return _PHONE.match(PHONE_SEPARATORS.sub("", text)) is not None


def is_email(text: str) -> bool:
    """An address a mail server takes: the rule invitations are sent by (".ten@", "a..b@"
    or a control character passed here, and no answer could be sent to them; audit)."""
    if len(text) > MAX_EMAIL_CHARS:
        return False
    try:
        normalize_email(text)
    except ValueError:
        return False
    return True


def contact_problem(contact: str, lang: str) -> str | None:
    """Why `contact` cannot be used to answer the citizen, in their language; None if it can."""
    if is_phone(contact) or is_email(contact):
        return None
    if lang == "en":
        return (
            "Enter a phone number (for example 0901 234 567) or an e-mail address "
            "(for example name@gmail.com), or leave this empty."
        )
    return (
        "Vui lòng nhập số điện thoại (ví dụ 0901 234 567) hoặc địa chỉ email "
        "(ví dụ ten@gmail.com), hoặc để trống."
    )
