"""What every provider reached over an HTTP JSON API shares (eSMS, Zalo ZNS, a province's
own): the phone number's form, the call, and what an HTTP status means for a retry.
A provider's module keeps only its request body and its own answer codes."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import httpx

from service import outbound_http
from service.messaging.channels.base import SendFailed

# A provider's answer is a small JSON document; more than this is not read.
ANSWER_MAX_BYTES = 64 * 1024
# Vietnamese numbers in international form without "+", as the providers take them.
PHONE = re.compile(r"84[0-9]{8,10}")  # ASCII digits: \d takes every script's


def require_phone(recipient: str) -> None:
    if not PHONE.fullmatch(recipient):
        raise SendFailed(
            f"not a Vietnamese phone number in international form: {recipient!r}", retry=False
        )


def post_json(
    provider: str,
    url: str,
    body: Mapping[str, Any],
    timeout: float,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """The provider's answer to one POST; no answer at all is worth a retry. An HTTP 5xx
    or 429 is retried too, another 4xx is final (the request itself is wrong)."""
    try:
        # The whole call within the timeout, and a bounded answer read: a provider that
        # trickles its reply held the message thread past the row's lease, and the message
        # went again from the next claim (outbound_http.py).
        with outbound_http.bounded_client(timeout) as http, outbound_http.within(timeout):
            request = http.build_request("POST", url, json=dict(body), headers=dict(headers or {}))
            streamed = http.send(request, stream=True)
            try:
                answer = outbound_http.read_some(streamed, ANSWER_MAX_BYTES)
            finally:
                streamed.close()
        response = httpx.Response(
            streamed.status_code,
            headers={"content-type": streamed.headers.get("content-type", "")},
            content=answer,
            request=request,
        )
    except httpx.TimeoutException:
        raise SendFailed(f"{provider} did not answer within {timeout:g} s", retry=True) from None
    except httpx.HTTPError as exc:
        raise SendFailed(f"{provider} unreachable: {exc!r}", retry=True) from None
    status = response.status_code
    if status >= 500 or status == 429:
        raise SendFailed(f"{provider} answered HTTP {status}", retry=True)
    if status >= 400:
        raise SendFailed(f"{provider} refused the request: HTTP {status}", retry=False)
    return response
