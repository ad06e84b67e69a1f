"""Rebuilding every counter from the raw rows (`hailong scores recompute`, and at start
under a changed profile).

The live path applies `contributions.py` row by row. A rebuild of millions of rows cannot
afford that, so it states the same rules as SQL (sql_rules.py): the dossiers' stored facts
are re-derived first (dossier_facts.py), then the counters are written by one
`INSERT ... SELECT` per table, never through Python. The property test in tests/scoring
checks that both paths agree with a plain reference implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    cast,
    delete,
    func,
    literal,
    not_,
    select,
    text,
    true,
    union_all,
)
from sqlmodel import Session, col

from service import db
from service.audit import record
from service.models import (
    COUNT_COLUMNS,
    AgencyDayCounter,
    Dossier,
    ScoringState,
    StaffDayCounter,
    utcnow,
)
from service.periods import Period
from service.profile import Profile
from service.scoring.announced_changes import announced_changes
from service.scoring.dossier_facts import refresh_dossier_facts
from service.scoring.sql_rules import (
    DOSSIERS,
    INVITATIONS,
    PETITIONS,
    RESPONSES,
    a_late_over,
    b_point,
    c_bad,
    c_point,
    count_of,
    counted_in_group5,
    in_days,
    petition_bad_when_handled,
    petition_handled_on_time,
    sum_of,
    tt01_answer_points,
    tt01_time_points,
)

REBUILD_LOCK = 0x68616C2D72626C64  # the advisory lock key of "decide whether to rebuild"
# Hash joins and aggregates over millions of rows stay in memory (this transaction only).
REBUILD_WORK_MEM = "256MB"


def _branch(key: Any, day: Any, counts: dict[str, Any], source: Any) -> Any:
    """One source's counts per (key, day), with every counter column (0 where it adds none)."""
    columns = [key.label("owner"), day.label("day")]
    columns += [counts.get(name, literal(0)).label(name) for name in COUNT_COLUMNS]
    return source.add_columns(*columns).where(key.is_not(None)).group_by(key, day)


def _dossier_branch(
    profile: Profile, period: Period | None, key: Any, per_agency: bool, dialect: str
) -> Any:
    """contributions.dossier_delta: the A buckets, group 5 c for agencies, TT 01's time."""
    d = DOSSIERS.c
    over = a_late_over(profile)
    counts = {
        "resolved": cast(func.count(), Integer),
        "a_on_time": count_of(and_(not_(over), not_(d.is_late))),
        "a_late_grace": count_of(and_(not_(over), d.is_late)),
        "a_late_over": count_of(over),
    }
    if per_agency:  # group 5 is an agency's, not a person's
        counts["c_bad_dossiers"] = count_of(c_bad(profile))
    if profile.also is not None:
        counts["tt_time_points"] = sum_of(tt01_time_points(profile.also, dialect))
    source = select().select_from(DOSSIERS).where(in_days(d.resolved_day, period))
    return _branch(key, d.resolved_day, counts, source)


def _response_branch(profile: Profile, period: Period | None, key: Any, source: Any) -> Any:
    r = RESPONSES.c
    counts = {
        "evaluations": cast(func.count(), Integer),
        "b_answered": count_of(r.supplement_requests.is_not(None)),
        "b_points": count_of(b_point(profile)),
        "c_answered": count_of(r.staff_attitude.is_not(None)),
        "c_points": count_of(c_point(profile)),
    }
    if profile.also is not None:
        counts.update({k: sum_of(v) for k, v in tt01_answer_points(profile).items()})
    return _branch(key, r.received_day, counts, source.where(in_days(r.received_day, period)))


def _petition_branch(profile: Profile, period: Period | None) -> Any:
    """contributions.petition_delta: open petitions apart, their aging read with the score."""
    p = PETITIONS.c
    handled = p.handled_at.is_not(None)
    in_authority = p.within_authority.is_(True)
    counts = {
        "petitions": cast(func.count(), Integer),
        "petitions_in_authority": count_of(in_authority),
        "petitions_in_authority_on_time": count_of(and_(in_authority, petition_handled_on_time())),
        "petitions_bad": count_of(petition_bad_when_handled()),
        "petitions_open": count_of(not_(handled)),
        "petitions_open_in_authority": count_of(and_(not_(handled), in_authority)),
    }
    source = (
        select()
        .select_from(PETITIONS)
        .where(in_days(p.received_day, period), counted_in_group5(profile))
    )
    return _branch(p.agency_id, p.received_day, counts, source)


def _agency_rows(profile: Profile, period: Period | None, dialect: str) -> list[Any]:
    return [
        _dossier_branch(profile, period, DOSSIERS.c.agency_id, per_agency=True, dialect=dialect),
        # An evaluation counts for the agency it names (it follows its dossier's).
        _response_branch(profile, period, RESPONSES.c.agency_id, select().select_from(RESPONSES)),
        _petition_branch(profile, period),
    ]


def _staff_rows(profile: Profile, period: Period | None, dialect: str) -> list[Any]:
    evaluated_by = DOSSIERS.c[f"{profile.staff.role_for_evaluations}_staff_id"]
    responses = select().select_from(
        RESPONSES.join(INVITATIONS, INVITATIONS.c.id == RESPONSES.c.invitation_id).join(
            DOSSIERS, DOSSIERS.c.id == INVITATIONS.c.dossier_id
        )
    )
    return [
        # Per-staff A: the dossiers the person handled.
        _dossier_branch(
            profile, period, DOSSIERS.c.handling_staff_id, per_agency=False, dialect=dialect
        ),
        _response_branch(profile, period, evaluated_by, responses),
    ]


def _write_counters(
    session: Session, model: Any, key_column: str, branches: list[Any], period: Period | None
) -> int:
    """INSERT ... SELECT the branches' sums per (key, day). Rows a live write added meanwhile
    are added to, as counters.upsert would. Returns the period's rows."""
    table = model.__table__
    rows = union_all(*branches).subquery()
    query = (
        select(rows.c.owner, rows.c.day, *(func.sum(rows.c[c]) for c in COUNT_COLUMNS))
        .where(true())  # SQLite: INSERT ... SELECT ... ON CONFLICT needs a WHERE to parse
        .group_by(rows.c.owner, rows.c.day)
    )
    insert = db.dialect_insert(session.get_bind().dialect.name, table)
    statement = insert.from_select([key_column, "day", *COUNT_COLUMNS], query)
    statement = statement.on_conflict_do_update(
        index_elements=[key_column, "day"],
        set_={c: table.c[c] + statement.excluded[c] for c in COUNT_COLUMNS},
    )
    session.execute(statement)
    # (The driver's rowcount of an INSERT ... SELECT is not to be relied on.)
    written = select(func.count()).select_from(table).where(in_days(table.c.day, period))
    return int(session.execute(written).scalar_one())


def _hold_live_counter_writes(session: Session) -> None:
    """Live writes wait, until this rebuild commits, before adding to the counters.

    Under READ COMMITTED each statement reads what has committed by its start: an event
    committed between the DELETE and an INSERT ... SELECT had added its own counter row
    and was counted again by the SELECT, onto that row (audit: 3 dossiers where there were
    2, until the next recompute). A live transaction writes its counters last, with its
    COMMIT (counters.apply): one that holds them now commits before the lock is granted
    (and is counted by the SELECT); the others add theirs after this transaction, onto the
    rebuilt rows. What a live write locks after its counters is a row it holds already (an
    answer's dossier, FOR SHARE since its claim) or one a rebuild never touches (an
    invitation opened), so this waits for no one who waits for it. Readers are not held.
    Taken after the dossiers' facts are refreshed: a re-post or an answer waiting for a
    dossier row this rebuild updated holds no counter yet."""
    counter_tables = ", ".join(model.__tablename__ for model in (AgencyDayCounter, StaffDayCounter))
    session.execute(text(f"LOCK TABLE {counter_tables} IN EXCLUSIVE MODE"))


# What a rebuild is doing, in order, for whoever watches a long one (`scores recompute`).
REBUILD_STEPS = (
    "the dossiers' facts (late working days, group 5 flags)",
    "the agencies' day counters (after live writes in progress)",
    "the staff members' day counters",
    "the scores that changed, to announce",
)


def rebuild(
    session: Session,
    profile: Profile,
    period: Period | None = None,
    rules_changed: bool = False,
    step: Callable[[int], None] | None = None,
) -> int:
    """Rebuild the counters (of one period's days, or all). Returns the counter rows written.
    The scores it changed are announced (score.updated); with `rules_changed`, every score
    (new rules move scores the counters alone do not show). `step(i)` is told as each of
    REBUILD_STEPS begins."""
    begin = step or (lambda _: None)
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL work_mem = '{REBUILD_WORK_MEM}'"))
    begin(0)
    refresh_dossier_facts(session, profile, period)
    begin(1)  # a wait for live writes to finish theirs is this step's
    if session.get_bind().dialect.name == "postgresql":
        _hold_live_counter_writes(session)
    with announced_changes(session, period, everything=rules_changed):
        for model in (AgencyDayCounter, StaffDayCounter):
            session.execute(delete(model).where(in_days(col(model.day), period)))
        dialect = session.get_bind().dialect.name
        written = _write_counters(
            session, AgencyDayCounter, "agency_id", _agency_rows(profile, period, dialect), period
        )
        begin(2)
        written += _write_counters(
            session, StaffDayCounter, "staff_id", _staff_rows(profile, period, dialect), period
        )
        begin(3)
    if period is None:
        state = session.get(ScoringState, 1) or ScoringState(profile_fingerprint="")
        state.profile_fingerprint, state.rebuilt_at = profile.fingerprint(), utcnow()
        session.add(state)
    session.flush()
    return written


def note_first_profile(session: Session, profile: Profile) -> bool:
    """On a database with no dossier and no profile noted: note `profile` as the one the
    counters are built under (whatever writes them first: a server's start, `hailong
    demo`; an import notes it with its rebuild). Whether it did. Under the rebuild's lock.

    The commands wrote counters and noted no profile, so the first `serve` after them took
    those counters for another profile's: a full rebuild, a "profile.change" from nothing
    in the audit log, every score announced, and the worker's alert rules skipped with
    advice to fix settings that were right (ops walkthrough)."""
    db.exclusive(session, REBUILD_LOCK, ScoringState.__tablename__)
    if session.get(ScoringState, 1) is not None:
        return False
    if session.execute(select(func.count()).select_from(Dossier)).scalar() != 0:
        return False  # counters of unknown making: the next start rebuilds them
    state = ScoringState(
        profile_fingerprint=profile.fingerprint(), rules_fingerprint=profile.rules_fingerprint()
    )
    session.add(state)
    session.flush()
    return True


def rebuild_if_profile_changed(session: Session, profile: Profile, actor: str = "startup") -> bool:
    """At start: counters built under another profile are rebuilt under this one, and a
    profile changed only in the rules read when a score is read (group 5's points, how
    open petitions count) announces every score all the same. Either is audited.

    Several processes start at once (`serve --workers N`): one decides (and rebuilds)
    while the others wait, then find nothing to do: on PostgreSQL an advisory lock, on
    SQLite the write lock (each process announced and audited the change again: review).
    `actor`: who the audit log names, "startup" or the running process's counters' watcher
    (ops/counters.py). Returns whether it rebuilt or announced anything.
    """
    if note_first_profile(session, profile):
        return False
    state = session.get(ScoringState, 1)
    counted, rules = profile.fingerprint(), profile.rules_fingerprint()
    before = {
        "fingerprint": state.profile_fingerprint if state else None,
        "rules_fingerprint": state.rules_fingerprint if state else None,
    }
    if before["fingerprint"] != counted:
        rows = rebuild(session, profile, rules_changed=True)  # stores the state
    elif before["rules_fingerprint"] in (None, rules):
        # None: the first start since migration 0020, which cannot know the rules before.
        assert state is not None
        state.rules_fingerprint = rules
        session.add(state)
        return False
    else:
        with announced_changes(session, None, everything=True):
            rows = 0  # no counter moves: the scores read from them do
    state = session.get(ScoringState, 1)
    assert state is not None
    state.rules_fingerprint = rules
    session.add(state)
    # Every score moved: the audit log says when, and to which rules (DESIGN.md: who
    # changed the profiles). `fingerprint` names the rules that shape the counters,
    # `rules_fingerprint` the whole profile.
    record(
        session,
        actor,
        "profile.change",
        f"profile:{profile.name}",
        {
            "from": before,
            "to": {"fingerprint": counted, "rules_fingerprint": rules, "profile": profile.name},
            "counter_rows": rows,
        },
    )
    return True
