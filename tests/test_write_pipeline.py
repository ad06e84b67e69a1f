"""service/write_pipeline.py: units of work that wait together are written in one
transaction, each in its own SAVEPOINT, so that one failing unit takes nothing of the
others with it; what a unit gathers for the COMMIT goes with it. On SQLite, batches of one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service import db
from service.models import Agency
from service.write_pipeline import WritePipeline


class Bag:
    """A Summable for db.gathered: the codes gathered, written once at COMMIT."""

    def __init__(self) -> None:
        self.codes: list[str] = []

    def add(self, other: Bag) -> None:
        self.codes.extend(other.codes)


def _write_bag(session: Session, bag: Bag) -> None:
    # One row per gathered code, all in one write: proves the bags were summed.
    session.add(Agency(code="BAG:" + "+".join(sorted(bag.codes)), name="gathered", path="/bag/"))


def _unit(code: str, fail: bool = False) -> Callable[[Session], Any]:
    def work(session: Session) -> Any:
        session.add(Agency(code=code, name=code, path=f"/{code}/"))
        session.flush()
        db.gathered(session, "bag", Bag, _write_bag).codes.append(code)
        if fail:
            raise ValueError(f"{code} refused")
        transaction_id = None
        if session.get_bind().dialect.name == "postgresql":
            transaction_id = session.execute(sa.text("SELECT txid_current()")).scalar_one()
        return code, transaction_id

    return work


def _run_waiting(engine: sa.Engine, works: list[Callable[[Session], Any]]) -> list[Any]:
    """Queue every unit before the writer starts, so that they wait together."""

    async def main() -> list[Any]:
        pipeline = WritePipeline(engine, threads=1, write_lock=None)
        tasks = [asyncio.ensure_future(pipeline.run(work)) for work in works]
        await asyncio.sleep(0)  # every task has queued its unit
        pipeline.start()
        try:
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            pipeline.stop()

    return asyncio.run(main())


def _codes(engine: sa.Engine, prefix: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT code FROM agency WHERE code LIKE :p ORDER BY code"), {"p": prefix + "%"}
        )
        return list(rows.scalars())


def test_a_failing_unit_takes_nothing_of_the_others_with_it(engine: sa.Engine) -> None:
    results = _run_waiting(
        engine, [_unit("WP-1"), _unit("WP-2", fail=True), _unit("WP-3"), _unit("WP-4")]
    )

    assert isinstance(results[1], ValueError) and str(results[1]) == "WP-2 refused"
    assert [r[0] for i, r in enumerate(results) if i != 1] == ["WP-1", "WP-3", "WP-4"]
    assert _codes(engine, "WP-") == ["WP-1", "WP-3", "WP-4"]
    bags = _codes(engine, "BAG:")
    if engine.dialect.name == "postgresql":
        # One transaction for the three that ended well, and one write of what they gathered.
        assert len({r[1] for i, r in enumerate(results) if i != 1}) == 1
        assert bags == ["BAG:WP-1+WP-3+WP-4"]
    else:
        assert bags == ["BAG:WP-1", "BAG:WP-3", "BAG:WP-4"]  # batches of one


def test_a_unit_meeting_a_database_error_hears_it_alone(engine: sa.Engine) -> None:
    """A unique value taken by an earlier unit of the same batch: that unit is run again on
    its own once the batch is stored, and hears the database's refusal; the rest is kept."""
    results = _run_waiting(engine, [_unit("WP-A"), _unit("WP-A"), _unit("WP-B")])

    assert results[0][0] == "WP-A" and results[2][0] == "WP-B"
    assert isinstance(results[1], sa.exc.IntegrityError)
    assert _codes(engine, "WP-") == ["WP-A", "WP-B"]


@pytest.mark.parametrize("units", [1, 40])
def test_every_unit_gets_its_own_answer(engine: sa.Engine, units: int) -> None:
    """More units than a batch holds: all are written, each answered with its own result."""
    codes = [f"WP-N{n:03d}" for n in range(units)]
    results = _run_waiting(engine, [_unit(code) for code in codes])

    assert [r[0] for r in results] == codes
    assert _codes(engine, "WP-N") == codes


def test_a_failing_first_unit_runs_without_savepoint_and_takes_nothing_with_it(
    engine: sa.Engine,
) -> None:
    """The batch's first units run without a SAVEPOINT until one succeeds (the transaction
    holds nothing else): one that fails is rolled back with what it gathered, alone."""
    results = _run_waiting(
        engine,
        [_unit("WP-F1", fail=True), _unit("WP-F2", fail=True), _unit("WP-F3"), _unit("WP-F4")],
    )

    assert [str(r) for r in results[:2]] == ["WP-F1 refused", "WP-F2 refused"]
    assert [r[0] for r in results[2:]] == ["WP-F3", "WP-F4"]
    assert _codes(engine, "WP-") == ["WP-F3", "WP-F4"]
    bags = _codes(engine, "BAG:")
    if engine.dialect.name == "postgresql":
        assert results[2][1] == results[3][1]  # one transaction for the two kept
        assert bags == ["BAG:WP-F3+WP-F4"]
    else:
        assert bags == ["BAG:WP-F3", "BAG:WP-F4"]


def test_a_first_unit_meeting_a_database_error_hears_it_alone(engine: sa.Engine) -> None:
    """A database error in the first unit (no SAVEPOINT yet) rolls the transaction back: the
    rest is written, and that unit runs again on its own."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO agency (code, name, level, path, created_at) "
                "VALUES ('WP-D1', 'taken', 0, '/WP-D1/', CURRENT_TIMESTAMP)"
            )
        )
    results = _run_waiting(engine, [_unit("WP-D1"), _unit("WP-D2"), _unit("WP-D3")])

    assert isinstance(results[0], sa.exc.IntegrityError)
    assert [r[0] for r in results[1:]] == ["WP-D2", "WP-D3"]
    assert _codes(engine, "WP-D") == ["WP-D1", "WP-D2", "WP-D3"]
    if engine.dialect.name == "postgresql":
        assert _codes(engine, "BAG:") == ["BAG:WP-D2+WP-D3"]
