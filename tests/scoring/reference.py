"""A plain reference implementation of the scores, written from the rules in DESIGN.md and
the scoring profile, for the property test in test_property.py.

It never touches service/scoring: it takes the final state of the world as plain records
(dossiers with their facts and staff, evaluations, petitions, calendar overrides, period
inputs) and recomputes every score the slow, obvious way: filter the records of the agency
and period, count, divide. No day counters, no deltas, no SQL.

Choices where the texts leave room (each also named in the report of the test):
- The calendar is DESIGN.md's: Monday to Friday, minus Vietnam's public holidays, plus the
  weekend make-up working days the `holidays` package knows, and the days the government
  announced that it does not know yet (the data of working_days.ANNOUNCED), overridden by
  the local table.
- An evaluation belongs to the agency of its dossier (the dossier's current facts) and to
  the period of its local receipt day; a petition to its own agency and receipt day.
- A petition's default deadline is the end (local) of the N-th working day after the local
  day of receipt, under the calendar as it finally stands.
- "Overdue" for group 5 c means resolved after the due time (any lateness), or, where the
  profile says so, two or more supplement requests.
- Only petitions of the national channel count in group 5: imports, and survey comments
  only where the profile counts them (`survey_comments_are_petitions`) and the citizen asked
  for an answer. The others mark no dossier either.
- A petition not handled yet is, at the moment of reading: past its deadline, late (or left
  out, by `open_after_deadline`); within it, left out (or counted as not on time, by
  `open_within_deadline`).
- The profile key `no_due_time_is_on_time` is taken as true (every shipped profile says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from functools import lru_cache

import holidays

from service.calendar.working_days import ANNOUNCED, LOCAL_TZ
from service.profile import Profile

# How many supplement requests each answer of the questionnaire means (the profiles say the
# same; written here again on purpose: a profile that drifts from it fails this test).
SUPPLEMENT_TIMES = {"none": 0, "once": 1, "twice_or_more": 2}
COMPONENTS = ("a", "b", "c", "d", "e")


# --- records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dossier:
    code: str
    agency: str
    resolved_at: datetime
    due_at: datetime | None = None
    supplement_requests: int = 0
    receiving: str | None = None
    handling: str | None = None
    returning: str | None = None

    def staff(self, role: str) -> str | None:
        value: str | None = getattr(self, role)
        return value


@dataclass(frozen=True)
class Evaluation:
    dossier_code: str
    received_at: datetime
    timeliness: str | None = None
    supplement_requests: str | None = None
    staff_attitude: str | None = None
    overall: str | None = None


@dataclass(frozen=True)
class Petition:
    code: str
    agency: str
    received_at: datetime
    dossier_code: str | None = None
    deadline_at: datetime | None = None  # given explicitly; None: the profile's default
    handled_at: datetime | None = None
    citizen_verdict: str | None = None
    result_complaint: bool = False
    within_authority: bool = True
    source: str = "import"  # or "survey": left in hailong's survey or kiosk
    wants_reply: bool = True  # a survey comment whose author asked for an answer


@dataclass
class World:
    """Everything the scores depend on, as it stands at the end of the stream."""

    agencies: dict[str, str | None]  # code -> parent code
    dossiers: dict[str, Dossier] = field(default_factory=dict)
    evaluations: dict[str, Evaluation] = field(default_factory=dict)  # by dossier code
    petitions: dict[str, Petition] = field(default_factory=dict)
    overrides: dict[date, bool] = field(default_factory=dict)
    # (agency, period key) -> (D, E) as set by the competent authority
    inputs: dict[tuple[str, str], tuple[float | None, int | None]] = field(default_factory=dict)
    # Staff codes ever named for an agency: each has a row in the staff list.
    staff: set[tuple[str, str]] = field(default_factory=set)


# --- calendar and periods -----------------------------------------------------------------


def local_day(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


@lru_cache(maxsize=16)
def _vietnam(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=year)


def is_working_day(day: date, overrides: Mapping[date, bool]) -> bool:
    if day in overrides:
        return overrides[day]
    if day in ANNOUNCED:  # the government's word where the package does not know it yet
        return ANNOUNCED[day]
    known = _vietnam(day.year)
    if day in known.weekend_workdays:  # a Saturday worked to make up a bridge day off
        return True
    return day.weekday() < 5 and day not in known


def working_days_between(after: date, up_to: date, overrides: Mapping[date, bool]) -> int:
    """Working days d with after < d <= up_to."""
    days = (after + timedelta(days=n) for n in range(1, (up_to - after).days + 1))
    return sum(1 for d in days if is_working_day(d, overrides))


def nth_working_day_after(start: date, n: int, overrides: Mapping[date, bool]) -> date:
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_working_day(day, overrides):
            n -= 1
    return day


@dataclass(frozen=True)
class Period:
    key: str
    first: date
    last: date

    def contains(self, moment: datetime) -> bool:
        return self.first <= local_day(moment) <= self.last


def period(key: str) -> Period:
    if len(key) == 4:
        year = int(key)
        return Period(key, date(year, 1, 1), date(year, 12, 31))
    year, rest = int(key[:4]), key[5:]
    if rest.startswith("Q"):
        first_month, months = 3 * int(rest[1:]) - 2, 3
    else:
        first_month, months = int(rest), 1
    first = date(year, first_month, 1)
    end_month = first_month + months
    after = date(year + (end_month > 12), (end_month - 1) % 12 + 1, 1)
    return Period(key, first, after - timedelta(days=1))


def period_keys_of(day: date) -> list[str]:
    return [f"{day.year}-{day.month:02d}", f"{day.year}-Q{(day.month + 2) // 3}", str(day.year)]


# --- the rules ----------------------------------------------------------------------------


def num(value: float) -> Fraction:
    """A profile constant or imported value as the exact decimal it was written as."""
    return Fraction(str(value))


def is_late(dossier: Dossier) -> bool:
    if dossier.due_at is None:
        return False  # no due time: on time (profile no_due_time_is_on_time)
    return dossier.resolved_at > dossier.due_at


def overdue_working_days(dossier: Dossier, overrides: Mapping[date, bool]) -> int:
    if not is_late(dossier):
        return 0
    assert dossier.due_at is not None
    return working_days_between(
        local_day(dossier.due_at), local_day(dossier.resolved_at), overrides
    )


def supplements_overdue(dossier: Dossier, profile: Profile) -> bool:
    rules = profile.k_score
    return rules.supplements_make_overdue and (
        dossier.supplement_requests >= rules.supplements_overdue_from
    )


def timeliness_points(
    dossier: Dossier, profile: Profile, overrides: Mapping[date, bool]
) -> Fraction:
    rules = profile.k_score
    assert rules.no_due_time_is_on_time, "the reference knows only 'no due time is on time'"
    if supplements_overdue(dossier, profile):
        return Fraction(0)
    if not is_late(dossier):
        return num(rules.on_time_points)
    if overdue_working_days(dossier, overrides) > rules.late_zero_after_working_days:
        return Fraction(0)
    return num(rules.late_within_grace_points)


def is_overdue(dossier: Dossier, profile: Profile) -> bool:
    return is_late(dossier) or supplements_overdue(dossier, profile)


def is_unsatisfied(evaluation: Evaluation, profile: Profile) -> bool:
    if evaluation.overall is not None:
        return evaluation.overall in profile.survey.unsatisfied_overall
    return evaluation.staff_attitude in profile.survey.unsatisfied_attitude


def b_point(evaluation: Evaluation, profile: Profile) -> int | None:
    if evaluation.supplement_requests is None:
        return None
    times = SUPPLEMENT_TIMES[evaluation.supplement_requests]
    return int(times <= profile.k_score.max_supplement_requests_for_point)


def c_point(evaluation: Evaluation, profile: Profile) -> int | None:
    if evaluation.staff_attitude is None:
        return None
    return int(evaluation.staff_attitude in profile.survey.good_attitude)


def _or(point: int | None, blank: int | None) -> int | None:
    return blank if point is None else point


def counts_in_group5(petition: Petition, profile: Profile) -> bool:
    if petition.source != "survey":
        return True
    return profile.petitions.survey_comments_are_petitions and petition.wants_reply


def deadline_passed(
    petition: Petition, world: World, profile: Profile, now: datetime | None = None
) -> bool | None:
    """Was the petition handled after its deadline? Not handled: has the deadline passed by
    `now` (None without a `now`)?"""
    moment = petition.handled_at or now
    if moment is None:
        return None
    if petition.deadline_at is not None:
        return moment > petition.deadline_at
    last_day = nth_working_day_after(
        local_day(petition.received_at),
        profile.petitions.handling_deadline_working_days,
        world.overrides,
    )
    return local_day(moment) > last_day


def petition_state(petition: Petition, world: World, profile: Profile, now: datetime) -> str:
    """'on_time', 'late' (handled late, or still open past its deadline), or 'open'."""
    late = deadline_passed(petition, world, profile, now)
    if petition.handled_at is not None:
        return "late" if late else "on_time"
    return "late" if late else "open"


def scored(petition: Petition, world: World, profile: Profile, now: datetime) -> bool:
    """In rates a and b at `now`."""
    if petition.handled_at is not None:
        return True
    rules = profile.petitions
    if petition_state(petition, world, profile, now) == "late":
        return rules.open_after_deadline == "late"
    return rules.open_within_deadline == "counted_not_on_time"


def ratio(numerator: Fraction | int, denominator: int) -> Fraction | None:
    return Fraction(numerator) / denominator if denominator else None


# --- scores -------------------------------------------------------------------------------


@dataclass
class Expected:
    agency: str
    period: str
    a: Fraction | None
    b: Fraction | None
    c: Fraction | None
    d: Fraction | None
    e: Fraction | None
    k: Fraction | None
    group: str
    k_min: Fraction
    k_max: Fraction
    missing: list[str]
    d_source: str | None
    group5: Fraction | None
    petitions_on_time_rate: Fraction | None
    petitions_satisfied_rate: Fraction | None
    dossiers_satisfied_rate: Fraction | None
    resolved_dossiers: int
    evaluations: int
    petitions: int
    rank: int | None = None


@dataclass
class ExpectedStaff:
    staff_code: str
    resolved_dossiers: int
    a: Fraction | None
    evaluations: int
    b: Fraction | None
    c: Fraction | None
    withheld: bool
    b_evaluations: int = 0  # the evaluations B rests on (profile: unanswered_question)
    c_evaluations: int = 0
    hidden_with_others: bool = False  # in the period's own list (the complement rule)


def resolved_in(world: World, agency: str, span: Period) -> list[Dossier]:
    return [
        d for d in world.dossiers.values() if d.agency == agency and span.contains(d.resolved_at)
    ]


def evaluations_in(world: World, agency: str, span: Period) -> list[Evaluation]:
    return [
        e
        for e in world.evaluations.values()
        if world.dossiers[e.dossier_code].agency == agency and span.contains(e.received_at)
    ]


def a_score(dossiers: list[Dossier], world: World, profile: Profile) -> Fraction | None:
    points = sum((timeliness_points(d, profile, world.overrides) for d in dossiers), Fraction(0))
    return ratio(points, len(dossiers))


def b_and_c_points(evaluations: list[Evaluation], profile: Profile) -> tuple[list[int], ...]:
    """The points B and C each rest on: an unanswered question is out of its component, or
    0 points, as the profile says."""
    blank = 0 if profile.k_score.unanswered_question == "zero_points" else None
    b_points = [p for e in evaluations if (p := _or(b_point(e, profile), blank)) is not None]
    c_points = [p for e in evaluations if (p := _or(c_point(e, profile), blank)) is not None]
    return b_points, c_points


def b_and_c(evaluations: list[Evaluation], profile: Profile) -> tuple[Fraction | None, ...]:
    """An evaluation earning B's (C's) point scores the profile's points for it."""
    k = profile.k_score
    worth = (num(k.few_supplements_points), num(k.good_attitude_points))
    return tuple(
        ratio(sum(p) * value, len(p))
        for p, value in zip(b_and_c_points(evaluations, profile), worth, strict=True)
    )


def score(
    world: World, profile: Profile, agency: str, period_key: str, now: datetime | None = None
) -> Expected:
    now = now or datetime.now(LOCAL_TZ)
    span = period(period_key)
    rules = profile.k_score
    dossiers = resolved_in(world, agency, span)
    evaluations = evaluations_in(world, agency, span)
    petitions = [
        p
        for p in world.petitions.values()
        if p.agency == agency and span.contains(p.received_at) and counts_in_group5(p, profile)
    ]
    in_rates = [p for p in petitions if scored(p, world, profile, now)]
    a = a_score(dossiers, world, profile)
    b, c = b_and_c(evaluations, profile)

    # Group 5 (Decision 766): three rates.
    in_authority = [p for p in in_rates if p.within_authority]
    on_time_rate = ratio(
        sum(1 for p in in_authority if petition_state(p, world, profile, now) == "on_time"),
        len(in_authority),
    )
    bad_petitions = [
        p
        for p in in_rates
        if petition_state(p, world, profile, now) == "late"
        or (p.handled_at is not None and (p.citizen_verdict == "unsatisfied" or p.result_complaint))
    ]
    satisfied_rate = ratio(len(in_rates) - len(bad_petitions), len(in_rates))
    unsatisfied_dossiers = {
        code for code, e in world.evaluations.items() if is_unsatisfied(e, profile)
    }
    petitioned_dossiers = {
        p.dossier_code
        for p in world.petitions.values()
        if p.dossier_code and counts_in_group5(p, profile)
    }
    bad_dossiers = [
        d
        for d in dossiers
        if d.code in unsatisfied_dossiers or d.code in petitioned_dossiers or is_overdue(d, profile)
    ]
    dossiers_rate = ratio(len(dossiers) - len(bad_dossiers), len(dossiers))
    rates = [on_time_rate, satisfied_rate, dossiers_rate]
    g5 = profile.group5
    earned = [
        num(g5.points) * min(Fraction(1), rate / num(g5.full_marks_rate))
        for rate in rates
        if rate is not None
    ]
    group5: Fraction | None
    if not earned or (g5.missing_rate_rule == "null" and len(earned) < 3):
        group5 = None
    else:
        group5 = sum(earned, Fraction(0)) * 3 / len(earned)

    d_input, e_input = world.inputs.get((agency, period_key), (None, None))
    d: Fraction | None
    d_source: str | None
    if d_input is not None:
        d, d_source = num(d_input), "imported"
    else:
        d, d_source = group5, ("group5" if group5 is not None else None)
    e = num(e_input) if e_input is not None else None

    parts = {"a": a, "b": b, "c": c, "d": d, "e": e}
    maxima = {
        "a": num(rules.on_time_points),
        "b": num(rules.few_supplements_points),
        "c": num(rules.good_attitude_points),
        "d": num(rules.d_max),
        "e": num(rules.e_max),
    }
    missing = [name for name in COMPONENTS if parts[name] is None]
    known = sum((v for v in parts.values() if v is not None), Fraction(0))
    k: Fraction | None
    if missing:
        k, group = None, "chua_du_du_lieu"
        k_min, k_max = known, known + sum((maxima[m] for m in missing), Fraction(0))
    else:
        k = k_min = k_max = known
        threshold = num(rules.satisfied_threshold)
        if k > threshold or (k == threshold and rules.threshold_is_satisfied):
            group = "hai_long"
        else:
            group = "khong_hai_long"
    return Expected(
        agency=agency,
        period=period_key,
        a=a,
        b=b,
        c=c,
        d=d,
        e=e,
        k=k,
        group=group,
        k_min=k_min,
        k_max=k_max,
        missing=missing,
        d_source=d_source,
        group5=group5,
        petitions_on_time_rate=on_time_rate,
        petitions_satisfied_rate=satisfied_rate,
        dossiers_satisfied_rate=dossiers_rate,
        resolved_dossiers=len(dossiers),
        evaluations=len(evaluations),
        petitions=len(petitions),
    )


def scores(world: World, profile: Profile, period_key: str) -> dict[str, Expected]:
    """Every agency's score for the period, ranked among siblings (1, 2, 2, 4)."""
    result = {agency: score(world, profile, agency, period_key) for agency in world.agencies}
    for agency, expected in result.items():
        if expected.k is None:
            continue
        siblings = [
            other for other, parent in world.agencies.items() if parent == world.agencies[agency]
        ]
        k = expected.k
        expected.rank = 1 + sum(1 for s in siblings if (sk := result[s].k) is not None and sk > k)
    return result


def staff_scores(
    world: World, profile: Profile, agency: str, period_key: str
) -> dict[str, ExpectedStaff]:
    """Per staff of the agency: A over the dossiers the person handled, B and C over the
    evaluations of the dossiers the person returned (profile role), withheld below the
    anonymity minimum."""
    span = period(period_key)
    role = profile.staff.role_for_evaluations
    hidden_in_months = set()
    if span.first.month != span.last.month or span.first.year != span.last.year:
        for month in _months(span):
            own = staff_scores(world, profile, agency, month)
            hidden_in_months |= {code for code, staff in own.items() if staff.hidden_with_others}
    minimum = profile.staff.min_evaluations_for_staff

    def too_few(given: list[Evaluation]) -> bool:
        # A component no answer rests on is null, and hides nothing of the other.
        points = b_and_c_points(given, profile)
        return len(given) < minimum or any(0 < len(p) < minimum for p in points)

    result = {}
    answered: dict[str, list[int]] = {}  # per staff: how many evaluations B and C rest on
    for staff_agency, code in sorted(world.staff):
        if staff_agency != agency:
            continue
        handled = [d for d in resolved_in(world, agency, span) if d.handling == code]
        evaluations = [
            e
            for e in evaluations_in(world, agency, span)
            if world.dossiers[e.dossier_code].staff(role) == code
        ]
        # Each of B and C rests on at least the minimum of evaluations, or both are withheld;
        # and so in each month of the period that has any (a period less its other months
        # would show that month).
        by_month: dict[tuple[int, int], list[Evaluation]] = {}
        for e in evaluations:
            day = local_day(e.received_at)
            by_month.setdefault((day.year, day.month), []).append(e)
        thin = any(too_few(month) for month in by_month.values())
        # And a month that hides them with others (below) hides them in its quarter and year:
        # the period less its other months would be that month's figure.
        withheld = too_few(evaluations) or thin or code in hidden_in_months
        answered[code] = [len(points) for points in b_and_c_points(evaluations, profile)]
        b, c = b_and_c(evaluations, profile)
        result[code] = ExpectedStaff(
            staff_code=code,
            resolved_dossiers=len(handled),
            a=a_score(handled, world, profile),
            evaluations=len(evaluations),
            b=None if withheld else b,
            c=None if withheld else c,
            withheld=withheld,
            b_evaluations=answered[code][0],
            c_evaluations=answered[code][1],
        )
    # The agency's B and C are public: what they rest on beyond the staff shown must be none
    # or at least the minimum, or, of the shown with answers in a figure so short, the one
    # with the fewest there is hidden too, and again (hiding one with none there mends nothing).
    whole = [len(p) for p in b_and_c_points(evaluations_in(world, agency, span), profile)]
    shown = {code: answered[code] for code, staff in result.items() if not staff.withheld}
    while True:
        rest = [
            total - sum(counts[i] for counts in shown.values()) for i, total in enumerate(whole)
        ]
        short = [i for i, n in enumerate(rest) if 0 < n < minimum]
        mending = [(shown[code][i], code) for i in short for code in shown if shown[code][i] > 0]
        if not mending:
            break
        hide = min(mending)[1]
        del shown[hide]
        result[hide].b = result[hide].c = None
        result[hide].withheld = result[hide].hidden_with_others = True
    return result


def _months(span: Period) -> list[str]:
    first, keys = span.first, []
    while first <= span.last:
        keys.append(f"{first.year}-{first.month:02d}")
        first = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return keys
