"""Sync and async clients over httpx. Both send the calls built in `_calls`, so each method
is one line here and the two surfaces stay identical."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar, overload

import httpx

from hailong_client import _calls as calls
from hailong_client._calls import UNSET, Call, Channel, Language, Source, Unset
from hailong_client.errors import raise_for_error
from hailong_client.models import (
    Agency,
    Answers,
    CalendarDay,
    Contact,
    Petition,
    Staff,
    Submission,
    Survey,
    Verdict,
)
from hailong_client.scores import Explanation, Score, StaffScores
from hailong_client.subscriptions import Delivery, EventType, Webhook, WebhookCreated
from hailong_client.tt01 import Tt01Name, Tt01Score

T = TypeVar("T")
USER_AGENT = "hailong-client/0.3"


def _options(base_url: str, api_key: str | None, timeout: float) -> dict[str, Any]:
    headers = {"User-Agent": USER_AGENT}
    if api_key is not None:  # answering a survey needs no key: the token is the credential
        api_key = api_key.strip()  # read from a file or a secret mount, with its newline
        if not api_key or not all("!" <= ch <= "~" for ch in api_key):
            # Said without the key: the header's own error (h11, or an encoding error)
            # quoted it whole, into logs and tracebacks.
            raise ValueError("api_key holds characters a header cannot carry (or is empty)")
        headers["Authorization"] = f"Bearer {api_key}"
    return {"base_url": base_url.rstrip("/"), "headers": headers, "timeout": timeout}


def _handover_times(
    received_at: datetime | None, due_at: datetime | None, handed_over_at: datetime | None
) -> dict[str, datetime | None]:
    return {"received_at": received_at, "due_at": due_at, "handed_over_at": handed_over_at}


def _petition_nullables(
    dossier_code: str | Unset | None,
    deadline_at: datetime | Unset | None,
    handled_at: datetime | Unset | None,
    citizen_verdict: Verdict | Unset | None,
) -> dict[str, Any]:
    return {
        "dossier_code": dossier_code,
        "deadline_at": deadline_at,
        "handled_at": handled_at,
        "citizen_verdict": citizen_verdict,
    }


class HailongClient:
    """hailong for one-stop systems, kiosks and portals (synchronous).

    `api_key` may be None for `submit_response` alone. Errors raise `HailongError`
    subclasses carrying the contract's `code`; network failures raise `httpx.HTTPError`.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(**_options(base_url, api_key, timeout), transport=transport)

    def __enter__(self) -> HailongClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: Call[T]) -> T:
        response = self._http.request(call.method, call.path, params=call.params, json=call.json)
        raise_for_error(response)
        return call.parse(response)

    # -- issuing and answering -----------------------------------------------------------
    def issue_survey(
        self,
        dossier_code: str,
        agency_code: str,
        resolved_at: datetime,
        *,
        procedure_code: str | None = None,
        procedure_name: str | None = None,
        received_at: datetime | None = None,
        due_at: datetime | None = None,
        handed_over_at: datetime | None = None,
        supplement_requests: int | None = None,
        channel: Channel | None = None,
        staff: Staff | None = None,
        counter_code: str | None = None,
        language: Language | None = None,
        contact: Contact | None = None,
    ) -> Survey:
        """POST /api/v1/handovers. Safe to repeat: the same dossier keeps its survey, and
        the facts left at None keep their stored values.
        `contact` (with `consent: True`) has the link sent by message; the answer's
        `messages` say what became of them."""
        return self._send(
            calls.issue_survey(
                dossier_code,
                agency_code,
                resolved_at,
                _handover_times(received_at, due_at, handed_over_at),
                {
                    "procedure_code": procedure_code,
                    "procedure_name": procedure_name,
                    "supplement_requests": supplement_requests,
                    "channel": channel,
                    "staff": staff,
                    "counter_code": counter_code,
                    "language": language,
                },
                contact,
            )
        )

    def revoke_survey(self, dossier_code: str, agency_code: str | None = None) -> Survey:
        return self._send(calls.revoke_survey(dossier_code, agency_code))

    def submit_response(
        self,
        token: str | None = None,
        short_code: str | None = None,
        *,
        answers: Answers,
        source: Source = "api",
        client_submission_id: str | None = None,
        contact: str | None = None,
        contact_consent: bool = False,
        submitted_at: datetime | None = None,
    ) -> Submission:
        """POST /api/v1/responses with the token or the short code (exactly one)."""
        return self._send(
            calls.submit_response(
                token,
                short_code,
                answers,
                source,
                client_submission_id,
                contact,
                contact_consent,
                submitted_at,
            )
        )

    def agencies(self) -> list[Agency]:
        return self._send(calls.agencies())

    # -- scores --------------------------------------------------------------------------
    @overload
    def score(self, agency_code: str, period: str, *, profile: None = None) -> Score: ...
    @overload
    def score(self, agency_code: str, period: str, *, profile: Tt01Name) -> Tt01Score: ...
    @overload
    def score(self, agency_code: str, period: str, *, profile: str) -> Score | Tt01Score: ...
    def score(
        self, agency_code: str, period: str, *, profile: str | None = None
    ) -> Score | Tt01Score:
        """The agency's score; `profile`: another scoring profile the service computes beside
        its own (`"tt-01-2018"`: a `Tt01Score`; the main profile's name: a `Score`)."""
        return self._send(calls.score(agency_code, period, profile))

    @overload
    def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: None = None,
    ) -> list[Score]: ...
    @overload
    def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: Tt01Name,
    ) -> list[Tt01Score]: ...
    @overload
    def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: str,
    ) -> list[Score] | list[Tt01Score]: ...
    def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: str | None = None,
    ) -> list[Score] | list[Tt01Score]:
        """The scores of one agency, a parent's children, or all the key sees; `profile` as
        for `score`."""
        return self._send(calls.scores(period, agency_code, parent_code, profile))

    def scores_csv(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        profile: str | None = None,
    ) -> bytes:
        """The scores as a CSV file (UTF-8 with BOM, Vietnamese headers), chosen as `scores`
        chooses; `profile`: another scoring profile the service computes (e.g. tt-01-2018)."""
        return self._send(calls.scores_csv(period, agency_code, parent_code, profile))

    def scores_xlsx(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        profile: str | None = None,
    ) -> bytes:
        """The scores as an Excel workbook, chosen as `scores_csv` chooses."""
        return self._send(calls.scores_xlsx(period, agency_code, parent_code, profile))

    @overload
    def rankings(self, period: str, parent_code: str, *, profile: None = None) -> list[Score]: ...
    @overload
    def rankings(self, period: str, parent_code: str, *, profile: Tt01Name) -> list[Tt01Score]: ...
    @overload
    def rankings(
        self, period: str, parent_code: str, *, profile: str
    ) -> list[Score] | list[Tt01Score]: ...
    def rankings(
        self, period: str, parent_code: str, *, profile: str | None = None
    ) -> list[Score] | list[Tt01Score]:
        """The parent's children ordered by K (best first; by TT 01's total under
        `profile="tt-01-2018"`); ties share a `rank`."""
        return self._send(calls.rankings(period, parent_code, profile))

    def explain(
        self, agency_code: str, period: str, limit: int | None = None, *, profile: str | None = None
    ) -> Explanation:
        """The score with what is behind each component. The main profile's only: another
        `profile` (TT 01/2018) is refused with InvalidInput on `profile`."""
        return self._send(calls.explain(agency_code, period, limit, profile))

    def staff_scores(self, agency_code: str, period: str) -> StaffScores:
        return self._send(calls.staff_scores(agency_code, period))

    def set_inputs(
        self,
        agency_code: str,
        period: str,
        *,
        d: float | Unset | None = UNSET,
        e: int | Unset | None = UNSET,
        note: str | Unset | None = UNSET,
    ) -> Score:
        """Set D and/or E; a field left out is kept, None clears it. Returns the new score."""
        return self._send(calls.set_inputs(agency_code, period, d, e, note))

    def import_petition(
        self,
        petition_code: str,
        agency_code: str,
        received_at: datetime,
        *,
        dossier_code: str | Unset | None = UNSET,
        deadline_at: datetime | Unset | None = UNSET,
        handled_at: datetime | Unset | None = UNSET,
        citizen_verdict: Verdict | Unset | None = UNSET,
        result_complaint: bool | None = None,
        within_authority: bool | None = None,
        outcome: str | None = None,
    ) -> Petition:
        """Import a petition, or update the one with this code.

        `dossier_code`, `deadline_at`, `handled_at` and `citizen_verdict` left out (UNSET)
        are not sent, so an update keeps them; None sends null: detach the petition from its
        dossier, take the default deadline, not handled, no verdict (one recorded by
        mistake; the server refuses clearing a handling the citizen judged without it).
        The other facts left at None are not sent, so an update keeps their stored values
        (result_complaint and within_authority too, which were always sent: an update adding
        handled_at reset a petition outside the agency's authority to within it, and group
        5 with it); a new petition takes the server's
        defaults (false, true)."""
        return self._send(
            calls.import_petition(
                petition_code,
                agency_code,
                received_at,
                _petition_nullables(dossier_code, deadline_at, handled_at, citizen_verdict),
                {
                    "result_complaint": result_complaint,
                    "within_authority": within_authority,
                    "outcome": outcome,
                },
            )
        )

    # -- the working-day calendar --------------------------------------------------------
    def calendar_days(self) -> list[CalendarDay]:
        """Every local override (days off, make-up working days), by day."""
        return self._send(calls.calendar_days())

    def calendar_day(self, day: date) -> CalendarDay:
        """Whether `day` is a working day, and whether an override says so."""
        return self._send(calls.calendar_day(day))

    def set_calendar_day(self, day: date, *, working: bool, note: str | None = None) -> CalendarDay:
        """Declare a day off (working=False) or a make-up working day; the late dossiers it
        spans are re-scored (`dossiers_rescored`). A key without agency scope."""
        return self._send(calls.set_calendar_day(day, working, note))

    def unset_calendar_day(self, day: date) -> CalendarDay:
        """Remove the day's override: the national calendar says again (none: nothing done)."""
        return self._send(calls.unset_calendar_day(day))

    # -- webhooks ------------------------------------------------------------------------
    def create_webhook(
        self, url: str, events: Sequence[EventType], agency_code: str | None = None
    ) -> WebhookCreated:
        """Subscribe; keep the returned `secret` (shown once) to verify deliveries."""
        return self._send(calls.create_webhook(url, events, agency_code))

    def webhooks(self) -> list[Webhook]:
        return self._send(calls.webhooks())

    def webhook(self, webhook_id: str) -> Webhook:
        return self._send(calls.webhook(webhook_id))

    def delete_webhook(self, webhook_id: str) -> None:
        return self._send(calls.delete_webhook(webhook_id))

    def enable_webhook(self, webhook_id: str) -> Webhook:
        return self._send(calls.enable_webhook(webhook_id))

    def deliveries(self, webhook_id: str, limit: int | None = None) -> list[Delivery]:
        """Recent deliveries, newest first, each with its attempts."""
        return self._send(calls.deliveries(webhook_id, limit))

    def retry_delivery(self, webhook_id: str, delivery_id: int) -> Delivery:
        return self._send(calls.retry_delivery(webhook_id, delivery_id))


class AsyncHailongClient:
    """hailong for one-stop systems, kiosks and portals (asyncio); same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._http = httpx.AsyncClient(**_options(base_url, api_key, timeout), transport=transport)

    async def __aenter__(self) -> AsyncHailongClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: Call[T]) -> T:
        response = await self._http.request(
            call.method, call.path, params=call.params, json=call.json
        )
        raise_for_error(response)
        return call.parse(response)

    # -- issuing and answering -----------------------------------------------------------
    async def issue_survey(
        self,
        dossier_code: str,
        agency_code: str,
        resolved_at: datetime,
        *,
        procedure_code: str | None = None,
        procedure_name: str | None = None,
        received_at: datetime | None = None,
        due_at: datetime | None = None,
        handed_over_at: datetime | None = None,
        supplement_requests: int | None = None,
        channel: Channel | None = None,
        staff: Staff | None = None,
        counter_code: str | None = None,
        language: Language | None = None,
        contact: Contact | None = None,
    ) -> Survey:
        return await self._send(
            calls.issue_survey(
                dossier_code,
                agency_code,
                resolved_at,
                _handover_times(received_at, due_at, handed_over_at),
                {
                    "procedure_code": procedure_code,
                    "procedure_name": procedure_name,
                    "supplement_requests": supplement_requests,
                    "channel": channel,
                    "staff": staff,
                    "counter_code": counter_code,
                    "language": language,
                },
                contact,
            )
        )

    async def revoke_survey(self, dossier_code: str, agency_code: str | None = None) -> Survey:
        return await self._send(calls.revoke_survey(dossier_code, agency_code))

    async def submit_response(
        self,
        token: str | None = None,
        short_code: str | None = None,
        *,
        answers: Answers,
        source: Source = "api",
        client_submission_id: str | None = None,
        contact: str | None = None,
        contact_consent: bool = False,
        submitted_at: datetime | None = None,
    ) -> Submission:
        return await self._send(
            calls.submit_response(
                token,
                short_code,
                answers,
                source,
                client_submission_id,
                contact,
                contact_consent,
                submitted_at,
            )
        )

    async def agencies(self) -> list[Agency]:
        return await self._send(calls.agencies())

    # -- scores --------------------------------------------------------------------------
    @overload
    async def score(self, agency_code: str, period: str, *, profile: None = None) -> Score: ...
    @overload
    async def score(self, agency_code: str, period: str, *, profile: Tt01Name) -> Tt01Score: ...
    @overload
    async def score(self, agency_code: str, period: str, *, profile: str) -> Score | Tt01Score: ...
    async def score(
        self, agency_code: str, period: str, *, profile: str | None = None
    ) -> Score | Tt01Score:
        return await self._send(calls.score(agency_code, period, profile))

    @overload
    async def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: None = None,
    ) -> list[Score]: ...
    @overload
    async def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: Tt01Name,
    ) -> list[Tt01Score]: ...
    @overload
    async def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: str,
    ) -> list[Score] | list[Tt01Score]: ...
    async def scores(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        *,
        profile: str | None = None,
    ) -> list[Score] | list[Tt01Score]:
        return await self._send(calls.scores(period, agency_code, parent_code, profile))

    async def scores_csv(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        profile: str | None = None,
    ) -> bytes:
        return await self._send(calls.scores_csv(period, agency_code, parent_code, profile))

    async def scores_xlsx(
        self,
        period: str,
        agency_code: str | None = None,
        parent_code: str | None = None,
        profile: str | None = None,
    ) -> bytes:
        return await self._send(calls.scores_xlsx(period, agency_code, parent_code, profile))

    @overload
    async def rankings(
        self, period: str, parent_code: str, *, profile: None = None
    ) -> list[Score]: ...
    @overload
    async def rankings(
        self, period: str, parent_code: str, *, profile: Tt01Name
    ) -> list[Tt01Score]: ...
    @overload
    async def rankings(
        self, period: str, parent_code: str, *, profile: str
    ) -> list[Score] | list[Tt01Score]: ...
    async def rankings(
        self, period: str, parent_code: str, *, profile: str | None = None
    ) -> list[Score] | list[Tt01Score]:
        return await self._send(calls.rankings(period, parent_code, profile))

    async def explain(
        self, agency_code: str, period: str, limit: int | None = None, *, profile: str | None = None
    ) -> Explanation:
        return await self._send(calls.explain(agency_code, period, limit, profile))

    async def staff_scores(self, agency_code: str, period: str) -> StaffScores:
        return await self._send(calls.staff_scores(agency_code, period))

    async def set_inputs(
        self,
        agency_code: str,
        period: str,
        *,
        d: float | Unset | None = UNSET,
        e: int | Unset | None = UNSET,
        note: str | Unset | None = UNSET,
    ) -> Score:
        return await self._send(calls.set_inputs(agency_code, period, d, e, note))

    async def import_petition(
        self,
        petition_code: str,
        agency_code: str,
        received_at: datetime,
        *,
        dossier_code: str | Unset | None = UNSET,
        deadline_at: datetime | Unset | None = UNSET,
        handled_at: datetime | Unset | None = UNSET,
        citizen_verdict: Verdict | Unset | None = UNSET,
        result_complaint: bool | None = None,
        within_authority: bool | None = None,
        outcome: str | None = None,
    ) -> Petition:
        return await self._send(
            calls.import_petition(
                petition_code,
                agency_code,
                received_at,
                _petition_nullables(dossier_code, deadline_at, handled_at, citizen_verdict),
                {
                    "result_complaint": result_complaint,
                    "within_authority": within_authority,
                    "outcome": outcome,
                },
            )
        )

    # -- the working-day calendar --------------------------------------------------------
    async def calendar_days(self) -> list[CalendarDay]:
        return await self._send(calls.calendar_days())

    async def calendar_day(self, day: date) -> CalendarDay:
        return await self._send(calls.calendar_day(day))

    async def set_calendar_day(
        self, day: date, *, working: bool, note: str | None = None
    ) -> CalendarDay:
        return await self._send(calls.set_calendar_day(day, working, note))

    async def unset_calendar_day(self, day: date) -> CalendarDay:
        return await self._send(calls.unset_calendar_day(day))

    # -- webhooks ------------------------------------------------------------------------
    async def create_webhook(
        self, url: str, events: Sequence[EventType], agency_code: str | None = None
    ) -> WebhookCreated:
        return await self._send(calls.create_webhook(url, events, agency_code))

    async def webhooks(self) -> list[Webhook]:
        return await self._send(calls.webhooks())

    async def webhook(self, webhook_id: str) -> Webhook:
        return await self._send(calls.webhook(webhook_id))

    async def delete_webhook(self, webhook_id: str) -> None:
        return await self._send(calls.delete_webhook(webhook_id))

    async def enable_webhook(self, webhook_id: str) -> Webhook:
        return await self._send(calls.enable_webhook(webhook_id))

    async def deliveries(self, webhook_id: str, limit: int | None = None) -> list[Delivery]:
        return await self._send(calls.deliveries(webhook_id, limit))

    async def retry_delivery(self, webhook_id: str, delivery_id: int) -> Delivery:
        return await self._send(calls.retry_delivery(webhook_id, delivery_id))
