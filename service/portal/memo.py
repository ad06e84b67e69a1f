"""The rules' arithmetic, remembered: `compute()` is a pure function of an agency's summed
counters and its D and E, and its exact fractions cost ~50 µs a call. A ranking of 300
agencies re-reads the counters on every request (so it is never stale) but recomputes only
the agencies whose figures changed since the last request that saw them."""

from __future__ import annotations

import threading
from collections import Counter

from starlette.requests import Request

from service.profile import Profile
from service.scoring.compute import SCORED_COLUMNS, Computed, compute

MAX_ENTRIES = 20_000  # ~300 agencies × dozens of periods; cleared whole when full


class ComputeMemo:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self._entries: dict[tuple[object, ...], Computed] = {}
        self._lock = threading.Lock()

    def compute(self, counts: Counter[str], d: float | None, e: float | None) -> Computed:
        key = (*(counts[c] for c in SCORED_COLUMNS), d, e)
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


class PageMemo:
    """Rendered pages, kept beside the scored siblings they were made from: while
    scoring/siblings.py hands back the same object (nothing changed in the database), the
    same URL on the same local day renders the same page, and rendering 300 rows is most of
    a ranking's cost. A different object (anything committed since) renders afresh."""

    def __init__(self) -> None:
        self._entries: dict[tuple[object, ...], tuple[object, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[object, ...], source: object) -> str | None:
        found = self._entries.get((*key, id(source)))
        return found[1] if found is not None and found[0] is source else None

    def put(self, key: tuple[object, ...], source: object, body: str) -> None:
        with self._lock:
            if len(self._entries) >= MAX_PAGES:
                self._entries.clear()
            # Keyed by the source too (SQLite: each pooled connection has its own).
            self._entries[(*key, id(source))] = (source, body)


MAX_PAGES = 256


def pages_of(request: Request) -> PageMemo:
    state = request.app.state
    pages: PageMemo | None = getattr(state, "public_page_memo", None)
    if pages is None or getattr(state, "public_page_memo_profile", None) is not state.profile:
        pages = state.public_page_memo = PageMemo()
        state.public_page_memo_profile = state.profile
    return pages
