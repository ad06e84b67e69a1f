"""The console's alerts ("Cảnh báo"): the alerts raised for the agencies the official may
see, newest first, with whom each was e-mailed to; the rules in force (the profile's, and
the agencies' own); and, for a manager or admin, switching an agency's rule off or on and
setting its threshold, through the same service function and audit as the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query
from fastapi.responses import HTMLResponse
from sqlmodel import Session
from starlette.responses import Response

from service.admin.agencies import chosen_agencies, visible_agency
from service.alerts import emails, listing, rules
from service.auth.principal import Principal
from service.auth.roles import MANAGERS
from service.console.format import Formatter, typed_number
from service.console.web import ConsoleDep, Outcome, Redirect
from service.models import ALERT_RULES, MAX_ROW_ID, Agency
from service.profile import PETITION_ALERT_MAX_WORKING_DAYS, Profile
from service.web.deps import FormDep
from service.web.pages import Page
from service.web.params import AgencyChoiceQuery, CodePath

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
PAGE = "/console/alerts"
PAGE_SIZE = 50
RulePath = Annotated[str, Path(max_length=32)]


def input_value(value: float | None, lang: str) -> str:
    """A threshold as the form shows it back: 0,3 in Vietnamese, 0.3 in English, every
    digit kept. With six significant digits (`:g`), 19.1234567 set through the API showed
    as 19,1235, and saving the form as shown (only switching the rule off) stored that
    (audit)."""
    if value is None:
        return ""
    return Formatter(lang).plain(value)


def _page_url(agency: str | None, **extra: str | int) -> str:
    query = {"agency": agency} if agency else {}
    return PAGE + (f"?{urlencode({**query, **extra})}" if query or extra else "")


def _context(
    session: Session,
    who: Principal,
    profile: Profile,
    agency_code: str | None,
    cursor: int | None,
) -> dict[str, Any]:
    # Only what the official's scope covers: a code outside it is refused (403), never shown.
    chosen: Agency | None = None
    if agency_code:
        chosen = visible_agency(session, who, agency_code)
    elif who.scope_agency_id is not None:
        chosen = session.get(Agency, who.scope_agency_id)
    scope = chosen.path if chosen is not None else who.scope_path
    # Officials are named only within the official's own tree, as GET /api/v1/officials.
    raised, older = listing.raised_alerts(
        session, scope, cursor, PAGE_SIZE, viewer_path=who.scope_path
    )
    shown_code = agency_code or None
    own = listing.agencies_with_overrides(session, scope)
    own_ids = [a.id for a in own if a.id is not None]
    own_settings = rules.settings_for(session, own_ids, profile)
    chosen_rules: list[rules.RuleSetting] = []
    if chosen is not None:
        assert chosen.id is not None
        chosen_rules = list(rules.settings_for(session, [chosen.id], profile)[chosen.id].values())
    return {
        "agencies": chosen_agencies(session, who, None, None),
        "chosen": chosen,
        "alerts": raised,
        "older_url": _page_url(shown_code, cursor=older) if older is not None else None,
        "newest_url": _page_url(shown_code) if cursor is not None else None,
        "defaults": rules.default_thresholds(profile),
        "rule_names": ALERT_RULES,
        "chosen_rules": chosen_rules,
        "overrides": [
            (agency, [s for s in own_settings[agency.id].values() if s.overridden])
            for agency in own
            if agency.id is not None
        ],
        "alert_period": profile.alerts.period,
        "min_evaluations": profile.staff.min_evaluations_for_staff,
        "c_max": profile.k_score.maxima()["c"],
        "k_max": profile.k_score.k_max(),
        "min_issued": profile.alerts.response_rate_min_issued,
        "settle_days": profile.alerts.response_rate_settle_days,
        "petition_days_max": PETITION_ALERT_MAX_WORKING_DAYS,
        "can_edit": who.role in MANAGERS and chosen is not None,
        "can_quiet": chosen is not None and rules.may_quiet(who, chosen),
        "input_value": input_value,
        "percent_figures": rules.PERCENT_FIGURES,
        "setting_figures": rules.SETTING_FIGURES,
        "figure": emails.figure,  # an alert's figures, read as the e-mails read them
        "saved": None,
        "values": {},
        "problem": None,
    }


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    console: ConsoleDep,
    agency: AgencyChoiceQuery = None,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ROW_ID)] = None,
    saved: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    profile = console.work.profile

    def show(session: Session) -> Outcome:
        who = console.who(session, MANAGERS)
        context = _context(session, who, profile, agency, cursor)
        context["saved"] = saved if saved in ALERT_RULES else None
        return Page("console/alerts.html", context)

    return await console.respond(show)


@router.post("/alerts/{code}/rules/{rule}", response_class=HTMLResponse)
async def set_rule(console: ConsoleDep, code: CodePath, rule: RulePath, form: FormDep) -> Response:
    """One rule of one agency. Ticked with no threshold: back to the profile's rule (the
    override is removed); else the agency's own setting."""
    profile = console.work.profile
    console.back = _page_url(code)  # the language link's way back (web._here_of)

    def save(session: Session) -> Outcome:
        console.check_csrf(form)
        who = console.who(session, MANAGERS)
        agency = visible_agency(session, who, code)
        enabled = form.get("enabled") == "on"
        text = form.get("threshold", "").strip()
        threshold: float | None = None
        problem = None
        if text:
            try:
                threshold = typed_number(text)
            except ValueError:
                problem = "not_a_number"
            else:
                known = rule in ALERT_RULES
                if known and rules.check_threshold(rule, threshold, profile) is not None:
                    problem = "out_of_range"
        if problem is not None:
            context = _context(session, who, profile, code, None)
            context.update(
                values={"rule": rule, "threshold": text, "enabled": form.get("enabled", "")},
                problem=problem,
            )
            return Page("console/alerts.html", context, 422)
        change = None if enabled and threshold is None else rules.OverrideIn(enabled, threshold)
        try:
            # Unknown rule names are refused here (422), as on the API.
            rules.set_overrides(session, who, agency, {rule: change}, profile)
        except rules.QuietingRefused:
            context = _context(session, who, profile, code, None)
            context.update(
                values={"rule": rule, "threshold": text, "enabled": form.get("enabled", "")},
                problem="needs_above",
            )
            return Page("console/alerts.html", context, 403)
        # To the notice, which takes the focus: "#rules" scrolled it out of view (console
        # accessibility audit).
        return Redirect(_page_url(code, saved=rule) + "#saved")

    return await console.respond(save)
