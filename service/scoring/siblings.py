"""A parent's children scored together for a period, remembered while the database is unchanged.

Every score carries a rank among its siblings, so even one agency's score needs the K of
all ~300 siblings. They come from ONE grouped aggregate of the period's day counters (plus
the period inputs), and the result is remembered per (database, parent, period, profile)
together with a change marker read at the start of every use. A different marker means
something may have been committed since, and the siblings are scored afresh; the marker
never says "unchanged" after a commit, in this process or another:

- PostgreSQL: the transaction snapshot (`pg_current_snapshot()`: the oldest running
  transaction, the next transaction id to be assigned, and the running ones). Any
  transaction that commits after a snapshot was taken was running then or started later,
  so a later snapshot that is identical proves that nothing was committed in between. It
  is read before the data, so the data remembered is at least as new as its marker.
  Conservative: a commit anywhere in the cluster invalidates everything.
- SQLite: `PRAGMA data_version` (changes when another connection, of any process,
  commits) with `total_changes()` (this connection's own writes), for this connection
  only: each pooled connection has its own markers.
A transaction that has written something itself (its own changes are not committed, and
may be rolled back) neither reads nor fills the cache. An entry also ends, with no commit,
when an open petition of the siblings passes its deadline (`Siblings.valid_until`): the
petition is late from that moment (service/scoring/aging.py).

The rules' arithmetic is remembered separately, by the figures it is computed from (see
`compute_remembered`), so that when the counters of a few agencies move only those are
computed again.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any, Literal

from sqlalchemy import text
from sqlmodel import Session, col, select

from service.models import Agency, PeriodInput, utcnow
from service.periods import Period
from service.profile import Profile
from service.scoring import aging
from service.scoring.compute import SCORED_COLUMNS, Computed, compute
from service.scoring.provenance import provenance
from service.scoring.schemas import InputsProvenance
from service.scoring.sums import period_sums

MAX_SIBLING_ENTRIES = 512  # (database, parent, period) entries; cleared whole when full
MAX_COMPUTED_ENTRIES = 50_000  # distinct (figures, D, E) results; cleared whole when full
NONE: tuple[None, None] = (None, None)  # no D and no E entered


@dataclass(frozen=True)
class Siblings:
    """The children of one parent, scored for one period. Shared between requests: read only."""

    computed: dict[int, Computed]
    ranks: dict[int, int | None]
    inputs: dict[int, InputsProvenance]  # who entered each agency's D and E (if any)
    # When an open petition of these agencies passes its deadline, and so the scores stop
    # being true with no commit to say so (service/scoring/aging.py). None: never.
    valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        return self.valid_until is None or now <= self.valid_until


def competition_ranks(k_by_agency: dict[int, Fraction | None]) -> dict[int, int | None]:
    """1, 2, 2, 4: ties share a rank; agencies without a K have none."""
    ranked = sorted((k, agency) for agency, k in k_by_agency.items() if k is not None)
    ranked.reverse()
    ranks: dict[int, int | None] = {agency: None for agency in k_by_agency}
    previous_k, previous_rank = None, 0
    for position, (k, agency) in enumerate(ranked, start=1):
        rank = previous_rank if k == previous_k else position
        ranks[agency] = rank
        previous_k, previous_rank = k, rank
    return ranks


def ranks_by_parent(
    agencies: Sequence[Agency], totals: dict[int, Fraction | None]
) -> dict[int, int | None]:
    """Each agency's rank among its siblings (same parent) by its total (K, or TT 01's)."""
    by_parent: dict[int | None, dict[int, Fraction | None]] = defaultdict(dict)
    for agency in agencies:
        assert agency.id is not None
        by_parent[agency.parent_id][agency.id] = totals[agency.id]
    ranks: dict[int, int | None] = {}
    for group in by_parent.values():
        ranks.update(competition_ranks(group))
    return ranks


# --- the rules' arithmetic, remembered ----------------------------------------------------------

_profiles: dict[int, tuple[Profile, str]] = {}
_computed: dict[tuple[Hashable, ...], Computed] = {}
_lock = threading.Lock()


def _profile_key(profile: Profile) -> str:
    """Everything compute() reads from a profile (the fingerprint leaves out group 5)."""
    known = _profiles.get(id(profile))
    if known is None or known[0] is not profile:
        known = (profile, profile.model_dump_json())
        with _lock:
            if len(_profiles) > 64:
                _profiles.clear()
            _profiles[id(profile)] = known  # holds the profile, so its id is not reused
    return known[1]


def compute_remembered(
    counts: Counter[str], d: float | None, e: float | None, profile: Profile
) -> Computed:
    """compute(), remembered by its inputs: a pure function of them (~50 µs a call)."""
    key = (_profile_key(profile), *(counts[c] for c in SCORED_COLUMNS), d, e)
    found = _computed.get(key)
    if found is None:
        found = compute(counts, d, e, profile)
        with _lock:
            if len(_computed) >= MAX_COMPUTED_ENTRIES:
                _computed.clear()
            _computed[key] = found
    return found


# --- the change marker --------------------------------------------------------------------------

Marker = tuple[Hashable, Hashable] | None
_connection_ids = itertools.count(1)
_CONNECTION_KEY = "hailong.siblings.connection"


def change_marker(session: Session) -> Marker:
    """(where, marker): `where` names the database the cache entry belongs to, `marker` its
    state. None: this transaction has written something, do not use the cache."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        row = connection.execute(
            text(
                "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned(), "
                "(SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).one()
        if row[1] is not None:
            return None
        url = connection.engine.url
        return (url.host, url.port, int(row[2])), row[0]
    raw: Any = connection.connection.dbapi_connection
    if getattr(raw, "in_transaction", True):
        return None  # writes of this transaction are pending (or not a sqlite3 connection)
    info = connection.connection.info
    if _CONNECTION_KEY not in info:  # one number per DBAPI connection, never reused
        info[_CONNECTION_KEY] = next(_connection_ids)
    row = connection.execute(
        text("SELECT (SELECT data_version FROM pragma_data_version), total_changes()")
    ).one()
    return ("sqlite", info[_CONNECTION_KEY]), (int(row[0]), int(row[1]))


# --- the siblings -------------------------------------------------------------------------------

_siblings: dict[tuple[Hashable, ...], tuple[Hashable, Siblings]] = {}


def _children(parent_id: int | None) -> Any:
    column = col(Agency.parent_id)
    return column.is_(None) if parent_id is None else column == parent_id


def _score_children(
    session: Session, parent_id: int | None, period: Period, profile: Profile, now: datetime
) -> Siblings:
    ids = session.exec(select(Agency.id).where(_children(parent_id))).all()
    counts = period_sums(session, period, parent_filter=_children(parent_id))
    overdue = aging.overdue_open(session, period, profile, now, parent_filter=_children(parent_id))
    aging.add_overdue(counts, overdue)
    given = session.exec(
        select(PeriodInput)
        .join(Agency, col(Agency.id) == col(PeriodInput.agency_id))
        .where(_children(parent_id), PeriodInput.period == period.key)
    ).all()
    inputs = {row.agency_id: (row.d, row.e) for row in given}
    computed = {
        agency_id: compute_remembered(
            counts.get(agency_id, Counter()), *inputs.get(agency_id, NONE), profile
        )
        for agency_id in ids
        if agency_id is not None
    }
    ranks = competition_ranks({agency_id: c.k for agency_id, c in computed.items()})
    entered = {row.agency_id: provenance(row) for row in given}
    return Siblings(computed, ranks, entered, overdue.next_deadline)


def siblings(
    session: Session,
    parent_id: int | None,
    period: Period,
    profile: Profile,
    marker: Marker | Literal["read"] = "read",
) -> Siblings:
    """Every child of `parent_id` (None: the top-level agencies), scored and ranked.

    `marker`: `change_marker(session)`, read by a caller before anything else it shows
    beside these scores (so that all of it is at least as new as the marker); by default
    it is read here."""
    if marker == "read":
        marker = change_marker(session)
    now = utcnow()
    if marker is None:
        return _score_children(session, parent_id, period, profile, now)
    where, state = marker
    key = (where, parent_id, period.key, _profile_key(profile))
    found = _siblings.get(key)
    if found is not None and found[0] == state and found[1].valid_at(now):
        return found[1]
    scored = _score_children(session, parent_id, period, profile, now)
    with _lock:
        if len(_siblings) >= MAX_SIBLING_ENTRIES:
            _siblings.clear()
        _siblings[key] = (state, scored)
    return scored


def forget() -> None:
    """Drop everything remembered (tests; a profile reloaded in place)."""
    with _lock:
        _siblings.clear()
        _computed.clear()
        _profiles.clear()
