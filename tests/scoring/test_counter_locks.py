"""Counter changes are gathered over a transaction and written once, sorted, at COMMIT.

An answer moves two days (today's and its dossier's resolution day), in that order; a
handover batch moves days earliest first. Written as they came, two such transactions could
each hold the day the other wanted next: a deadlock, and a 500 for the citizen whose answer
lost it.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa
from sqlmodel import select

from service.admin.agencies import get_agency_by_code
from service.db import transaction
from service.models import COUNT_COLUMNS, AgencyDayCounter
from service.scoring import counters
from service.scoring.contributions import Delta

pytestmark = pytest.mark.usefixtures("agencies")
COLUMN = COUNT_COLUMNS[0]
EARLIER, LATER = date(2026, 11, 2), date(2026, 11, 23)


def _agency_id(engine: sa.Engine) -> int:
    with transaction(engine) as session:
        agency = get_agency_by_code(session, "79.BTH")
        assert agency is not None and agency.id is not None
        return agency.id


def _one(agency_id: int, day: date) -> Delta:
    return Delta(agency={(agency_id, day): Counter({COLUMN: 1})})


def _counts(engine: sa.Engine, agency_id: int) -> dict[date, int]:
    with transaction(engine) as session:
        rows = session.exec(
            select(AgencyDayCounter).where(AgencyDayCounter.agency_id == agency_id)
        ).all()
        return {row.day: getattr(row, COLUMN) for row in rows}


def test_crossing_transactions_do_not_deadlock(engine: sa.Engine) -> None:
    """Two transactions move the same two days in opposite orders, in step."""
    agency_id = _agency_id(engine)
    with transaction(engine) as session:  # both rows exist: the writes are row updates
        counters.apply(session, _one(agency_id, EARLIER))
        counters.apply(session, _one(agency_id, LATER))
    steps = threading.Barrier(2, timeout=20)
    failures: list[BaseException] = []

    def run(first: date, second: date) -> None:
        try:
            with transaction(engine) as session:
                counters.apply(session, _one(agency_id, first))
                steps.wait()  # both have moved their first day before either moves its second
                counters.apply(session, _one(agency_id, second))
        except BaseException as exc:
            failures.append(exc)
            steps.abort()

    answer = threading.Thread(target=run, args=(LATER, EARLIER))
    batch = threading.Thread(target=run, args=(EARLIER, LATER))
    answer.start()
    batch.start()
    answer.join(60)
    batch.join(60)
    assert not answer.is_alive() and not batch.is_alive()
    assert failures == []
    assert _counts(engine, agency_id) == {EARLIER: 3, LATER: 3}


def test_changes_are_summed_and_written_at_commit(engine: sa.Engine) -> None:
    agency_id = _agency_id(engine)
    with transaction(engine) as session:
        for day in (LATER, EARLIER, LATER):
            counters.apply(session, _one(agency_id, day))
        session.flush()
        assert _counts(engine, agency_id) == {}  # no row written, none locked, until COMMIT
    assert _counts(engine, agency_id) == {EARLIER: 1, LATER: 2}


def test_a_rolled_back_change_is_not_written_later(engine: sa.Engine) -> None:
    agency_id = _agency_id(engine)
    with transaction(engine) as session:
        counters.apply(session, _one(agency_id, EARLIER))
        session.rollback()  # as a lost race does, before carrying on in the same session
        counters.apply(session, _one(agency_id, LATER))
    assert _counts(engine, agency_id) == {LATER: 1}
