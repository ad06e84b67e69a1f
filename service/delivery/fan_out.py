"""Fan-out: every undispatched event, and every score marker, becomes one delivery per
subscription that wants it.

A fan-out costs about ten statements whatever its size (a score fan-out, besides, ranks
each family its markers touched: ranked_anew), and one runs at a time (on PostgreSQL an
advisory lock, on SQLite the write lock; outbox.serialize_fan_out), so delivery ids follow
event order: the order they are sent in (sending.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, insert, or_, tuple_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from service.admin.agencies import paths_by_id
from service.db import rowcount
from service.models import (
    Agency,
    ApiKey,
    OutboxEvent,
    ScoreDirty,
    ScoreRankAnnounced,
    WebhookDelivery,
    WebhookSubscription,
    utcnow,
)
from service.periods import parse_period
from service.profile import Profile
from service.scoring.siblings import siblings
from service.settings import Settings
from service.webhooks.outbox import HELD_UNTIL, new_msg_id, serialize_fan_out

# Events or markers fanned out per round. A round costs about ten statements whatever its
# size; under a steady 1,500 handovers/s a batch of 200 left a backlog after every poll, so
# the embedded worker ran rounds back to back: 8.5 % of a server process's GIL time (py-spy),
# 3.8 % with 1,000.
BATCH = 1000
# Core-style UPDATE and DELETE: no ORM objects in the session to keep in step.
NO_SYNC = {"synchronize_session": False}


def kept_subscription(now: Any) -> list[ColumnElement[bool]]:
    """Who events are kept for, for a query joined to the subscription's owner key
    (`ApiKey`): a subscription not deleted, whose key is neither revoked nor expired — a
    portal whose key the IT centre revoked hears nothing more (a rotated key's
    subscriptions go to its successor, admin/keys.py). A disabled one is kept for: its
    deliveries wait until an admin enables it again (they were never made, and the events
    of the days it was disabled were lost to it; audit), or until pruning.py drops them."""
    return [
        col(WebhookSubscription.deleted_at).is_(None),
        col(ApiKey.revoked_at).is_(None),
        or_(col(ApiKey.expires_at).is_(None), col(ApiKey.expires_at) > now),
    ]


def live_subscription(now: Any) -> list[ColumnElement[bool]]:
    """Who is sent to: a kept subscription that is not disabled."""
    return [col(WebhookSubscription.disabled_at).is_(None), *kept_subscription(now)]


def stopped_before(when: Any) -> ColumnElement[bool]:
    """A subscription not sent to since before `when`, for a query joined to its owner key
    (`ApiKey`): disabled, deleted, or its key revoked or expired by then (live_subscription
    no more)."""
    return or_(
        col(WebhookSubscription.disabled_at) < when,
        col(WebhookSubscription.deleted_at) < when,
        col(ApiKey.revoked_at) < when,
        col(ApiKey.expires_at) < when,
    )


class Target:
    """A subscription with what matching needs, loaded once per batch."""

    def __init__(
        self,
        subscription: WebhookSubscription,
        scope_path: str | None,
        owner_scope_path: str | None,
        owner_scope_id: int | None,
    ) -> None:
        self.subscription = subscription
        # None: every agency. The subscription's agency, and its owner key's scope: an
        # agency moved out of the key's tree is no longer the key's to hear about, even
        # when the subscription names it.
        self.paths = [p for p in (scope_path, owner_scope_path) if p is not None]
        scope_ids = (subscription.agency_id, owner_scope_id)
        self.ids = [f"/{i}/" for i in scope_ids if i is not None]

    def wants(self, event_type: str, agency_path: str, ancestry: str | None = None) -> bool:
        """`ancestry`: where the agency stood when the event happened, if it moved since
        (admin/agencies.py): matched by the scopes' agencies, which may have moved with it."""
        if event_type not in self.subscription.events:
            return False
        if ancestry is not None:
            return all(scope in ancestry for scope in self.ids)
        return all(agency_path.startswith(path) for path in self.paths)


def _targets(session: Session) -> list[Target]:
    owner_scope = aliased(Agency)
    rows = session.exec(
        select(WebhookSubscription, Agency.path, owner_scope.path, ApiKey.agency_id)
        .join(Agency, col(Agency.id) == col(WebhookSubscription.agency_id), isouter=True)
        .join(ApiKey, col(ApiKey.id) == col(WebhookSubscription.owner_key_id))
        .join(owner_scope, col(owner_scope.id) == col(ApiKey.agency_id), isouter=True)
        .where(*kept_subscription(utcnow()))
    ).all()
    return [Target(*row) for row in rows]


def _new_delivery(
    settings: Settings,
    target: Target,
    agency_id: int,
    msg_id: str,
    event_type: str,
    event_id: int | None = None,
    period: str | None = None,
    occurred_at: datetime | None = None,
) -> dict[str, Any]:
    """A delivery row, for one Core INSERT per fan-out (no ORM object per delivery).
    `occurred_at`: a score.updated's, when the score was marked changed, its body's
    timestamp on every attempt (sending.py): kept as its created_at."""
    now = utcnow()
    held = target.subscription.disabled_at is not None
    return {
        "subscription_id": target.subscription.id,
        "agency_id": agency_id,
        "msg_id": msg_id,
        "type": event_type,
        "event_id": event_id,
        "period": period,
        "status": "pending",
        "attempts": 0,
        # A disabled subscription's waits out of the due index (the claim would read past
        # every one of them on each send: 0.2 s a claim on SQLite behind 300,000; review)
        # until enabling it makes it due (webhooks/service.py).
        "next_attempt_at": HELD_UNTIL if held else now,
        "lease_until": None,
        "give_up_at": now + timedelta(hours=settings.webhook_give_up_hours),
        "created_at": occurred_at or now,
        "completed_at": None,
    }


def _insert_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    # In list order, so that delivery ids follow event order.
    if rows:
        session.execute(insert(WebhookDelivery), rows)


def dispatch_events(session: Session, settings: Settings) -> int:
    """Fan out up to BATCH undispatched events, oldest first; returns how many."""
    pending = exists().where(col(OutboxEvent.dispatched_at).is_(None))
    if not session.execute(select(pending)).scalar():
        return 0  # idle: a read, not a write (on SQLite a write waits for the one lock)
    serialize_fan_out(session)  # before the subscriptions are read (outbox.py)
    targets = _targets(session)
    oldest = (
        select(OutboxEvent.id)
        .where(col(OutboxEvent.dispatched_at).is_(None))
        .order_by(col(OutboxEvent.id))
        .limit(BATCH)
    )
    # Taken in one statement, the ids never leaving the database; a compare-and-set on
    # dispatched_at, so that on SQLite (no advisory lock) a second worker finds them taken.
    take = (
        update(OutboxEvent)
        .where(
            col(OutboxEvent.id).in_(oldest.scalar_subquery()),
            col(OutboxEvent.dispatched_at).is_(None),
        )
        .values(dispatched_at=utcnow())
    )
    if not targets:  # nobody to tell: only mark them
        return rowcount(session.execute(take, execution_options=NO_SYNC))
    taken = session.execute(
        take.returning(
            col(OutboxEvent.id),
            col(OutboxEvent.msg_id),
            col(OutboxEvent.type),
            col(OutboxEvent.agency_id),
            col(OutboxEvent.agency_ancestry),
        ),
        execution_options=NO_SYNC,
    ).all()
    if not taken:
        return 0
    paths = paths_by_id(session, {agency_id for _, _, _, agency_id, _ in taken})
    # Matched against the tree the event happened in: one whose agency moved since keeps
    # its place of then (admin/agencies.py, keep_places_of_waiting_events).
    rows = [
        _new_delivery(settings, target, agency_id, msg_id, event_type, event_id=event_id)
        for event_id, msg_id, event_type, agency_id, then in sorted(taken)
        for target in targets
        if target.wants(event_type, paths[agency_id], then)
    ]
    _insert_deliveries(session, rows)
    return len(taken)


def dispatch_scores(session: Session, settings: Settings, profile: Profile) -> int:
    """Turn up to BATCH score markers, oldest first, into deliveries; returns how many.

    Each marked agency's siblings whose rank the change moved get one too (ranked_anew),
    ranked under `profile`, the one the scores are sent with (the worker's)."""
    if not session.execute(select(exists().select_from(ScoreDirty))).scalar():
        return 0
    serialize_fan_out(session)
    targets = [t for t in _targets(session) if "score.updated" in t.subscription.events]
    key = tuple_(col(ScoreDirty.agency_id), col(ScoreDirty.period))
    oldest = (
        select(ScoreDirty.agency_id, ScoreDirty.period)
        .order_by(col(ScoreDirty.marked_at))
        .limit(BATCH)
    )
    # Taken in one statement; a marker another worker took is not taken again.
    take = delete(ScoreDirty).where(key.in_(oldest))
    if not targets:  # nobody to tell (nor ranks to keep: a later change is ranked afresh)
        return rowcount(session.execute(take, execution_options=NO_SYNC))
    markers = session.execute(
        take.returning(
            col(ScoreDirty.agency_id), col(ScoreDirty.period), col(ScoreDirty.marked_at)
        ),
        execution_options=NO_SYNC,
    ).all()
    if not markers:
        return 0
    changed = {(agency_id, period): marked_at for agency_id, period, marked_at in markers}
    moved = ranked_anew(session, profile, changed)
    for sibling, marked_at in moved.items():
        changed.setdefault(sibling, marked_at)
    paths = paths_by_id(session, {agency_id for agency_id, _ in changed})
    rows = []
    for (agency_id, period), marked_at in sorted(changed.items()):
        for target in targets:
            if not target.wants("score.updated", paths[agency_id]):
                continue
            # One waiting delivery per agency and period: its score is computed at send
            # time, so the latest score wins. It gets a new id and time: it now carries a
            # newer event than the one it was made for. One being sent (leased) is left
            # alone — it went out with the values and id it had — and the change gets a
            # delivery of its own, sent after it. One whose lease lapsed is refreshed even
            # if its worker is still sending it: that worker sees the new id when it
            # records the outcome, and leaves it to be sent again (sending.py).
            now = utcnow()
            lease_until = col(WebhookDelivery.lease_until)
            refreshed = session.execute(
                update(WebhookDelivery)
                .where(
                    col(WebhookDelivery.subscription_id) == target.subscription.id,
                    col(WebhookDelivery.agency_id) == agency_id,
                    col(WebhookDelivery.period) == period,
                    col(WebhookDelivery.status) == "pending",
                    or_(lease_until.is_(None), lease_until < now),
                )
                .values(msg_id=new_msg_id(), created_at=marked_at),
                execution_options=NO_SYNC,
            )
            if not rowcount(refreshed):
                rows.append(
                    _new_delivery(
                        settings,
                        target,
                        agency_id,
                        new_msg_id(),
                        "score.updated",
                        period=period,
                        occurred_at=marked_at,
                    )
                )
    _insert_deliveries(session, rows)
    return len(markers)


def ranked_anew(
    session: Session, profile: Profile, marked: dict[tuple[int, str], datetime]
) -> dict[tuple[int, str], datetime]:
    """The (agency, period) pairs whose rank is no longer the one last announced, among
    the siblings (the children of the same parent; top-level agencies are ranked among
    themselves, as the API does) of the `marked` agencies, each with when its family was
    last marked changed: a score carries its rank, and one agency's change moves its
    siblings' ranks, while only the changed agency is marked: marking its ~170 siblings
    with every answer would make the answers, whose speed is measured, heavier (audit).
    The new ranks are kept as announced.

    Ranked as the API ranks (service/scoring/siblings.py), in this transaction: after the
    markers were taken, so at least as new as the changes they stand for. A sibling never
    announced counts as announced unranked: a new period's unscored agencies are not
    announced, and after the upgrade (0023) each ranked one is, once."""
    parent_of = dict(
        session.execute(
            select(Agency.id, Agency.parent_id).where(
                col(Agency.id).in_({agency_id for agency_id, _ in marked})
            )
        ).all()
    )
    families: dict[tuple[int | None, str], datetime] = {}
    for (agency_id, period), marked_at in marked.items():
        family = (parent_of[agency_id], period)
        families[family] = max(marked_at, families.get(family, marked_at))
    moved: dict[tuple[int, str], datetime] = {}
    for (parent_id, period), marked_at in families.items():
        ranks = siblings(session, parent_id, parse_period(period), profile).ranks
        announced = dict(
            session.execute(
                select(ScoreRankAnnounced.agency_id, ScoreRankAnnounced.rank).where(
                    col(ScoreRankAnnounced.period) == period,
                    col(ScoreRankAnnounced.agency_id).in_(list(ranks)),
                )
            ).all()
        )
        now_ranked = {a: rank for a, rank in ranks.items() if announced.get(a) != rank}
        if not now_ranked:
            continue
        session.execute(
            delete(ScoreRankAnnounced).where(
                col(ScoreRankAnnounced.period) == period,
                col(ScoreRankAnnounced.agency_id).in_(list(now_ranked)),
            ),
            execution_options=NO_SYNC,
        )
        session.execute(
            insert(ScoreRankAnnounced),
            [{"agency_id": a, "period": period, "rank": r} for a, r in now_ranked.items()],
        )
        moved.update(dict.fromkeys(((a, period) for a in now_ranked), marked_at))
    return moved
