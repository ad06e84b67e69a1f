"""webhook deliveries left held for ever beside an enabled subscription are made due

Before enabling a subscription waited for the fan-out under way (service/webhooks/outbox.py,
serialize_fan_out), a fan-out that had read the subscription disabled could insert its
deliveries "held" (next attempt in the year 9999) after it was enabled: never sent, and
every later delivery of the same agency to that receiver waited behind them. Enabling the
subscription again frees them; this frees them in every deployment at once, as enabling
does: due now, with a day of retries (26 hours, the default of
HAILONG_WEBHOOK_GIVE_UP_HOURS; a migration does not read the settings). A disabled
subscription's held deliveries are what its being disabled means: they stay held (and a
deleted one's, or one whose key is revoked or expired, are never sent: left to pruning).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 00:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HELD_UNTIL = datetime(9999, 1, 1, tzinfo=UTC)  # service/webhooks/outbox.py, as of this revision
GIVE_UP_HOURS = 26.0  # service/settings.py's default webhook_give_up_hours

delivery = sa.table(
    "webhook_delivery",
    sa.column("subscription_id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("next_attempt_at", sa.DateTime(timezone=True)),
    sa.column("give_up_at", sa.DateTime(timezone=True)),
)
subscription = sa.table(
    "webhook_subscription",
    sa.column("id", sa.Integer),
    sa.column("owner_key_id", sa.Integer),
    sa.column("disabled_at", sa.DateTime(timezone=True)),
    sa.column("deleted_at", sa.DateTime(timezone=True)),
)
api_key = sa.table(
    "api_key",
    sa.column("id", sa.Integer),
    sa.column("revoked_at", sa.DateTime(timezone=True)),
    sa.column("expires_at", sa.DateTime(timezone=True)),
)


def _stored(bind: sa.engine.Connection, moment: datetime) -> datetime:
    """As service/models/base.py's UTCDateTime stores it: naive UTC on SQLite."""
    return moment.replace(tzinfo=None) if bind.dialect.name == "sqlite" else moment


def upgrade() -> None:
    bind = op.get_bind()
    now = datetime.now(UTC)
    # Those the sender sends to (service/delivery/fan_out.py, live_subscription, as of this
    # revision): not disabled, not deleted, their owner key neither revoked nor expired.
    # Another's are never claimed: made due, they would only sit in the due index.
    enabled = (
        sa.select(subscription.c.id)
        .join(api_key, api_key.c.id == subscription.c.owner_key_id)
        .where(
            subscription.c.disabled_at.is_(None),
            subscription.c.deleted_at.is_(None),
            api_key.c.revoked_at.is_(None),
            sa.or_(api_key.c.expires_at.is_(None), api_key.c.expires_at > _stored(bind, now)),
        )
    )
    bind.execute(
        sa.update(delivery)
        .where(
            delivery.c.status == "pending",
            delivery.c.next_attempt_at == _stored(bind, HELD_UNTIL),
            delivery.c.subscription_id.in_(enabled),
        )
        .values(
            next_attempt_at=_stored(bind, now),
            give_up_at=_stored(bind, now + timedelta(hours=GIVE_UP_HOURS)),
        )
    )


def downgrade() -> None:
    """Nothing to put back: a delivery held for ever beside an enabled subscription was the
    defect, not a state worth restoring."""
