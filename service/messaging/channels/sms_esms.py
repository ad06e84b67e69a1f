"""SMS through eSMS.vn (ViHAT), a Vietnamese brandname SMS provider: HAILONG_SMS_PROVIDER=esms.

The request and answers follow eSMS's developer documentation ("Send OTP/Customer care
message", https://developers.esms.vn/en/esms-api/send-sms-api/send-otp-customer-care-message,
and its "Table of error codes", https://developers.esms.vn/en/esms-api/table-of-error-codes):

    POST https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/
    Content-Type: application/json
    {"ApiKey": "...", "SecretKey": "...", "Phone": "84912345678", "Content": "...",
     "Brandname": "...", "SmsType": "2", "IsUnicode": "1", "Sandbox": "0",
     "RequestId": "<a UUID keyed by this install, hailong's message id and its link>"}

every value a string. SmsType "2" is a customer-care message from a registered brandname;
IsUnicode "1" sends the text with its diacritics (UCS-2, 70 characters a part), "0" plain
GSM text (160 a part). RequestId lets eSMS refuse a second copy of a message we sent again
after losing its answer (a timeout). The answer, HTTP 200 either way:
`{"CodeResult": "100", "SMSID": "..."}` when eSMS took the message (100 says it was taken,
not yet delivered), otherwise another CodeResult with an `ErrorMessage`.

Customer-care content must match a template registered with eSMS for the brandname (else
CodeResult 146): register the invitation and reminder texts hailong sends.

What a failure means for the outbox (`SendFailed.retry`):

- no answer (connection refused or reset, timeout), HTTP 5xx, HTTP 429, an answer that is
  not eSMS's JSON: retry.
- 103 (not enough balance): an account problem (AccountProblem): messages wait for the
  account to be topped up, retried without giving up until their surveys expire.
- 124 (duplicate RequestId): not a failure: eSMS already took this message (our earlier
  attempt reached it, its answer did not reach us), so it counts as sent, without an id.
- 99 (number blocked), 108 (number format): never, for this number.
- 101 (wrong ApiKey/SecretKey), 102 (no price list), 104 (brandname unknown), 118
  (message type not supported), 140 (our IP not whitelisted), 146 (content matches no
  registered template), 177 (brandname not registered with the recipient's network): never;
  the operator fixes the account or the settings.
- any other CodeResult, and HTTP 4xx: never, with the code and eSMS's message as the reason.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from service.messaging.channels.base import (
    AccountProblem,
    ChannelName,
    OutgoingMessage,
    SendFailed,
    Sent,
)
from service.messaging.channels.http_api import post_json, require_phone

if TYPE_CHECKING:
    from service.settings import Settings

DOCUMENTED_URL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
# Settings field names this provider needs (checked at start, see providers.py).
REQUIRED_SETTINGS = ("sms_api_key", "sms_secret_key", "sms_brandname")
CUSTOMER_CARE = "2"
ACCEPTED = "100"
DUPLICATE_REQUEST = "124"
# Every message of the account is refused until the operator acts (base.AccountProblem).
ACCOUNT_CODES = {"103": "not enough balance in the eSMS account: top it up"}
FINAL_CODES = {
    "99": "the phone number is blocked at eSMS",
    "101": "wrong eSMS ApiKey or SecretKey",
    "102": "no price list on the eSMS account",
    "104": "the brandname is not registered at eSMS",
    "108": "the phone number is not in a valid format",
    "118": "eSMS does not support this message type on the account",
    "140": "this server's IP address is not whitelisted at eSMS",
    "146": "the text matches no customer-care template registered at eSMS",
    "177": "the brandname is not registered with the recipient's network",
}
# GSM 03.38's basic alphabet, ASCII part (no backquote): text made only of these is sent
# unaccented, two and a bit times as much text a part as Unicode.
GSM_ASCII = frozenset(chr(c) for c in range(32, 127)) - {"`"} | {"\n", "\r"}


def is_plain(text: str) -> bool:
    """True when `text` fits the GSM alphabet (no Vietnamese diacritics, no emoji)."""
    return all(ch in GSM_ASCII for ch in text)


class EsmsChannel:
    name: ChannelName = "sms"

    def __init__(
        self,
        *,
        api_key: str,
        secret_key: str,
        brandname: str,
        request_id_key: bytes,
        url: str = DOCUMENTED_URL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.api_key, self.secret_key, self.brandname = api_key, secret_key, brandname
        self.request_id_key = request_id_key
        self.url, self.timeout = url, timeout_seconds

    def request_id(self, message: OutgoingMessage) -> str:
        """The same for every sending of one message, and no other install's: eSMS refuses
        a RequestId it has seen on the account (124), which we take as sent. The row's id
        alone was 1, 2, 3 ... in every database, so that a staging install, a rebuilt
        database or a second department on the account lost its first messages as
        'duplicates' (audit). A UUID, as eSMS's own example has it, keyed by this install;
        from the message's send key, so that a new link (a survey issued again) is a new
        request, not a 'duplicate' of the first link's (audit)."""
        mac = hmac.new(self.request_id_key, b"esms:" + message.send_key.encode(), hashlib.sha256)
        return str(uuid.UUID(bytes=mac.digest()[:16]))

    def request_body(self, message: OutgoingMessage) -> dict[str, str]:
        return {
            "ApiKey": self.api_key,
            "SecretKey": self.secret_key,
            "Phone": message.recipient,
            "Content": message.text,
            "Brandname": self.brandname,
            "SmsType": CUSTOMER_CARE,
            "IsUnicode": "0" if is_plain(message.text) else "1",
            "Sandbox": "0",
            "RequestId": self.request_id(message),
        }

    def send(self, message: OutgoingMessage) -> Sent:
        require_phone(message.recipient)
        response = post_json("eSMS", self.url, self.request_body(message), self.timeout)
        return self.result(response)

    def result(self, response: httpx.Response) -> Sent:
        status = response.status_code  # 2xx or 3xx: post_json took the others
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "CodeResult" not in body:
            raise SendFailed(f"eSMS answered HTTP {status} without a CodeResult", retry=True)
        code = str(body["CodeResult"])
        if code == ACCEPTED:
            sms_id = body.get("SMSID")
            return Sent(provider_id=str(sms_id) if sms_id else None)
        if code == DUPLICATE_REQUEST:
            return Sent(provider_id=None)
        said = str(body.get("ErrorMessage") or "").strip()
        what = ACCOUNT_CODES.get(code) or FINAL_CODES.get(code) or "unknown error"
        reason = f"eSMS CodeResult {code}: {what}" + (f" ({said})" if said else "")
        if code in ACCOUNT_CODES:
            raise AccountProblem(reason)
        raise SendFailed(reason, retry=False)


def channel(settings: Settings) -> EsmsChannel:
    """The channel from the settings (providers.py has checked REQUIRED_SETTINGS)."""
    assert settings.sms_api_key and settings.sms_secret_key and settings.sms_brandname
    return EsmsChannel(
        api_key=settings.sms_api_key,
        secret_key=settings.sms_secret_key.get_secret_value(),
        brandname=settings.sms_brandname,
        request_id_key=settings.signing_key(),
        url=settings.sms_url or DOCUMENTED_URL,
        timeout_seconds=settings.message_http_timeout_seconds,
    )
