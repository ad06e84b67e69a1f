"""petition.deadline_defaulted: whether a petition's deadline is the default

A corrected receipt moves a deadline the default gave (handling_deadline_working_days after
the receipt), not one the national system gave. No column said which it was: a deadline
equal to the default recomputed with today's calendar was taken as the default, and once a
day off was declared within it, a corrected receipt left the wrong receipt's deadline
(audit: a petition handled in time counted as late). New deadlines record it.

Older rows are told apart as before, once, here: a deadline equal to the default of its
receipt (the scoring profile's working days, the calendar as it stands now) is the
default's. A default that a day off declared since no longer matches stays as it is (as
it would have before); a deadline the national system gave that happens to equal the
default moves with a corrected receipt (as it would have before).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 05:00:00
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 500  # ids per UPDATE


def upgrade() -> None:
    with op.batch_alter_table("petition") as batch:
        batch.add_column(
            sa.Column("deadline_defaulted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _mark_defaulted(op.get_bind())


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value  # SQLite: naive UTC


def _mark_defaulted(bind: sa.Connection) -> None:
    # The working-day arithmetic and the profile are the service's own: the default is
    # whatever it computes (imported here, not at the top, so that only an upgrade needs them).
    from service.calendar.working_days import add_working_days
    from service.profile import load_profile
    from service.settings import Settings

    days = load_profile(Settings().scoring_profile).petitions.handling_deadline_working_days
    override = sa.table("calendar_override", sa.column("day", sa.Date), sa.column("working"))
    overrides = {
        day: bool(working)
        for day, working in bind.execute(sa.select(override.c.day, override.c.working))
    }
    petition = sa.table(
        "petition",
        sa.column("id", sa.Integer),
        sa.column("received_at", sa.DateTime(timezone=True)),
        sa.column("deadline_at", sa.DateTime(timezone=True)),
        sa.column("deadline_defaulted", sa.Boolean),
    )
    rows = bind.execute(
        sa.select(petition.c.id, petition.c.received_at, petition.c.deadline_at).where(
            petition.c.deadline_at.is_not(None)
        )
    )
    defaulted = [
        id_
        for id_, received_at, deadline_at in rows
        if _aware(deadline_at) == add_working_days(_aware(received_at), days, overrides)
    ]
    for start in range(0, len(defaulted), CHUNK):
        bind.execute(
            sa.update(petition)
            .where(petition.c.id.in_(defaulted[start : start + CHUNK]))
            .values(deadline_defaulted=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("petition") as batch:
        batch.drop_column("deadline_defaulted")
