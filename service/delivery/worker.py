"""The delivery worker: rounds of fan-out (fan_out.py) and sending (sending.py), until
stopped.

Runs inside `hailong serve` (a thread) or alone as `hailong worker`; any number of workers
share the work. Each round also announces the scores that changed with no event: open
petitions whose deadline passed (service/scoring/aging.py); and, once an hour, removes
old finished deliveries (pruning.py). Beside the webhooks, lanes of their own: every
`alert_every_seconds` the alert rules (service/alerts), the managers' alert e-mails, the
message outbox's upkeep (reminders, rows of channels no longer configured), and each
message channel (SMS, Zalo, e-mail): a lane's next round starts when its own ends.

Sending is concurrent: up to `webhook_concurrency` deliveries at once, on a pool of
threads, never two to the same receiver from one worker — a receiver is a key's
subscriptions to one URL origin (receivers.py), so a receiver that times out holds one
thread however many subscriptions lead to it (a portal subscribing once per ward), while
every other receiver's deliveries go on. Per subscription and agency the next delivery is
eligible only once the previous one is done or scheduled for retry (sending.py), so order
is kept whatever the number of threads and workers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from functools import partial

from sqlalchemy import Engine
from sqlmodel import Session

from service.alerts import emails as alert_emails
from service.alerts.evaluate import raise_alerts
from service.db import transaction
from service.delivery import fan_out, pruning, receivers
from service.delivery.sending import Sender
from service.messaging import sending as messages
from service.messaging.channels.registry import configured_channels
from service.models import utcnow
from service.ops.observability import Metrics
from service.outbound_http import bounded_client
from service.profile import Profile
from service.retention.purge import purge_unless_under_way
from service.score_markers import dirty_periods, mark_periods_dirty
from service.scoring import aging
from service.settings import Settings

log = logging.getLogger("hailong.worker")
AGING_LOOKBACK = timedelta(days=1)  # petition deadlines re-announced after a restart
PRUNE_EVERY_SECONDS = 3600.0
# HAILONG_RETENTION_DAYS applied by the service itself, once a day: only `hailong purge`
# read it, which nothing ran, so a default deployment kept citizens' contacts and words
# for good whatever the setting said (imports and retention audit).
PURGE_EVERY_SECONDS = 86400.0
REMINDERS_EVERY_SECONDS = 60.0


class DeliveryWorker:
    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        profile: Profile,
        metrics: Metrics | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.profile = profile
        self.client = bounded_client(settings.webhook_timeout_seconds, follow_redirects=False)
        self.sender = Sender(engine, settings, profile, self.client, metrics)
        self._pool = ThreadPoolExecutor(
            max_workers=settings.webhook_concurrency, thread_name_prefix="webhook-send"
        )
        # Sends under way, with their receiver; only the worker's own thread reads or
        # changes this (the sending threads only set _sent).
        self._in_flight: dict[Future[None], receivers.Receiver] = {}
        self._sent = threading.Event()  # a send finished: a slot is free
        # Each subscription's receiver (_receivers), and when it was read (time.monotonic()).
        self._receiver_of: dict[int, receivers.Receiver] = {}
        self._receivers_read_at: float | None = None
        self._next_prune = 0.0  # time.monotonic(): the first round prunes
        self._next_purge = 0.0  # and purges
        # Petitions age with no event (service/scoring/aging.py): each round announces the
        # scores whose open petitions passed their deadline since the last. From a day back
        # at start, so a restart misses none (markers are coalesced: repeats cost nothing).
        self._deadlines_seen_until = utcnow() - AGING_LOOKBACK
        # Invitations by message (service/messaging/sending.py), the managers' alert e-mails
        # and the alert rules: lanes, each running round after round on a thread of its
        # own, so that a slow SMTP server holds up no webhook, and an SMS gateway that does
        # not answer holds up no e-mail, alert or reminder (audit: one round joined every
        # channel, and a hanging gateway held a newly due e-mail for its whole round).
        self.channels = configured_channels(settings)
        # Set when the worker closes: a lane's round ends after the message under way.
        self._closing = threading.Event()
        self._next_reminders = 0.0
        self._next_alerts = 0.0  # time.monotonic(): the first round of run_forever evaluates
        self._lanes: dict[str, Callable[[], int]] = {
            "alert-rules": self._alert_rules,
            "alert-email": partial(
                alert_emails.run_round, engine, settings, self.channels, stop=self._closing
            ),
            "message-upkeep": self._message_upkeep,
            **{
                f"message-{name}": lane
                for name, lane in messages.channel_lanes(
                    engine, settings, self.channels, stop=self._closing
                ).items()
            },
        }
        self._lanes_pool = ThreadPoolExecutor(len(self._lanes), thread_name_prefix="lane")
        self._lane_rounds: dict[str, Future[int]] = {}

    def dispatch_events(self, session: Session) -> int:
        return fan_out.dispatch_events(session, self.settings)

    def deliver_one(self) -> bool:
        return self.sender.deliver_one()

    def mark_aged_scores(self, session: Session) -> None:
        """score.updated for the scores a passing petition deadline changed."""
        until = utcnow()
        keys = aging.deadlines_passed(session, self.profile, self._deadlines_seen_until, until)
        mark_periods_dirty(session, dirty_periods(keys))
        self._deadlines_seen_until = until

    def run_once(self) -> int:
        """One round: fan out, then send everything due, waiting until every send is done.
        Returns the work done (events and markers fanned out, deliveries sent)."""
        work, _ = self._fan_out()
        work += self.send_messages()
        while True:
            work += self._fill()
            if not self._in_flight:
                return work
            wait(list(self._in_flight), return_when=FIRST_COMPLETED)
            self._reap()

    def _fan_out(self) -> tuple[int, bool]:
        """Fan out (and prune, when due). Returns the events and markers fanned out, and
        whether a full batch says that more are waiting."""
        with transaction(self.engine) as session:
            events = self.dispatch_events(session)
        with transaction(self.engine) as session:
            self.mark_aged_scores(session)
        with transaction(self.engine) as session:
            markers = fan_out.dispatch_scores(session, self.settings, self.profile)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
            pruned = pruning.prune(self.engine, self.settings.webhook_retention_days)
            if pruned.deliveries or pruned.events:
                log.info("pruned old webhook deliveries: %s", pruned)
        if time.monotonic() >= self._next_purge:
            self._purge()
        return events + markers, fan_out.BATCH in (events, markers)

    def _purge(self) -> None:
        """HAILONG_RETENTION_DAYS applied, once a day; tried again within the hour if it
        failed (a day's wait, before: review)."""
        self._next_purge = time.monotonic() + PRUNE_EVERY_SECONDS
        with transaction(self.engine) as session:
            purged = purge_unless_under_way(session, self.settings.retention_days)
        self._next_purge = time.monotonic() + PURGE_EVERY_SECONDS
        if purged is not None:
            log.info("retention applied: %s", purged)

    def send_messages(self) -> int:
        """One round of every message lane, side by side (reminders once a minute), the
        alert rules' lane aside: the work done."""
        lanes = [lane for name, lane in self._lanes.items() if name != "alert-rules"]
        with ThreadPoolExecutor(len(lanes), thread_name_prefix="message-round") as pool:
            return sum(pool.map(messages.run_lane, lanes))

    def raise_alerts(self) -> list[int]:
        """Evaluate the alert rules now: the ids of the alerts raised."""
        return raise_alerts(self.engine, self.settings, self.profile)

    def _alert_rules(self) -> int:
        """The alert rules, when `alert_every_seconds` have passed: the alerts raised. Not
        in run_once (tests drive rounds by hand and call raise_alerts when they mean it)."""
        if time.monotonic() < self._next_alerts:
            return 0
        self._next_alerts = time.monotonic() + self.settings.alert_every_seconds
        return len(self.raise_alerts())

    def _message_upkeep(self) -> int:
        reminders = time.monotonic() >= self._next_reminders
        if reminders:
            self._next_reminders = time.monotonic() + REMINDERS_EVERY_SECONDS
        return messages.upkeep(
            self.engine, self.settings, self.channels, reminders=reminders, stop=self._closing
        )

    def _start_lanes(self) -> None:
        """The next round of each lane whose previous round has ended."""
        for name, lane in self._lanes.items():
            previous = self._lane_rounds.get(name)
            if previous is not None:
                if not previous.done():
                    continue
                if (error := previous.exception()) is not None:
                    log.error("%s round failed; retried next round", name, exc_info=error)
            self._lane_rounds[name] = self._lanes_pool.submit(lane)

    def _fill(self) -> int:
        """Claim due deliveries into the free sending slots, none to a receiver this worker
        is sending to already, nor to one whose machine or owner key holds its share of the
        slots (receivers.share_slots, a machine being the address its names lead to);
        returns how many it started.

        Kept apart by subscription only, one receiver that never answers, behind as many
        subscriptions as the worker has slots (a portal subscribing once per ward), took
        every slot, and every other receiver got one event per timeout (audit)."""
        started = 0
        share_slots = receivers.share_slots(self.settings.webhook_concurrency)
        machines: dict[receivers.Receiver, str] = {}

        def shares(receiver: receivers.Receiver) -> tuple[receivers.Share, ...]:
            """Once per receiver and fill: thousands of subscriptions (a portal's, one per
            ward) lead to a few receivers, and a machine is a URL parse and a lookup."""
            known = machines.get(receiver)
            if known is None:
                known = machines[receiver] = receivers.machine(receiver)
            return receivers.shares(receiver, known)

        def closed(
            receiver: receivers.Receiver,
            sending_to: set[receivers.Receiver],
            full: set[receivers.Share],
        ) -> bool:
            return receiver in sending_to or (bool(full) and not full.isdisjoint(shares(receiver)))

        while len(self._in_flight) < self.settings.webhook_concurrency:
            sending_to = set(self._in_flight.values())
            held = Counter(share for r in self._in_flight.values() for share in shares(r))
            full = {share for share, count in held.items() if count >= share_slots}
            by_subscription = self._receivers() if sending_to else {}
            busy = {
                sub
                for sub, receiver in by_subscription.items()
                if closed(receiver, sending_to, full)
            }
            claim = self.sender.claim(busy=busy)
            if claim is None:
                break
            if closed(claim.receiver, sending_to, full):
                # A subscription made (or its key rotated) since the read, to a receiver
                # under way: given back, and busy once read again.
                self.sender.release(claim)
                self._receivers_read_at = None
                continue
            future = self._pool.submit(self.sender.send, claim)
            future.add_done_callback(lambda _: self._sent.set())
            self._in_flight[future] = claim.receiver
            started += 1
        return started

    def _receivers(self) -> dict[int, receivers.Receiver]:
        """Each subscription's receiver, read at most once a poll: _fill runs after every
        send, and reading every subscription each time cost a query and a parse per URL
        under load (review). One made since is caught by its claim (given back)."""
        now = time.monotonic()
        read_at = self._receivers_read_at
        if read_at is None or now - read_at >= self.settings.worker_poll_seconds:
            with transaction(self.engine) as session:
                self._receiver_of = receivers.by_subscription(session)
            self._receivers_read_at = now
        return self._receiver_of

    def _reap(self) -> None:
        """Forget the sends that finished; a failed one is logged (its lease lapses and
        the delivery is sent again)."""
        for future in [f for f in self._in_flight if f.done()]:
            del self._in_flight[future]
            error = future.exception()
            if error is not None:
                log.error("webhook send failed; retried once its lease lapses", exc_info=error)

    def run_forever(self, stop: threading.Event) -> None:
        next_fan_out = 0.0
        try:
            while not stop.is_set():
                try:
                    if time.monotonic() >= next_fan_out:
                        # Under a steady load a round finds a few new events every time:
                        # waiting a poll between fan-outs lets them gather into one,
                        # instead of a busy loop of tiny ones taking the CPU from the
                        # requests beside it (embedded).
                        _, backlog = self._fan_out()
                        pause = 0.0 if backlog else self.settings.worker_poll_seconds
                        next_fan_out = time.monotonic() + pause
                        self._start_lanes()
                    self._reap()
                    self._fill()
                    # Until the next fan-out, or sooner when a send frees a slot.
                    self._sent.wait(max(0.0, next_fan_out - time.monotonic()))
                    self._sent.clear()
                except Exception:  # a broken row or a database blip must not kill the worker
                    log.exception("webhook worker iteration failed; retrying")
                    stop.wait(max(1.0, self.settings.worker_poll_seconds))
        finally:
            self.close()

    def close(self) -> None:
        """Let the sends under way finish (and be recorded), then stop the threads; the
        message lanes stop after the message each is sending."""
        self._closing.set()
        self._pool.shutdown(wait=True)
        self._lanes_pool.shutdown(wait=True)


def start_embedded(
    engine: Engine, settings: Settings, profile: Profile, metrics: Metrics | None = None
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    worker = DeliveryWorker(engine, settings, profile, metrics=metrics)
    thread = threading.Thread(
        target=worker.run_forever, args=(stop,), name="webhook-worker", daemon=True
    )
    thread.start()
    return thread, stop
