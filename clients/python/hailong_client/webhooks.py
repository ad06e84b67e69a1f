"""Verifying hailong's webhook deliveries (Standard Webhooks), with the standard library only.

    event = verify(secret, body, headers)   # raises WebhookVerificationError

`secret` is the `whsec_...` shown once when the subscription was made, `body` the raw
request body (bytes, exactly as received: do not re-serialise parsed JSON) and `headers`
the request headers (any mapping; names are matched case-insensitively).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hailong_client._json import to_datetime

SECRET_PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300  # seconds, either way, as Standard Webhooks recommends


class WebhookVerificationError(Exception):
    """The delivery is not authentic, too old or too new, or not a hailong event.

    Answer such a request with 400 and do not act on it.
    """


@dataclass(frozen=True)
class WebhookEvent:
    id: str  # the `webhook-id` header: the same event always carries the same one (dedupe)
    type: str  # e.g. "score.updated"
    timestamp: datetime
    data: dict[str, Any]


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the webhook secret is not a valid whsec_ secret") from None
    if not key:
        raise ValueError("the webhook secret is empty")
    return key


def _signatures(header: str) -> list[bytes]:
    """The v1 signatures of a `webhook-signature` header (space-separated `v1,<base64>`)."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _check_timestamp(header: str, tolerance: float) -> None:
    try:
        sent = int(header)
    except ValueError:
        raise WebhookVerificationError("the webhook-timestamp header is not a number") from None
    now = time.time()
    if sent < now - tolerance:
        raise WebhookVerificationError("the delivery is too old (a replay?)")
    if sent > now + tolerance:
        raise WebhookVerificationError("the delivery's timestamp is in the future")


def _event(message_id: str, body: bytes) -> WebhookEvent:
    try:
        parsed: Any = json.loads(body)
        if not isinstance(parsed, dict) or not isinstance(parsed.get("data"), dict):
            raise ValueError("not an event")
        return WebhookEvent(
            id=message_id,
            type=str(parsed["type"]),
            timestamp=to_datetime(parsed["timestamp"]),
            data=parsed["data"],
        )
    except (ValueError, KeyError, TypeError):
        raise WebhookVerificationError("the body is not a hailong event") from None


def verify(
    secret: str,
    body: bytes | str,
    headers: Mapping[str, str],
    tolerance: float = DEFAULT_TOLERANCE,
) -> WebhookEvent:
    """Check a delivery's signature and timestamp; return its event.

    Raises WebhookVerificationError when a header is missing, the timestamp is more than
    `tolerance` seconds away from now, or no `v1` signature matches.
    """
    raw = body.encode() if isinstance(body, str) else bytes(body)
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id")
    timestamp = lowered.get("webhook-timestamp")
    signature = lowered.get("webhook-signature")
    if not (message_id and timestamp and signature):
        raise WebhookVerificationError(
            "missing webhook-id, webhook-timestamp or webhook-signature header"
        )
    _check_timestamp(timestamp, tolerance)
    signed = f"{message_id}.{timestamp}.".encode() + raw
    expected = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    matched = False
    for candidate in _signatures(signature):
        matched |= hmac.compare_digest(expected, candidate)  # no early exit: constant work
    if not matched:
        raise WebhookVerificationError("no signature matches: wrong secret or altered delivery")
    return _event(message_id, raw)


__all__ = ["WebhookEvent", "WebhookVerificationError", "verify"]
