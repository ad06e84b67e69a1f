"""Valid keys remembered for a few seconds: most requests skip the key lookup."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session

from service.auth.keys import authenticate, bearer_key, hash_key
from service.auth.principal import Principal
from service.models import utcnow


class KeyCache:
    """A revoked key stops working within `seconds`, an expired one at its expiry. Entries
    are found through `bearer_key`, like the lookup: a remembered key under another scheme
    is refused too."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._entries: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()
        # Counts `forget`s: a lookup that began before one may have read a key revoked
        # since, and is not remembered (it would be taken for `seconds` more; audit).
        self._forgets = 0

    def get(self, key_hash: str) -> Principal | None:
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, key_hash: str, principal: Principal, forgets_seen: int, looked_up: float) -> None:
        """Remember `principal`, read at `looked_up` (time.monotonic()), until `seconds`
        after that read: put at the request's COMMIT, the time was counted from there, and
        a long request (an export) kept a key revoked elsewhere meanwhile for its own
        length past `seconds` (review). Not when a key was forgotten since its lookup began
        (the `forgets` count then)."""
        seconds = self.seconds
        if principal.expires_at is not None:  # an expiring key is not remembered past it
            seconds = min(seconds, (principal.expires_at - utcnow()).total_seconds())
        until = looked_up + seconds
        with self._lock:
            if forgets_seen != self._forgets or until <= time.monotonic():
                return
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[key_hash] = (principal, until)

    def forget(self, key_id: int) -> None:
        """Drop a key revoked by this process: refused here at once (other processes still
        within `seconds`)."""
        with self._lock:
            self._forgets += 1
            for key_hash in [h for h, (p, _) in self._entries.items() if p.key_id == key_id]:
                del self._entries[key_hash]

    def principal_for(self, authorization: str | None) -> Principal | None:
        """The principal of an `Authorization` header's key, if it is remembered."""
        raw_key = bearer_key(authorization)
        return self.get(hash_key(raw_key)) if raw_key else None

    def authenticate(self, session: Session, authorization: str | None) -> Principal:
        """The remembered principal, else `keys.authenticate` (401), remembered when the
        session's transaction commits."""
        cached = self.principal_for(authorization)
        if cached is not None:
            return cached
        forgets_seen, looked_up = self._forgets, time.monotonic()
        principal = authenticate(session, authorization)
        raw_key = bearer_key(authorization)
        assert raw_key is not None  # authenticate accepted it
        key_hash = hash_key(raw_key)
        # Remembered once the transaction commits: the lookup records the key's use
        # (`last_used_at`) in it, and a request that failed (any 4xx rolls back) lost the
        # use, while the cache answered the key's next requests without writing it; a key
        # in use read as never used (audit). Not remembered, the next request looks the
        # key up and writes its use again. No transaction of its own: the handover and
        # answer paths pay nothing more.
        _after_commit(session, lambda: self.put(key_hash, principal, forgets_seen, looked_up))
        return principal


# On `Session.info`: what to do once the transaction commits, each with the SAVEPOINT it was
# asked for in (None: none), dropped with it (a unit of the write pipeline that fails,
# write_pipeline.py / db.part).
_AFTER_COMMIT = "hailong.auth.after_commit"


def _after_commit(session: Session, action: Callable[[], None]) -> None:
    waiting = session.info.setdefault(_AFTER_COMMIT, [])
    waiting.append((session.get_nested_transaction(), action))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT's release: the transaction may still roll back
    for _, action in session.info.pop(_AFTER_COMMIT, []):
        action()


@event.listens_for(Session, "after_soft_rollback")
def _savepoint_rolled_back(session: Session, previous: SessionTransaction) -> None:
    waiting = session.info.get(_AFTER_COMMIT)
    if waiting and previous.nested:
        session.info[_AFTER_COMMIT] = [(sp, a) for sp, a in waiting if sp is not previous]


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    """A transaction that ended without its COMMIT (rolled back, or its session closed)
    takes what waited for it along."""
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_AFTER_COMMIT, None)
