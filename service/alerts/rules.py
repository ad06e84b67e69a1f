"""The rules and their settings: the profile's `[alerts]` defaults, and per agency an
override that switches a rule off or sets its own threshold.

- `k_below_threshold`: the agency's K for the period is below the threshold (default: the
  profile's group threshold, `k_score.satisfied_threshold`; at the threshold itself as the
  profile's `threshold_is_satisfied` says). No K yet (a component missing): no alert.
- `staff_c_falling`: a staff member's C is lower than in the previous period by at least
  the threshold (default `alerts.staff_c_drop`), both periods with at least the anonymity
  minimum of answers (`staff.min_evaluations_for_staff`, which no override lowers).
- `petition_deadline`: a petition not yet handled whose deadline is at most the threshold
  in working days away (default `alerts.petition_deadline_working_days`).
- `response_rate_low`: the agency's response rate is below the threshold (default
  `alerts.response_rate_floor`), once it issued `alerts.response_rate_min_issued`
  invitations in the period, counting those issued `alerts.response_rate_settle_days` ago
  or earlier (the newer are not unanswered yet).

An alert tells the agency's managers and every official above it. So an agency's own
manager (or an admin key limited to it) may make its rules speak sooner, never quieter:
switching a rule off, or moving a threshold so that fewer alerts are raised, is for a
manager or admin placed above it, the competent authority of D and E (a ward under
watch switched off its K alert, and the district heard nothing all quarter: audit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, select

from service.audit import record
from service.auth.principal import Principal
from service.errors import Forbidden, field_error
from service.models import ALERT_RULES, Agency, AlertRuleOverride, utcnow
from service.profile import PETITION_ALERT_MAX_WORKING_DAYS, Profile
from service.scoring.inputs import is_competent

# Rules about one staff member: who and their figures are for the agency's managers and
# admins (DESIGN: per-staff figures are managers'; GET staff-scores refuses readers), not for
# a portal's reader key or a webhook subscriber, who learn only that such an alert was raised.
PER_STAFF = frozenset({"staff_c_falling"})
# An alert's figures that are rates 0..1, written as percentages wherever people read
# them (the console's alerts page, the managers' e-mails).
PERCENT_FIGURES = frozenset({"rate", "floor"})
# An alert's figures that are a rule's setting, written in every digit as the rules table
# shows them (numbers.typed): cut to two decimals as a score is, an agency's threshold of
# 16.333 read "Ngưỡng: 16,33" beside a K of 16,33 found below it (review); a response-rate
# floor of 0.3334, cut to a percent's one decimal, read "33,3 %" beside the rate of 1/3 found
# below it (alerts audit). One in PERCENT_FIGURES too is a percentage in every digit.
SETTING_FIGURES = frozenset({"threshold", "floor"})
# The rules that raise fewer alerts as their threshold goes down (K below it, a petition
# that many working days from its deadline, a response rate below it); the other, the drop
# of C that counts, raises fewer as it goes up.
QUIETER_AS_LOWERED = frozenset({"k_below_threshold", "petition_deadline", "response_rate_low"})


def details_for(rule: str, role: str | None) -> bool:
    """Whether `role` (None: a webhook subscriber, any role) sees an alert's subject and
    values."""
    return rule not in PER_STAFF or role in ("manager", "admin")


@dataclass(frozen=True)
class RuleSetting:
    rule: str
    enabled: bool
    threshold: float
    default_threshold: float
    overridden: bool


def default_thresholds(profile: Profile) -> dict[str, float]:
    alerts = profile.alerts
    return {
        "k_below_threshold": profile.k_score.satisfied_threshold,
        "staff_c_falling": alerts.staff_c_drop,
        "petition_deadline": float(alerts.petition_deadline_working_days),
        "response_rate_low": alerts.response_rate_floor,
    }


def check_threshold(rule: str, value: float, profile: Profile) -> str | None:
    """What is wrong with `value` as this rule's threshold, or None."""
    k_max = profile.k_score.k_max()
    if rule == "k_below_threshold" and not 0 <= value <= k_max:
        return f"a K between 0 and {k_max:g}"
    c_max = profile.k_score.maxima()["c"]
    if rule == "staff_c_falling" and not 0 < value <= c_max:
        return f"a drop of C above 0 and at most {c_max:g}, C's largest value (0.2: a fifth of 1)"
    most = PETITION_ALERT_MAX_WORKING_DAYS
    if rule == "petition_deadline" and (not value.is_integer() or not 0 <= value <= most):
        return f"a whole number of working days from 0 to {most}"
    if rule == "response_rate_low" and not 0 <= value <= 1:
        return "a rate from 0 to 1"
    return None


def settings_for(
    session: Session, agency_ids: list[int], profile: Profile
) -> dict[int, dict[str, RuleSetting]]:
    """Each agency's four rules as they apply."""
    defaults = default_thresholds(profile)
    overrides: dict[int, dict[str, AlertRuleOverride]] = {a: {} for a in agency_ids}
    if agency_ids:
        for row in session.exec(
            select(AlertRuleOverride).where(
                AlertRuleOverride.agency_id.in_(agency_ids)  # type: ignore[attr-defined]
            )
        ).all():
            overrides[row.agency_id][row.rule] = row
    result: dict[int, dict[str, RuleSetting]] = {}
    for agency_id in agency_ids:
        mine = overrides[agency_id]
        result[agency_id] = {
            rule: _setting(rule, defaults[rule], mine.get(rule)) for rule in ALERT_RULES
        }
    return result


def _setting(rule: str, default: float, row: AlertRuleOverride | None) -> RuleSetting:
    if row is None:
        return RuleSetting(rule, True, default, default, False)
    threshold = row.threshold if row.threshold is not None else default
    return RuleSetting(rule, row.enabled, threshold, default, True)


@dataclass(frozen=True)
class OverrideIn:
    enabled: bool
    threshold: float | None


def quieter(before: RuleSetting, after: RuleSetting) -> bool:
    """Whether `after` raises fewer alerts than `before`: switched off, or its threshold
    moved the quiet way while on."""
    if not after.enabled:
        return before.enabled
    if not before.enabled:
        return False
    moved = after.threshold - before.threshold
    return moved < 0 if after.rule in QUIETER_AS_LOWERED else moved > 0


class QuietingRefused(Forbidden):
    """An agency's own key made one of its alert rules quieter (see the module's text)."""


def may_quiet(principal: Principal, agency: Agency) -> bool:
    """Whether the key may make the agency's rules raise fewer alerts: placed above it."""
    return is_competent(principal, agency)


def _refuse_quieting(
    principal: Principal,
    agency: Agency,
    current: Mapping[str, RuleSetting],
    changes: Mapping[str, OverrideIn | None],
) -> None:
    if may_quiet(principal, agency):
        return
    for rule, change in changes.items():
        was = current[rule]
        will = (
            _setting(rule, was.default_threshold, None)
            if change is None
            else RuleSetting(
                rule,
                change.enabled,
                was.default_threshold if change.threshold is None else change.threshold,
                was.default_threshold,
                True,
            )
        )
        if quieter(was, will):
            raise QuietingRefused(
                f"The alert rule '{rule}' of agency '{agency.code}' would raise fewer alerts: "
                "switching a rule off or loosening its threshold is for a manager or admin of "
                "an agency above it, whom its alerts also tell. The agency's own key may make "
                "its rules stricter."
            )


def set_overrides(
    session: Session,
    principal: Principal,
    agency: Agency,
    changes: Mapping[str, OverrideIn | None],
    profile: Profile,
) -> dict[str, RuleSetting]:
    """Set (or, with None, remove) the agency's override of each rule named; audited."""
    assert agency.id is not None
    actor = principal.actor
    for rule, change in changes.items():
        if rule not in ALERT_RULES:
            raise field_error(rule, f"not a rule: one of {', '.join(ALERT_RULES)}")
        if change is not None and change.threshold is not None:
            problem = check_threshold(rule, change.threshold, profile)
            if problem is not None:
                raise field_error(f"{rule}.threshold", problem)
    _refuse_quieting(
        principal, agency, settings_for(session, [agency.id], profile)[agency.id], changes
    )
    existing = {
        row.rule: row
        for row in session.exec(
            select(AlertRuleOverride).where(AlertRuleOverride.agency_id == agency.id)
        ).all()
    }
    before = {
        rule: {"enabled": row.enabled, "threshold": row.threshold}
        for rule, row in existing.items()
        if rule in changes
    }
    after: dict[str, object] = {}
    for rule, change in changes.items():
        row = existing.get(rule)
        if change is None:
            if row is not None:
                session.delete(row)
            after[rule] = None
            continue
        if row is None:
            row = AlertRuleOverride(agency_id=agency.id, rule=rule, updated_by=actor)
        row.enabled, row.threshold = change.enabled, change.threshold
        row.updated_at, row.updated_by = utcnow(), actor
        session.add(row)
        after[rule] = {"enabled": change.enabled, "threshold": change.threshold}
    session.flush()
    record(
        session,
        actor,
        "alert_rules.set",
        f"agency:{agency.code}",
        {"from": before, "to": after},
    )
    return settings_for(session, [agency.id], profile)[agency.id]
