"""Citizens' contacts: checking and normalising them, the keyed hash an opt-out is kept
as, and the opt-out link's token (verified without a database lookup)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import idna

# Vietnamese mobile numbers: 03x, 05x, 07x, 08x, 09x and 8 more digits, written with a
# leading 0, 84 or +84, with spaces, dots or dashes between groups. ASCII digits only: \d
# took full-width and other scripts' digits, stored as another number than the citizen's
# (so that an opt-out of the real one did not hold) and sent so to the provider.
# The country code as people write it too: +84, 84 or 0084, and the trunk 0 kept after
# it ("+84 (0) 912 ...", common on cards and forms, was refused with a 422; audit).
_MOBILE = re.compile(r"^(?:(?:\+|00)?840?|0)([35789][0-9]{8})$")
PHONE_SEPARATORS = re.compile(r"[\s.\-()]")  # between digit groups, as people write them
# Deliberately plain: one @, no spaces, a dotted domain of letters, digits and dashes. The
# name before the @ is RFC 5322's dot-atom: dots only between characters (".dan@", "dan.@"
# and "d..an@" passed, and the mail server refused them after the handover's 201; audit).
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_EMAIL = re.compile(
    rf"^(?=[^@]{{1,64}}@){_ATEXT}+(?:\.{_ATEXT}+)*@"
    r"(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
# The same rule for the kiosk's script, which checks a contact before the citizen is
# thanked (kiosk/service.page_config): a looser rule of its own let addresses through that
# the server then refused, and the answer went without its contact (kiosk audit). Written
# in the syntax Python and JavaScript regular expressions share.
EMAIL_PATTERN = _EMAIL.pattern
# Channels that reach a phone number. An opt-out from one of them covers the number: the
# citizen who asked for nothing more to "this phone number" got a Zalo reminder (audit).
PHONE_CHANNELS = ("sms", "zalo")
# Opt-out tokens: a channel letter, the contact's hash, a MAC over both.
_CHANNEL_LETTERS = {"email": "e", "sms": "s", "zalo": "z"}
_LETTER_CHANNELS = {v: k for k, v in _CHANNEL_LETTERS.items()}
HASH_BYTES = 12  # 96 bits: no two contacts of one service collide; short enough for an SMS
MAC_BYTES = 9  # 72 bits: forging an opt-out token is out of reach (and harms only one contact)


# What a provider's words may quote of a contact: mail servers quote the refused address
# ("550 5.1.1 <name@example.vn>: Recipient address rejected"), SMS gateways the number.
_EMAIL_LIKE = re.compile(r"[^\s<>()\[\]@\"',;:]+@[^\s<>()\[\]@\"',;:]+")
_NUMBER_LIKE = re.compile(r"(?<![0-9])\+?[0-9]{9,12}(?![0-9])")


def without_contacts(text: str, recipient: str) -> str:
    """A provider's words about a message, kept as its reason, with no contact in them:
    the reason is shown to whoever posts the dossier again and outlives the contact's
    purge."""
    text = re.sub(re.escape(recipient), "[recipient]", text, flags=re.IGNORECASE)
    return _NUMBER_LIKE.sub("[number]", _EMAIL_LIKE.sub("[recipient]", text))


def same_address_channels(channel: str) -> tuple[str, ...]:
    """The channels an opt-out on `channel` stops (and whose opt-outs stop it): those that
    reach the same address. An e-mail address is its own."""
    return PHONE_CHANNELS if channel in PHONE_CHANNELS else (channel,)


def normalize_phone(value: str) -> str:
    """'0912 345 678' -> '84912345678'; ValueError when it is no Vietnamese mobile."""
    digits = PHONE_SEPARATORS.sub("", value)
    match = _MOBILE.match(digits)
    if match is None:
        raise ValueError(
            "is not a Vietnamese mobile number; write it as 0912345678 or +84912345678"
        )
    return "84" + match.group(1)


def normalize_email(value: str) -> str:
    """The address with its domain in lower case, in its ASCII form (dan@bưuđiện.vn is
    dan@xn--buin-1ua66gr30m.vn); ValueError when it is no address."""
    value = _ascii_domain(value.strip())
    if not _EMAIL.match(value):
        raise ValueError("is not an e-mail address; write it as name@example.vn")
    local, domain = value.rsplit("@", 1)
    if "=?" in local:
        # A MIME encoded word ("=?utf-8?q?someone.else?=@...") is atext, but a mail
        # program reading the To header decodes it into another address than the one
        # given and consented to (audit).
        raise ValueError(
            "is not an e-mail address: the name before the @ may not contain '=?' "
            "(an encoded word); write it as name@example.vn"
        )
    return f"{local}@{domain.lower()}"


def _ascii_domain(address: str) -> str:
    """The address with an internationalised domain written in ASCII (IDNA 2008, UTS 46
    mapping: PHƯỜNG.vn as phường.vn), as mail servers take it, and so stored and hashed
    in one spelling whichever the citizen typed. Refused as no address before, a handover
    whose contact was dan@bưuđiện.vn got no survey at all (alerts audit)."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    try:
        return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"
    except idna.IDNAError:
        return address  # refused by the pattern, as any other malformed domain


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _hash_bytes(signing_key: bytes, contact: str) -> bytes:
    # Keyed: a plain SHA-256 of a phone number is undone by trying every number.
    digest = hmac.new(signing_key, b"contact:" + contact.lower().encode(), hashlib.sha256)
    return digest.digest()[:HASH_BYTES]


def contact_hash(signing_key: bytes, contact: str) -> str:
    """What an opt-out keeps of a normalised contact."""
    return _hash_bytes(signing_key, contact).hex()


def _mac(signing_key: bytes, payload: str) -> bytes:
    return hmac.new(signing_key, b"opt-out:" + payload.encode(), hashlib.sha256).digest()[
        :MAC_BYTES
    ]


def opt_out_token(signing_key: bytes, channel: str, contact: str) -> str:
    payload = _CHANNEL_LETTERS[channel] + _b64(_hash_bytes(signing_key, contact))
    return payload + _b64(_mac(signing_key, payload))


def read_opt_out_token(signing_key: bytes, token: str) -> tuple[str, str] | None:
    """(channel, contact hash) of a genuine token; None for anything else."""
    hash_chars = len(_b64(bytes(HASH_BYTES)))
    mac_chars = len(_b64(bytes(MAC_BYTES)))
    if len(token) != 1 + hash_chars + mac_chars or token[0] not in _LETTER_CHANNELS:
        return None
    payload, mac = token[: 1 + hash_chars], token[1 + hash_chars :]
    try:
        given, hashed = _unb64(mac), _unb64(payload[1:])
    except ValueError:
        return None
    if not hmac.compare_digest(given, _mac(signing_key, payload)):
        return None
    return _LETTER_CHANNELS[token[0]], hashed.hex()
