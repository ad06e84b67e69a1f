"""Comparing a secret a client sent with the one expected, in constant time.

`secrets.compare_digest` on two str raises TypeError when either holds a character past
ASCII, and a client chooses what it sends (a callback's `state=%C3%A9` was a 500): compare
their UTF-8 bytes instead, everywhere."""

from __future__ import annotations

import hmac


def same_secret(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())
