"""Plausible activity for the demo, over the last full quarter and the current one up to
now, so that its scoreboard, console and exports show something a visitor can read both
for the period they open on (the current quarter) and for a finished one. Deterministic
(fixed seed), idempotent (dossier codes are fixed, and an existing demo dossier is left
alone).

With a TT 01/2018 profile beside the K score (`profile.also`), the citizens also answer its
question (`agencies_contacted`) and the competent authority enters its indicators 5, 6 and
9, so that both scorings show. Those draws come from their own generator: the K score's
answers, dossiers and inputs are exactly those of the demo without it."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from sqlmodel import Session, col, select

from service.auth.principal import Principal
from service.calendar.working_days import LOCAL_TZ, add_working_days, local_date
from service.handovers.schemas import HandoverCreate, StaffRefs
from service.handovers.service import Issued, issue
from service.models import Agency, Dossier, Invitation
from service.periods import period_containing
from service.profile import Profile
from service.scoring.inputs import set_inputs
from service.scoring.schemas import InputsUpdate
from service.settings import Settings
from service.surveys.answers import Answers
from service.surveys.service import Submission, submit

DOSSIERS_PER_AGENCY = 40  # over about four months: ~24 in a full quarter
# Received in the last days and resolved just now: the current quarter has answers even
# on its first day, when the demo's pages open on it.
RECENT_PER_AGENCY = 4
# How well each demo agency does: (share late, share of poor answers). Different on purpose,
# so the ranking has an order and the groups all appear.
PROFILES = {
    "79.STP": (0.02, 0.02),
    "79.SXD": (0.25, 0.25),
    "79.BTH": (0.05, 0.05),
    "79.SGN": (0.10, 0.12),
    "79.TDH": (0.15, 0.30),
}
# TT 01/2018's entered indicators per agency (desk_organisation, public_posting,
# online_services), both quarters: mostly full marks, a few 1s. The ward that posts no
# procedures publicly (E = 0 below) has public_posting 1.
TT01_ENTERED = {
    "79.STP": (2, 2, 2),
    "79.SXD": (1, 2, 1),
    "79.BTH": (2, 2, 2),
    "79.SGN": (2, 2, 1),
    "79.TDH": (2, 1, 2),
}
# The TT 01/2018 question's answers and how often citizens give them; None: left unanswered
# (the question is optional).
CONTACTS: list[str | None] = ["desk_only", "one_more", "several_more", None]
CONTACTS_WEIGHTS = [76, 14, 5, 5]
# Who seeds the demo, in every record it writes (the seed's agencies and keys too).
ACTOR = "cli:demo"


COMPLAINTS = [
    "Phải chờ khá lâu ở quầy.",
    "Cán bộ hướng dẫn chưa rõ thủ tục.",
    "Hồ sơ bị yêu cầu bổ sung nhiều lần.",
]


def _written(session: Session, issued: Issued) -> Issued:
    """The issued survey as stored. A new dossier's invitation is written with the commit
    and its objects are not in the session (see handovers.service): to answer it in the
    same seeding run, commit and read both back."""
    if issued.invitation.id is not None:
        return issued
    session.commit()
    row = session.exec(
        select(Invitation, Dossier)
        .join(Dossier, col(Invitation.dossier_id) == col(Dossier.id))
        .where(Dossier.agency_id == issued.dossier.agency_id, Dossier.code == issued.dossier.code)
    ).one()
    return Issued(row[0], row[1], created=issued.created)


def seed_activity(
    session: Session, staff_codes: dict[str, list[str]], settings: Settings, profile: Profile
) -> int:
    """Handovers, answers and complaints from the start of the last full quarter up to now.
    Returns dossiers made."""
    rng = random.Random(79)
    # Only TT 01/2018's draws: the K score's (rng) are the same with or without it.
    tt01_rng = random.Random(1801)
    principal = Principal.of_cli(ACTOR)
    now = datetime.now(LOCAL_TZ)
    current = period_containing(local_date(now), "quarter")
    first_day = current.previous().first_day
    span = max(1, (local_date(now) - first_day).days)  # received up to yesterday
    # "A moment ago", but today: in the first minutes of a quarter, ten minutes back was
    # the last quarter's, and the scoreboard opened on a quarter with no K anywhere.
    moment_ago = max(
        now - timedelta(minutes=10), datetime.combine(local_date(now), time.min, LOCAL_TZ)
    )
    made = 0
    for code, (late_share, poor_share) in PROFILES.items():
        agency = session.exec(select(Agency).where(Agency.code == code)).one()
        people = staff_codes[code]
        for n in range(DOSSIERS_PER_AGENCY):
            dossier_code = f"DEMO-{code}-{n:03d}"
            known = select(Dossier.id).where(
                Dossier.agency_id == agency.id, Dossier.code == dossier_code
            )
            if session.exec(known).first():
                continue
            day = first_day + timedelta(days=rng.randrange(span))
            if n >= DOSSIERS_PER_AGENCY - RECENT_PER_AGENCY:  # resolved a moment ago
                day = local_date(now) - timedelta(days=1 + rng.randrange(3))
            received = datetime.combine(day, time(8, 30), LOCAL_TZ)
            due = add_working_days(received, 5)
            late_by = rng.choice([2, 4, 8]) if rng.random() < late_share else 0
            # Nothing is resolved in the future: recent dossiers are resolved a moment ago.
            resolved = min(
                due - timedelta(hours=30) + timedelta(days=late_by * 1.4),
                moment_ago,
            )
            resolved = max(resolved, received + timedelta(hours=2))
            payload = HandoverCreate(
                dossier_code=dossier_code,
                agency_code=code,
                procedure_code="1.001612",
                procedure_name=rng.choice(
                    [
                        "Đăng ký khai sinh",
                        "Cấp bản sao trích lục",
                        "Chứng thực bản sao",
                        "Đăng ký kết hôn",
                    ]
                ),
                received_at=received,
                due_at=due,
                resolved_at=resolved,
                handed_over_at=min(resolved + timedelta(hours=1), now),
                channel="counter",
                supplement_requests=rng.choice([0, 0, 0, 1, 2]),
                # Not the tour's counter (Q01): the activity's unanswered surveys, issued
                # now, queued at the kiosk paired there ahead of the tour's handover (a
                # stranger met eleven before it; README walkthrough).
                counter_code="Q02",
                staff=StaffRefs(receiving=people[0], handling=people[-1], returning=people[0]),
            )
            issued = issue(session, principal, payload, settings, profile)
            made += 1
            if rng.random() < 0.7:  # most citizens answer
                issued = _written(session, issued)
                poor = rng.random() < poor_share
                answers = Answers(
                    choices={
                        "timeliness": "late" if late_by else "on_time",
                        "supplement_requests": rng.choice(["none", "none", "once"]),
                        "staff_attitude": "poor"
                        if poor
                        else rng.choice(["good", "good", "normal"]),
                        "overall": "unsatisfied"
                        if poor
                        else rng.choice(["very_satisfied", "satisfied"]),
                    },
                    complaint=rng.choice(COMPLAINTS) if poor else None,
                )
                if profile.also is not None:
                    # The recent dossiers always answer it: the current quarter then has
                    # indicator 4 (and a TT 01 total) from its first day.
                    recent = n >= DOSSIERS_PER_AGENCY - RECENT_PER_AGENCY
                    contacted = tt01_rng.choices(
                        CONTACTS[:-1] if recent else CONTACTS,
                        CONTACTS_WEIGHTS[:-1] if recent else CONTACTS_WEIGHTS,
                    )[0]
                    if contacted is not None:
                        answers.choices["agencies_contacted"] = contacted
                answered_at = min(resolved + timedelta(hours=3), max(moment_ago, resolved))
                answered = Submission("phone", received_at=answered_at)
                submit(session, issued, answers, profile, answered)
        # E: the procedures are posted publicly (e_max) everywhere but one ward, both
        # quarters; with TT 01/2018 beside the K score, its indicators 5, 6 and 9 in the
        # same entry.
        update = InputsUpdate(e=0 if code == "79.TDH" else int(profile.k_score.e_max))
        if profile.also is not None:
            desk, posting, online = TT01_ENTERED[code]
            update = InputsUpdate(
                e=update.e,
                indicators={
                    "desk_organisation": desk,
                    "public_posting": posting,
                    "online_services": online,
                },
            )
        for quarter in (current.previous(), current):
            set_inputs(session, principal, agency, quarter, update, profile)
    return made
