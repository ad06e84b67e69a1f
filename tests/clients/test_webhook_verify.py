"""hailong_client.webhooks.verify against signatures made by the `standardwebhooks` package."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from hailong_client.webhooks import WebhookVerificationError, verify
from standardwebhooks import webhooks as standard
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"fedcba9876543210fedcba9876543210").decode()
BODY = json.dumps(
    {
        "type": "score.updated",
        "timestamp": "2025-10-01T00:00:00+00:00",
        "data": {"agency_code": "79.BTH", "agency_name": "Phường Bến Thành", "k": 20.7},
    },
    ensure_ascii=False,
    separators=(",", ":"),
)


def _signed(
    body: str = BODY, at: datetime | None = None, secret: str = SECRET, msg_id: str = "msg_1"
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
    }


def test_a_valid_delivery_returns_the_event() -> None:
    headers = _signed()
    event = verify(SECRET, BODY.encode(), headers)
    assert (event.id, event.type) == ("msg_1", "score.updated")
    assert event.timestamp == datetime(2025, 10, 1, tzinfo=UTC)
    assert event.data["agency_name"] == "Phường Bến Thành"  # non-ASCII bytes signed as sent
    assert Webhook(SECRET).verify(BODY, headers)["data"] == event.data  # both agree
    assert verify(SECRET, BODY, headers) == event  # str bodies too


def test_header_names_are_case_insensitive_and_several_signatures_are_tried() -> None:
    headers = _signed()
    rotated = f"v1,{base64.b64encode(b'x' * 32).decode()} v2,abc {headers['webhook-signature']}"
    title_case = {
        "Webhook-Id": headers["webhook-id"],
        "Webhook-Timestamp": headers["webhook-timestamp"],
        "Webhook-Signature": rotated,
    }
    assert verify(SECRET, BODY.encode(), title_case).type == "score.updated"


def test_the_secret_without_its_prefix_works_too() -> None:
    assert verify(SECRET.removeprefix("whsec_"), BODY, _signed()).id == "msg_1"


def _without(name: str) -> dict[str, str]:
    return {k: v for k, v in _signed().items() if k != name}


# Headers are made when each test runs: signed at collection, they could expire first.
TAMPERED: dict[str, tuple[Callable[[], tuple[str, dict[str, str]]], str]] = {
    "tampered-body": (lambda: (BODY.replace("20.7", "99.9"), _signed()), "no signature matches"),
    "other-id": (lambda: (BODY, {**_signed(), "webhook-id": "msg_2"}), "no signature matches"),
    "wrong-secret": (lambda: (BODY, _signed(secret=OTHER_SECRET)), "no signature matches"),
    "no-v1": (lambda: (BODY, {**_signed(), "webhook-signature": "v2,abc"}), "no signature"),
    "bad-base64": (lambda: (BODY, {**_signed(), "webhook-signature": "v1,no!"}), "no signature"),
    "missing-id": (lambda: (BODY, _without("webhook-id")), "missing"),
    "missing-signature": (lambda: (BODY, _without("webhook-signature")), "missing"),
    "bad-timestamp": (lambda: (BODY, {**_signed(), "webhook-timestamp": "soon"}), "not a number"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_tampered_deliveries_are_refused(case: str) -> None:
    make, message = TAMPERED[case]
    body, headers = make()
    with pytest.raises(WebhookVerificationError, match=message):
        verify(SECRET, body.encode(), headers)
    with pytest.raises((standard.WebhookVerificationError, binascii.Error)):  # it agrees
        Webhook(SECRET).verify(body, headers)


def test_timestamps_outside_the_tolerance_are_refused() -> None:
    now = datetime.now(UTC)
    old, future = _signed(at=now - timedelta(minutes=6)), _signed(at=now + timedelta(minutes=6))
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, BODY, old)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(SECRET, BODY, future)
    assert verify(SECRET, BODY, old, tolerance=600).id == "msg_1"
    recent = _signed(at=now - timedelta(seconds=30))
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(SECRET, BODY, recent, tolerance=10)


def test_a_signed_body_that_is_not_an_event_is_refused() -> None:
    for body in ["not json", "[]", '{"type": "x", "timestamp": "2025-10-01T00:00:00Z"}']:
        with pytest.raises(WebhookVerificationError, match="not a hailong event"):
            verify(SECRET, body, _signed(body))


def test_a_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="not a valid"):
        verify("whsec_***", BODY, _signed())
