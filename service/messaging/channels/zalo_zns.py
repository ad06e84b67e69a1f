"""Zalo Notification Service (ZNS): a template message, approved by Zalo, to the Zalo account
of a phone number.

The request and answer follow Zalo's ZNS documentation ("Gửi ZNS", https://developers.zalo.me
/docs/zalo-notification-service/gui-tin-zns/gui-zns; error codes:
https://zalo.cloud/zns/guidelines/handle-error-code):

    POST https://business.openapi.zalo.me/message/template
    access_token: <the Official Account's access token>
    Content-Type: application/json
    {"phone": "84912345678", "template_id": "<id>", "template_data": {"agency": "...", ...},
     "tracking_id": "<hailong's message id and its link>"}

answered `{"error": 0, "message": "Success", "data": {"msg_id": "...", "sent_time": "...",
"quota": {...}}}`, or a negative `error` with its `message` (HTTP 200 either way).
`template_data` carries the template's parameters by name: HAILONG_ZALO_TEMPLATE_PARAMS says
which of our fields fills which (`agency=agency_name,dossier=dossier_code,link=link`). The
reminder uses HAILONG_ZALO_REMINDER_TEMPLATE_ID when set, else the invitation's template.

The OA access token lives 25 hours and is refreshed with a refresh token outside hailong
(the operator's job: set HAILONG_ZALO_ACCESS_TOKEN and restart).

What a failure means for the outbox (`SendFailed.retry`):

- no answer (refused, reset, timeout), HTTP 5xx or 429, an answer without `error`: retry.
- -100 (unknown error, "try again later"): retry.
- -124 (access token invalid or expired), -115 (out of ZNS balance), -144 (the OA's daily
  quota), -147 (the template's daily quota): an account problem (AccountProblem): every
  message waits, retried without giving up until its survey expires, for the operator to
  refresh the token or top up (or for the next day's quota); the reason says which.
- -133 (this template may not be sent at night): retry.
- -108 (phone number invalid), -118 (no Zalo account), -119 (the account cannot receive
  ZNS), -114 (user inactive, refusing, or on an old Zalo), -139 and -141 (the user refused
  this kind of message, or messages from this OA): never, for this number.
- -109 (template id invalid), -111/-112 (template data empty/invalid: a parameter missing,
  or longer than the template allows), -117 (template not ours), -131 (template not
  approved), -101..-106 (the application behind the token): never; fix the settings or the
  template.
- any other code, and HTTP 4xx: never, with the code and Zalo's message as the reason.

Codes -100 to -111 are checked against Zalo's published table; the others are from the
same table as remembered, worth re-checking against it when a new code shows up in a reason.
"""

from __future__ import annotations

import re
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
from service.messaging.texts import kind_words

if TYPE_CHECKING:
    from service.settings import Settings

DOCUMENTED_URL = "https://business.openapi.zalo.me/message/template"


def _value(message: OutgoingMessage, field: str) -> str:
    """A template parameter's value: the message's field; its kind in words (the English
    'invitation' went into Vietnamese templates)."""
    if field == "kind":
        return kind_words(message.kind, message.language)
    return str(getattr(message, field))


# Our fields a template parameter can be filled from, and those every template carries.
FIELDS = ("agency_name", "dossier_code", "link", "kind", "opt_out_link")
REQUIRED_FIELDS = ("link", "opt_out_link")
# The opt-out link too: every message ends with "Từ chối nhận tin" (README), Zalo's included.
DEFAULT_TEMPLATE_PARAMS = "agency=agency_name,dossier=dossier_code,link=link,opt_out=opt_out_link"
RETRY_CODES = {
    -100: "unknown error at Zalo",
    -133: "this template may not be sent at night",
}
# Every message of the Official Account is refused until the operator acts, or the day
# ends (base.AccountProblem).
ACCOUNT_CODES = {
    -115: "out of ZNS balance",
    -124: "access token invalid or expired: refresh HAILONG_ZALO_ACCESS_TOKEN",
    -144: "the Official Account's daily ZNS quota is used up",
    -147: "the template's daily quota is used up",
}
FINAL_CODES = {
    -101: "the Zalo application is invalid",
    -102: "the Zalo application does not exist",
    -103: "the Zalo application is not activated",
    -104: "the Zalo application's secret key is invalid",
    -105: "the Zalo application is linked to no Official Account",
    -106: "method not supported",
    -108: "the phone number is invalid",
    -109: "the template id is invalid",
    -111: "the template data is empty",
    -112: "the template data is invalid (a parameter missing or too long)",
    -114: "the user is inactive, refuses messages or uses an old Zalo version",
    -117: "the Official Account may not use this template",
    -118: "no Zalo account for this phone number",
    -119: "this Zalo account cannot receive ZNS",
    -131: "the template is not approved",
    -139: "the user refused this kind of ZNS",
    -141: "the user refused ZNS from this Official Account",
}
PARAM = re.compile(r"[A-Za-z0-9_]+")


def parse_template_params(text: str) -> dict[str, str]:
    """`param=field,param=field` → {template parameter: our field}; ValueError if malformed."""
    params: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        param, sep, field = (s.strip() for s in item.partition("="))
        if not sep or not PARAM.fullmatch(param) or field not in FIELDS:
            raise ValueError(
                f"HAILONG_ZALO_TEMPLATE_PARAMS: {item!r} is not <template parameter>=<field>, "
                f"the field one of {', '.join(FIELDS)}"
            )
        if param in params:
            raise ValueError(f"HAILONG_ZALO_TEMPLATE_PARAMS names {param!r} twice")
        params[param] = field
    return params


def require_links(params: dict[str, str]) -> None:
    """ValueError unless the template carries the survey link and the opt-out link: without
    them an invitation nobody could open, or one without the "Từ chối nhận tin" every
    message ends with (README; audit). Asked of a server that sends by Zalo only: an .env
    that never turned Zalo on keeps starting (review)."""
    if missing := [field for field in REQUIRED_FIELDS if field not in params.values()]:
        raise ValueError(
            f"HAILONG_ZALO_TEMPLATE_PARAMS fills no template parameter with "
            f"{' or '.join(missing)}: the approved template must carry the survey link and "
            "the opt-out link"
        )


class ZaloZnsChannel:
    name: ChannelName = "zalo"

    def __init__(
        self,
        *,
        access_token: str,
        template_id: str,
        reminder_template_id: str | None = None,
        template_params: dict[str, str] | None = None,
        url: str = DOCUMENTED_URL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self.access_token = access_token
        self.template_id = template_id
        self.reminder_template_id = reminder_template_id or template_id
        self.template_params = template_params or parse_template_params(DEFAULT_TEMPLATE_PARAMS)
        self.url, self.timeout = url, timeout_seconds

    def request_body(self, message: OutgoingMessage) -> dict[str, Any]:
        template = self.reminder_template_id if message.kind == "reminder" else self.template_id
        return {
            "phone": message.recipient,
            "template_id": template,
            "template_data": {
                param: _value(message, field) for param, field in self.template_params.items()
            },
            # Ours, to match Zalo's delivery reports to the message: a survey issued again
            # sends the row again with a new link, another message.
            "tracking_id": message.send_key,
        }

    def send(self, message: OutgoingMessage) -> Sent:
        require_phone(message.recipient)
        response = post_json(
            "Zalo",
            self.url,
            self.request_body(message),
            self.timeout,
            headers={"access_token": self.access_token},
        )
        return self.result(response)

    def result(self, response: httpx.Response) -> Sent:
        status = response.status_code  # 2xx or 3xx: post_json took the others
        try:
            body: Any = response.json()
            code = int(body["error"])
        except (ValueError, TypeError, KeyError):
            raise SendFailed(
                f"Zalo answered HTTP {status} without an error code", retry=True
            ) from None
        if code == 0:
            data = body.get("data")
            msg_id = data.get("msg_id") if isinstance(data, dict) else None
            return Sent(provider_id=str(msg_id) if msg_id else None)
        said = str(body.get("message") or "").strip()
        known = ACCOUNT_CODES | RETRY_CODES | FINAL_CODES
        reason = f"Zalo ZNS error {code}: {known.get(code, 'unknown error')}" + (
            f" ({said})" if said else ""
        )
        if code in ACCOUNT_CODES:
            raise AccountProblem(reason)
        raise SendFailed(reason, retry=code in RETRY_CODES)


def channel(settings: Settings) -> ZaloZnsChannel:
    """The channel from the settings (providers.py has checked that it is configured)."""
    assert settings.zalo_access_token and settings.zalo_template_id
    return ZaloZnsChannel(
        access_token=settings.zalo_access_token.get_secret_value(),
        template_id=settings.zalo_template_id,
        reminder_template_id=settings.zalo_reminder_template_id,
        template_params=parse_template_params(settings.zalo_template_params),
        url=settings.zalo_url,
        timeout_seconds=settings.message_http_timeout_seconds,
    )
