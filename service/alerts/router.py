"""HTTP for alerts: GET /api/v1/alerts, GET/PUT /api/v1/agencies/{code}/alert-rules."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, cast

from fastapi import APIRouter, Query
from sqlmodel import Session

from service.admin.agencies import visible_agency
from service.alerts import listing, rules
from service.alerts.schemas import (
    AlertList,
    AlertPublic,
    AlertRules,
    AlertRulesUpdate,
    EmailSummary,
    RuleName,
    RulePublic,
)
from service.models import Agency
from service.periods import period_field
from service.profile import Profile
from service.text_clean import OptionalCodeText
from service.web.deps import ManagerWork, ReaderWork
from service.web.errors import error_responses
from service.web.params import CodePath, CursorQuery, LimitQuery

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=error_responses(401, 403, 404, 422))


def _rules_public(
    agency: Agency, profile: Profile, settings: dict[str, rules.RuleSetting]
) -> AlertRules:
    return AlertRules(
        agency_code=agency.code,
        profile=profile.name,
        min_evaluations_for_staff=profile.staff.min_evaluations_for_staff,
        response_rate_min_issued=profile.alerts.response_rate_min_issued,
        rules=[
            RulePublic(
                rule=cast(RuleName, s.rule),
                enabled=s.enabled,
                threshold=s.threshold,
                default_threshold=s.default_threshold,
                overridden=s.overridden,
            )
            for s in settings.values()
        ],
    )


@router.get(
    "/agencies/{code}/alert-rules",
    response_model=AlertRules,
    summary="The agency's alert rules as they apply: the profile's, or its own (manager, admin)",
)
async def get_alert_rules(code: CodePath, work: ManagerWork) -> AlertRules:
    def read(session: Session) -> AlertRules:
        principal = work.principal(session)
        agency = visible_agency(session, principal, code)
        assert agency.id is not None
        settings = rules.settings_for(session, [agency.id], work.profile)[agency.id]
        return _rules_public(agency, work.profile, settings)

    return await work.run(read)


@router.put(
    "/agencies/{code}/alert-rules",
    response_model=AlertRules,
    summary="Switch the agency's alert rules on or off and set their thresholds (manager, admin)",
)
async def put_alert_rules(
    code: CodePath, update: AlertRulesUpdate, work: ManagerWork
) -> AlertRules:
    changes = {
        name: (
            None
            if (given := getattr(update, name)) is None
            else rules.OverrideIn(given.enabled, given.threshold)
        )
        for name in update.model_fields_set
    }

    def write(session: Session) -> AlertRules:
        principal = work.principal(session)
        agency = visible_agency(session, principal, code)
        settings = rules.set_overrides(session, principal, agency, changes, work.profile)
        return _rules_public(agency, work.profile, settings)

    return await work.run(write)


def _alert_public(alert: listing.RaisedAlert, *, details: bool) -> AlertPublic:
    statuses = Counter(n.status for n in alert.notified)
    reasons = [n.reason for n in alert.notified if n.reason]
    return AlertPublic(
        id=alert.id,
        agency_code=alert.agency_code,
        agency_name=alert.agency_name,
        rule=cast(RuleName, alert.rule),
        subject=alert.subject if details else None,
        period=alert.period,
        raised_at=alert.raised_at,
        values=alert.values if details else {},
        email=EmailSummary(
            recipients=len(alert.notified),
            sent=statuses["sent"],
            pending=statuses["pending"],
            failed=statuses["failed"],
            skipped=statuses["skipped"],
            # Why none was planned; else the last failure's or skip's reason.
            reason=alert.email_reason or (reasons[-1] if reasons else None),
        ),
    )


@router.get(
    "/alerts",
    response_model=AlertList,
    summary="Alerts raised, newest first, a page at a time (reader, manager, admin; scoped)",
)
async def list_alerts(
    work: ReaderWork,
    agency_code: Annotated[
        str | None,
        Query(max_length=64, description="This agency and its descendants"),
        OptionalCodeText,
    ] = None,
    period: Annotated[str | None, Query(max_length=16, description="e.g. 2025-Q3")] = None,
    rule: Annotated[RuleName | None, Query(description="Only this rule")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 100,
) -> AlertList:
    period_key = period_field(period).key if period is not None else None

    def read(session: Session) -> AlertList:
        principal = work.principal(session)
        scope_path = principal.scope_path
        if agency_code is not None:
            scope_path = visible_agency(session, principal, agency_code).path
        raised, next_cursor = listing.raised_alerts(
            session, scope_path, cursor, limit, period=period_key, rule=rule
        )
        data = [
            _alert_public(alert, details=rules.details_for(alert.rule, principal.role))
            for alert in raised
        ]
        return AlertList(data=data, count=len(data), next_cursor=next_cursor)

    return await work.run(read)
