"""The rules' arithmetic, remembered: `compute()` is a pure function of an agency's summed
counters and its D and E, and its exact fractions cost ~50 µs a call. A ranking of 300
agencies re-reads the counters on every request (so it is never stale) but recomputes only
the agencies whose figures changed since the last request that saw them."""

from __future__ import annotations

import threading
from collections import Counter

from starlette.requests import Request

from service.models import COUNT_COLUMNS
from service.scoring.compute import Computed, compute
from service.scoring.profile import Profile

MAX_ENTRIES = 20_000  # ~300 agencies × dozens of periods; cleared whole when full


class ComputeMemo:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._entries: dict[tuple[object, ...], Computed] = {}
        self._lock = threading.Lock()

    def compute(self, counts: Counter[str], d: float | None, e: float | None) -> Computed:
        key = (*(counts[c] for c in COUNT_COLUMNS), d, e)
        found = self._entries.get(key)
        if found is None:
            found = compute(counts, d, e, self.profile)
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = found
        return found

    def __len__(self) -> int:
        return len(self._entries)


def memo_of(request: Request) -> ComputeMemo:
    """One memo per app and scoring profile, made on first use."""
    state = request.app.state
    memo: ComputeMemo | None = getattr(state, "public_compute_memo", None)
    if memo is None or memo.profile is not state.profile:
        memo = state.public_compute_memo = ComputeMemo(state.profile)
    return memo
