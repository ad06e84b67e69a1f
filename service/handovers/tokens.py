"""Survey tokens and short codes.

A token is HMAC(signing key, random seed). The database keeps the seed and a SHA-256 of the
token, never the token: a copy of the database alone cannot open a survey, yet the service
can hand the same link back when a one-stop system posts the same dossier again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# No 0/O, 1/I/L or U/V look-alikes, so a citizen can type the code from a paper slip.
SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
SHORT_CODE_LENGTH = 8


def new_seed() -> str:
    return secrets.token_hex(32)  # 256 random bits


def token_from_seed(signing_key: bytes, seed: str, label: bytes = b"survey-token:") -> str:
    """HMAC(signing key, label + seed), URL-safe. Each kind of link has its own label (a
    petition's follow-up link too: service/petitions/followup.py), so that tokens of two
    kinds made from one seed never coincide."""
    digest = hmac.new(signing_key, label + seed.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_SHORT_CODES = len(SHORT_CODE_ALPHABET) ** SHORT_CODE_LENGTH


def new_short_code() -> str:
    # One draw for the whole code (its digits in base 29), not one per character: as
    # uniform, and a handover batch draws dozens.
    number = secrets.randbelow(_SHORT_CODES)
    characters = []
    for _ in range(SHORT_CODE_LENGTH):
        number, digit = divmod(number, len(SHORT_CODE_ALPHABET))
        characters.append(SHORT_CODE_ALPHABET[digit])
    return "".join(characters)


def format_short_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def normalize_short_code(typed: str) -> str:
    return "".join(ch for ch in typed.upper() if ch.isalnum())
