"""Every API call as data: method, path, query, body and how to read the answer.

Both clients send these, so the sync and async surfaces cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Final, Generic, Literal, TypeVar
from urllib.parse import quote

import httpx

from hailong_client._json import JSON, aware_iso
from hailong_client.models import (
    Agency,
    Answers,
    CalendarDay,
    Contact,
    Petition,
    Submission,
    Survey,
    Verdict,
)
from hailong_client.scores import Explanation, Score, StaffScores
from hailong_client.subscriptions import Delivery, EventType, Webhook, WebhookCreated
from hailong_client.tt01 import Tt01Score

T = TypeVar("T")
Source = Literal["phone", "kiosk", "api"]
Channel = Literal["counter", "online", "postal"]
Language = Literal["vi", "en"]


class _Unset(Enum):
    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET
"""Leave a field as it is (as opposed to None, which sends null and clears it)."""
Unset = Literal[_Unset.UNSET]


@dataclass(frozen=True)
class Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, str | int] | None = None
    json: Any = None


def _seg(value: str) -> str:
    return quote(value, safe="")


def _created(response: httpx.Response) -> bool:
    return response.status_code == 201


def _score(response: httpx.Response) -> Score:
    return Score.from_json(response.json())


# A score is told by its shape, not by the profile asked for: the main profile's name gives
# a K Score, and only a TT 01 score has indicators.
def _either(body: JSON) -> Score | Tt01Score:
    return Tt01Score.from_json(body) if "indicators" in body else Score.from_json(body)


def _scores_of_profile(response: httpx.Response) -> list[Score] | list[Tt01Score]:
    data = response.json()["data"]
    if any("indicators" in s for s in data):
        return [Tt01Score.from_json(s) for s in data]
    return [Score.from_json(s) for s in data]


def _score_of_profile(response: httpx.Response) -> Score | Tt01Score:
    return _either(response.json())


def _webhook(response: httpx.Response) -> Webhook:
    return Webhook.from_json(response.json())


def _delivery(response: httpx.Response) -> Delivery:
    return Delivery.from_json(response.json())


def _nothing(response: httpx.Response) -> None:
    return None


# -- issuing and answering ---------------------------------------------------------------
def issue_survey(
    dossier_code: str,
    agency_code: str,
    resolved_at: datetime,
    times: dict[str, datetime | None],
    facts: dict[str, Any],
    contact: Contact | None = None,
) -> Call[Survey]:
    body: dict[str, Any] = {
        "dossier_code": dossier_code,
        "agency_code": agency_code,
        "resolved_at": aware_iso(resolved_at, "resolved_at"),
    }
    body.update({k: aware_iso(v, k) for k, v in times.items() if v is not None})
    body.update({k: v for k, v in facts.items() if v is not None})
    if contact is not None:
        body["contact"] = dict(contact)
    return Call(
        "POST",
        "/api/v1/handovers",
        lambda r: Survey.from_json(r.json(), created=_created(r)),
        json=body,
    )


def revoke_survey(dossier_code: str, agency_code: str | None = None) -> Call[Survey]:
    # agency_code: which agency's dossier, when the key acts for several that use the code
    # (the server answers 409 naming the parameter otherwise).
    return Call(
        "POST",
        f"/api/v1/handovers/{_seg(dossier_code)}/revoke",
        lambda r: Survey.from_json(r.json(), created=False),
        params={"agency_code": agency_code} if agency_code is not None else None,
    )


def submit_response(
    token: str | None,
    short_code: str | None,
    answers: Answers,
    source: Source,
    client_submission_id: str | None,
    contact: str | None,
    contact_consent: bool,
    submitted_at: datetime | None,
) -> Call[Submission]:
    if (token is None) == (short_code is None):
        raise ValueError("give exactly one of token or short_code")
    body: dict[str, Any] = {"answers": dict(answers), "source": source}
    optional = {
        "token": token,
        "short_code": short_code,
        "client_submission_id": client_submission_id,
        "contact": contact,
        "submitted_at": aware_iso(submitted_at, "submitted_at") if submitted_at else None,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    if contact_consent:
        body["contact_consent"] = True
    return Call(
        "POST",
        "/api/v1/responses",
        lambda r: Submission.from_json(r.json(), created=_created(r)),
        json=body,
    )


def agencies() -> Call[list[Agency]]:
    return Call(
        "GET", "/api/v1/agencies", lambda r: [Agency.from_json(a) for a in r.json()["data"]]
    )


# -- scores ------------------------------------------------------------------------------
def score(agency_code: str, period: str, profile: str | None = None) -> Call[Score | Tt01Score]:
    return Call(
        "GET",
        f"/api/v1/agencies/{_seg(agency_code)}/scores/{_seg(period)}",
        _score_of_profile,
        params=_chosen_options(profile=profile) or None,
    )


def _chosen_options(**optional: str | int | None) -> dict[str, str | int]:
    return {k: v for k, v in optional.items() if v is not None}


def _chosen(period: str, **optional: str | None) -> dict[str, str | int]:
    return {"period": period, **_chosen_options(**optional)}


def scores(
    period: str, agency_code: str | None, parent_code: str | None, profile: str | None = None
) -> Call[list[Score] | list[Tt01Score]]:
    params = _chosen(period, agency_code=agency_code, parent_code=parent_code, profile=profile)
    return Call("GET", "/api/v1/scores", _scores_of_profile, params=params)


def _content(response: httpx.Response) -> bytes:
    return response.content


def scores_csv(
    period: str, agency_code: str | None, parent_code: str | None, profile: str | None
) -> Call[bytes]:
    """The file's bytes: UTF-8 with a BOM (so Excel shows Vietnamese), Vietnamese headers."""
    params = _chosen(period, agency_code=agency_code, parent_code=parent_code, profile=profile)
    return Call("GET", "/api/v1/scores.csv", _content, params=params)


def scores_xlsx(
    period: str, agency_code: str | None, parent_code: str | None, profile: str | None
) -> Call[bytes]:
    params = _chosen(period, agency_code=agency_code, parent_code=parent_code, profile=profile)
    return Call("GET", "/api/v1/scores.xlsx", _content, params=params)


def rankings(
    period: str, parent_code: str, profile: str | None = None
) -> Call[list[Score] | list[Tt01Score]]:
    params = _chosen(period, parent_code=parent_code, profile=profile)
    return Call("GET", "/api/v1/rankings", _scores_of_profile, params=params)


def explain(
    agency_code: str, period: str, limit: int | None, profile: str | None = None
) -> Call[Explanation]:
    # The explanation is the main profile's: the service refuses TT 01's (422 on profile).
    return Call(
        "GET",
        f"/api/v1/agencies/{_seg(agency_code)}/scores/{_seg(period)}/explain",
        lambda r: Explanation.from_json(r.json()),
        params=_chosen_options(limit=limit, profile=profile) or None,
    )


def staff_scores(agency_code: str, period: str) -> Call[StaffScores]:
    return Call(
        "GET",
        f"/api/v1/agencies/{_seg(agency_code)}/staff-scores/{_seg(period)}",
        lambda r: StaffScores.from_json(r.json()),
    )


def set_inputs(
    agency_code: str,
    period: str,
    d: float | Unset | None,
    e: int | Unset | None,
    note: str | Unset | None,
) -> Call[Score]:
    body: dict[str, Any] = {}
    if d is not UNSET:
        body["d"] = d
    if e is not UNSET:
        body["e"] = e
    if note is not UNSET:
        body["note"] = note
    return Call(
        "PUT",
        f"/api/v1/agencies/{_seg(agency_code)}/periods/{_seg(period)}/inputs",
        _score,
        json=body,
    )


def import_petition(
    petition_code: str,
    agency_code: str,
    received_at: datetime,
    nullable: dict[str, Any],
    facts: dict[str, Any],
) -> Call[Petition]:
    """`nullable`: left UNSET, not sent; None sends null (for dossier_code: detach; for
    deadline_at: the default deadline; for handled_at: not handled; for citizen_verdict: no
    verdict). `facts`: None is not sent."""
    body: dict[str, Any] = {
        "petition_code": petition_code,
        "agency_code": agency_code,
        "received_at": aware_iso(received_at, "received_at"),
    }
    for name, value in nullable.items():
        if value is not UNSET:
            body[name] = aware_iso(value, name) if isinstance(value, datetime) else value
    body.update({k: v for k, v in facts.items() if v is not None})
    return Call(
        "POST",
        "/api/v1/petitions",
        lambda r: Petition.from_json(r.json(), created=_created(r)),
        json=body,
    )


# -- the working-day calendar ------------------------------------------------------------
def _day(response: httpx.Response) -> CalendarDay:
    return CalendarDay.from_json(response.json())


def _iso_day(day: date) -> str:
    # A datetime is a date too, but its isoformat() ("...T00:00:00") is no day the API reads.
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"day must be a datetime.date, not {type(day).__name__}")
    return day.isoformat()


def calendar_days() -> Call[list[CalendarDay]]:
    return Call(
        "GET",
        "/api/v1/calendar/overrides",
        lambda r: [CalendarDay.from_json(d) for d in r.json()["data"]],
    )


def calendar_day(day: date) -> Call[CalendarDay]:
    return Call("GET", f"/api/v1/calendar/overrides/{_iso_day(day)}", _day)


def set_calendar_day(day: date, working: bool, note: str | None) -> Call[CalendarDay]:
    if not isinstance(working, bool):  # the API takes true or false only ("yes" is a 422)
        raise TypeError(f"working must be True or False, not {working!r}")
    body: dict[str, Any] = {"working": working}
    if note is not None:
        body["note"] = note
    return Call("PUT", f"/api/v1/calendar/overrides/{_iso_day(day)}", _day, json=body)


def unset_calendar_day(day: date) -> Call[CalendarDay]:
    return Call("DELETE", f"/api/v1/calendar/overrides/{_iso_day(day)}", _day)


# -- webhooks ----------------------------------------------------------------------------
def create_webhook(
    url: str, events: Sequence[EventType], agency_code: str | None
) -> Call[WebhookCreated]:
    body: dict[str, Any] = {"url": url, "events": list(events)}
    if agency_code is not None:
        body["agency_code"] = agency_code
    return Call("POST", "/api/v1/webhooks", lambda r: WebhookCreated.from_json(r.json()), json=body)


def webhooks() -> Call[list[Webhook]]:
    return Call(
        "GET", "/api/v1/webhooks", lambda r: [Webhook.from_json(w) for w in r.json()["data"]]
    )


def webhook(webhook_id: str) -> Call[Webhook]:
    return Call("GET", f"/api/v1/webhooks/{_seg(webhook_id)}", _webhook)


def delete_webhook(webhook_id: str) -> Call[None]:
    return Call("DELETE", f"/api/v1/webhooks/{_seg(webhook_id)}", _nothing)


def enable_webhook(webhook_id: str) -> Call[Webhook]:
    return Call("POST", f"/api/v1/webhooks/{_seg(webhook_id)}/enable", _webhook)


def deliveries(webhook_id: str, limit: int | None) -> Call[list[Delivery]]:
    return Call(
        "GET",
        f"/api/v1/webhooks/{_seg(webhook_id)}/deliveries",
        lambda r: [Delivery.from_json(d) for d in r.json()["data"]],
        params=None if limit is None else {"limit": limit},
    )


def retry_delivery(webhook_id: str, delivery_id: int) -> Call[Delivery]:
    return Call(
        "POST", f"/api/v1/webhooks/{_seg(webhook_id)}/deliveries/{delivery_id}/retry", _delivery
    )


__all__ = ["UNSET", "Call", "Channel", "Language", "Source", "Unset", "Verdict"]
