"""The delivery worker: rounds of fan-out (fan_out.py) and sending (sending.py), until
stopped.

Runs inside `hailong serve` (a thread) or alone as `hailong worker`; any number of workers
share the work. Each round also announces the scores that changed with no event: open
petitions whose deadline passed (service/scoring/aging.py).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from service.db import transaction
from service.delivery import fan_out
from service.delivery.sending import Sender
from service.models import utcnow
from service.profile import Profile
from service.scoring import aging
from service.settings import Settings
from service.webhooks import outbox

log = logging.getLogger("hailong.worker")
AGING_LOOKBACK = timedelta(days=1)  # petition deadlines re-announced after a restart


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        client: httpx.Client | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self.client = client or httpx.Client(
            timeout=settings.webhook_timeout_seconds, follow_redirects=False
        )
        self.sender = Sender(engine, settings, profile, self.client)
        # Petitions age with no event (service/scoring/aging.py): each round announces the
        # scores whose open petitions passed their deadline since the last. From a day back
        # at start, so a restart misses none (markers are coalesced: repeats cost nothing).
        self._deadlines_seen_until = utcnow() - AGING_LOOKBACK

    def dispatch_events(self, session: Session) -> int:
        return fan_out.dispatch_events(session, self.settings)

    def deliver_one(self) -> bool:
        return self.sender.deliver_one()

    def mark_aged_scores(self, session: Session) -> None:
        """score.updated for the scores a passing petition deadline changed."""
        until = utcnow()
        keys = aging.deadlines_passed(session, self.profile, self._deadlines_seen_until, until)
        outbox.mark_periods_dirty(session, outbox.dirty_periods(keys))
        self._deadlines_seen_until = until

    def run_once(self) -> int:
        work, _ = self._round()
        return work

    def _round(self) -> tuple[int, bool]:
        """Fan out, then send what is due. Returns the work done, and whether a full batch
        of events or markers says that more are waiting."""
        with transaction(self.engine) as session:
            events = self.dispatch_events(session)
        with transaction(self.engine) as session:
            self.mark_aged_scores(session)
        with transaction(self.engine) as session:
            markers = fan_out.dispatch_scores(session, self.settings)
        work = events + markers
        while self.deliver_one():
            work += 1
        return work, fan_out.BATCH in (events, markers)

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                # Under a steady load a round finds a few new events every time: waiting a
                # poll between rounds lets them gather into one fan-out, instead of a busy
                # loop of tiny ones taking the CPU from the requests beside it (embedded).
                _, backlog = self._round()
                if not backlog:
                    stop.wait(self.settings.worker_poll_seconds)
            except Exception:  # a broken row or a database blip must not kill the worker
                log.exception("webhook worker iteration failed; retrying")
                stop.wait(max(1.0, self.settings.worker_poll_seconds))


def start_embedded(
    engine: Engine, settings: Settings, profile: Profile
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    worker = DeliveryWorker(engine, settings, profile)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="webhook-worker", daemon=True
    )
    thread.start()
    return thread, stop
