"""Evaluating the rules (rules.py) and raising what they find, once.

The worker calls `raise_alerts` every HAILONG_ALERT_EVERY_SECONDS. Everything is read in
one transaction; then, in a second one, each finding is inserted with ON CONFLICT DO
NOTHING on the alert table's unique constraint (agency, rule, subject, period, occasion):
only the insert that creates the row emits the `alert.raised` event (with that
transaction's COMMIT) and plans the managers' e-mails (emails.py sends them later, outside
any transaction). Two workers evaluating at once, or the same condition found every five
minutes, raise it once.

The period watched is the profile's `alerts.period` containing today (local time), and for
K the one before it too; a petition's alert belongs to the period of its deadline, so that
one petition near its deadline at the turn of a quarter is announced once, and once more
for each deadline it is given later (its occasion).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from service.alerts import emails
from service.alerts.rules import RuleSetting, details_for, settings_for
from service.calendar.overrides import load_overrides
from service.calendar.working_days import local_date, working_days_after
from service.db import alone, dialect_insert, transaction
from service.models import Agency, Alert, Petition, utcnow
from service.ops.counters import counters_profile
from service.periods import Period, period_containing
from service.profile import PETITION_ALERT_MAX_WORKING_DAYS, Profile
from service.scoring.compute import exact
from service.scoring.reach import agency_reach
from service.scoring.service import evaluate
from service.scoring.staff import staff_scores
from service.settings import Settings
from service.webhooks import outbox, payloads

log = logging.getLogger("hailong.alerts")
ALERTS_LOCK = 0x68616C2D616C7274  # "hal-alrt": one process evaluates the rules at a time
# Open petitions read per evaluation: those due within this many calendar days, enough for
# the largest threshold in working days across Tết (two calendar days for each, and two).
PETITION_HORIZON = timedelta(days=2 * PETITION_ALERT_MAX_WORKING_DAYS + 2)
# How long into a period the response rate of the one before is still judged, past the
# days its last invitations take to settle: a week, for a worker down meanwhile.
PREVIOUS_RATE_DAYS = timedelta(days=7)
FLOAT_SLACK = 1e-9  # C's are floats of exact fractions: 0.8 - 0.6 must count as 0.2


@dataclass(frozen=True)
class Finding:
    agency_id: int
    rule: str
    subject: str
    period: str
    values: dict[str, Any]
    occasion: str = ""  # Alert.occasion


def watched_period(profile: Profile, now: datetime) -> Period:
    return period_containing(local_date(now), profile.alerts.period)


def stored_k(k: Fraction, limit: Fraction) -> float:
    """K as the alert stores it (a JSON float): the float nearest K, unless that is the
    limit's own float while K is below the limit. The float nearest a K a hair under 20 can
    be 20.0 (3 + 2/3 + 16.333333333333332 = 20 - 1.3e-15): the API, the e-mail and the
    console read "K 20" beside "Ngưỡng 20" and "Không hài lòng" (audit). Then it is the
    float just below, which emails.figure reads as the decimal it is, cut: 19,99."""
    near = float(k)
    if k < limit and near == float(limit):
        return math.nextafter(near, -math.inf)
    return near


# The parts of K entered by the competent authority, not counted from the data: missing
# until entered (E at the period's end; D until imported, where group 5 has nothing).
ENTERED_PARTS = frozenset({"d", "e"})


def _k_below(
    session: Session,
    agencies: Sequence[Agency],
    rules: dict[int, dict[str, RuleSetting]],
    period: Period,
    profile: Profile,
) -> list[Finding]:
    """K below the threshold, or, while K is not known (E is entered at the period's end),
    the most it can still reach below it: judged on K alone, the rule stayed silent for the
    whole quarter it watches, and spoke, if ever, once the next one was watched (alerts
    audit). Raised once per period either way: K known later raises nothing more."""
    watched = [a for a in agencies if rules[a.id or 0]["k_below_threshold"].enabled]
    found = []
    at_limit_is_fine = profile.k_score.threshold_is_satisfied
    for agency_id, computed in evaluate(session, watched, period, profile).items():
        threshold = rules[agency_id]["k_below_threshold"].threshold
        limit = exact(threshold)
        known = computed.k is not None
        if not known and not set(computed.missing) <= ENTERED_PARTS:
            continue  # no dossier or answer yet to judge on: not enough data to say
        k = computed.k if computed.k is not None else computed.k_max
        if k < limit or (k == limit and not at_limit_is_fine):
            name = "k" if known else "k_max"
            values = {name: stored_k(k, limit), "threshold": threshold, "group": computed.group}
            found.append(Finding(agency_id, "k_below_threshold", "", period.key, values))
    return found


def _staff_c_falling(
    session: Session, agency: Agency, setting: RuleSetting, period: Period, profile: Profile
) -> list[Finding]:
    """Only staff whose C exists in both periods, i.e. has the anonymity minimum of answers
    in both (staff_scores withholds C below it)."""
    assert agency.id is not None
    now = staff_scores(session, agency, period, profile).data
    before = {
        s.staff_code: s for s in staff_scores(session, agency, period.previous(), profile).data
    }
    found = []
    for person in now:
        earlier = before.get(person.staff_code)
        if person.c is None or earlier is None or earlier.c is None:
            continue
        drop = earlier.c - person.c
        # A C that did not fall is never falling, whatever the threshold: any above 0 is
        # accepted, and one under the slack announced an unchanged C (alerts audit).
        if drop > 0 and drop + FLOAT_SLACK >= setting.threshold:
            values = {
                "c": person.c,
                "previous_c": earlier.c,
                "previous_period": period.previous().key,
                "drop": round(drop, 6),
                "threshold": setting.threshold,
                "evaluations": person.evaluations,
                "previous_evaluations": earlier.evaluations,
            }
            found.append(
                Finding(agency.id, "staff_c_falling", person.staff_code, period.key, values)
            )
    return found


def working_days_left(today: date, deadline_day: date, overrides: dict[date, bool]) -> int:
    """Working days after today up to and including the deadline's day (0: due today)."""
    return working_days_after(today, deadline_day, overrides)


def _petition_deadlines(
    session: Session,
    agency_ids: list[int],
    rules: dict[int, dict[str, RuleSetting]],
    profile: Profile,
    now: datetime,
) -> list[Finding]:
    watched = [a for a in agency_ids if rules[a]["petition_deadline"].enabled]
    if not watched:
        return []
    petitions = session.exec(
        select(Petition).where(
            col(Petition.agency_id).in_(watched),
            col(Petition.handled_at).is_(None),
            col(Petition.deadline_at).is_not(None),
            col(Petition.deadline_at) >= now,  # past it, the petition is late, not near
            col(Petition.deadline_at) <= now + PETITION_HORIZON,
        )
    ).all()
    if not petitions:
        return []
    overrides = load_overrides(session)
    today = local_date(now)
    found = []
    for petition in petitions:
        assert petition.deadline_at is not None
        limit = rules[petition.agency_id]["petition_deadline"].threshold
        deadline_day = local_date(petition.deadline_at)
        left = working_days_left(today, deadline_day, overrides)
        if left <= limit:
            period = period_containing(deadline_day, profile.alerts.period)
            deadline = petition.deadline_at.isoformat()
            values = {"deadline_at": deadline, "working_days_left": left, "threshold": int(limit)}
            found.append(
                Finding(
                    petition.agency_id,
                    "petition_deadline",
                    petition.code,
                    period.key,
                    values,
                    occasion=deadline,
                )
            )
    return found


def _response_rate_low(
    session: Session,
    agency: Agency,
    setting: RuleSetting,
    period: Period,
    profile: Profile,
    now: datetime,
) -> list[Finding]:
    assert agency.id is not None
    settled = now - timedelta(days=profile.alerts.response_rate_settle_days)
    total = agency_reach(session, agency, period, "agency", profile, issued_before=settled).total
    if total.issued < profile.alerts.response_rate_min_issued or total.rate is None:
        return []
    if total.rate >= setting.threshold:
        return []
    values = {
        "rate": total.rate,
        "issued": total.issued,
        "answered": total.answered,
        "floor": setting.threshold,
        "min_issued": profile.alerts.response_rate_min_issued,
        "settle_days": profile.alerts.response_rate_settle_days,
    }
    return [Finding(agency.id, "response_rate_low", "", period.key, values)]


def find(
    session: Session, profile: Profile, now: datetime, counters_current: bool = True
) -> list[Finding]:
    """Every condition that holds now, for every agency. `counters_current`: whether the
    score counters are built under `profile`; if not, the rules read from them (K, staff
    C) wait, the others (response rates, petition deadlines: read from their rows) do not."""
    agencies = list(session.exec(select(Agency).order_by(col(Agency.id))).all())
    ids = [a.id for a in agencies if a.id is not None]
    rules = settings_for(session, ids, profile)
    period = watched_period(profile, now)
    found = []
    if counters_current:
        # The period before too: its E is entered at its end, and its D may be imported
        # after it, so its K may become known below the threshold only once the next period
        # is watched; a ward's failed quarter was then never announced (alerts audit).
        for judged in (period.previous(), period):
            found += _k_below(session, agencies, rules, judged, profile)
    # The period before too, for its first days: invitations of its last days are settled
    # only once it has ended, and were never judged (alerts audit: twenty invitations of
    # 29/9, none answered, and Q3's rate was never announced).
    settle = timedelta(days=profile.alerts.response_rate_settle_days)
    rate_periods = [period]
    if local_date(now - settle) <= period.first_day + PREVIOUS_RATE_DAYS:
        rate_periods.insert(0, period.previous())
    for agency in agencies:
        assert agency.id is not None
        mine = rules[agency.id]
        if counters_current and mine["staff_c_falling"].enabled:
            found += _staff_c_falling(session, agency, mine["staff_c_falling"], period, profile)
        if mine["response_rate_low"].enabled:
            for judged in rate_periods:
                found += _response_rate_low(
                    session, agency, mine["response_rate_low"], judged, profile, now
                )
    found += _petition_deadlines(session, ids, rules, profile, now)
    return found


def _insert(session: Session, finding: Finding, now: datetime) -> int | None:
    """The new alert's id, or None when it was raised before (the unique constraint)."""
    table = Alert.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(session.get_bind().dialect.name, table)
        .values(
            agency_id=finding.agency_id,
            rule=finding.rule,
            subject=finding.subject,
            period=finding.period,
            occasion=finding.occasion,
            raised_at=now,
            values=finding.values,
            email_reason=None,
        )
        .on_conflict_do_nothing(
            index_elements=["agency_id", "rule", "subject", "period", "occasion"]
        )
        .returning(table.c.id)
    )
    new_id = session.execute(statement).scalar()
    return int(new_id) if new_id is not None else None


def raise_alerts(
    engine: Engine, settings: Settings, profile: Profile, now: datetime | None = None
) -> list[int]:
    """Evaluate every rule of every agency; returns the ids of the alerts raised now."""
    now = now or utcnow()
    with transaction(engine) as session:
        # Every worker process evaluates at its start (all of `serve --workers N` at once)
        # and then on its interval: what one finds the others would find too.
        if not alone(session, ALERTS_LOCK):
            return []
        # K and C come from the score counters: built under another profile (a rebuild at
        # start that failed, a worker started under another profile than the server's) they
        # would be judged by this profile's rules, and an alert is raised once per period,
        # never taken back (audit). Those rules wait until the counters follow this
        # profile; the others go on: a petition's deadline warning skipped once is lost
        # for good, and a worker left under another profile withheld them all (review).
        current = counters_profile(session.connection()) == profile.fingerprint()
        if not current:
            log.warning(
                "alert rules on K and staff C not evaluated: the score counters are built "
                "under another scoring profile than this process's %s; the server rebuilds "
                "them under its own, so run the worker with the server's settings",
                profile.name,
            )
        found = find(session, profile, now, current)
    if not found:
        return []
    raised: list[int] = []
    with transaction(engine) as session:
        codes = {a.id: a.code for a in session.exec(select(Agency)).all()}
        for finding in found:
            alert_id = _insert(session, finding, now)
            if alert_id is None:
                continue
            alert = session.get(Alert, alert_id)
            assert alert is not None
            outbox.emit(
                session,
                "alert.raised",
                finding.agency_id,
                payloads.alert_raised(
                    alert, codes[alert.agency_id], details=details_for(alert.rule, None)
                ),
            )
            emails.plan(session, settings, alert)
            raised.append(alert_id)
    if raised:
        log.info("alerts raised: %s", raised)
    return raised
