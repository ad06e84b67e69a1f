"""Lookups of one address over the limit of quiet ones wait their turn (service/throttle.py,
`Notes`): first come first served, told the guarded path once one failed, and a place
given to a cancelled request goes on to the next one instead of being lost."""

from __future__ import annotations

import asyncio

from service.throttle.notes import Key, Notes, Path

KEY = Key("client", 0, 1)
LIMIT = 2


async def _filled() -> Notes:
    notes = Notes()
    assert notes.enter(KEY, LIMIT) == "quiet"
    assert notes.enter(KEY, LIMIT) == "quiet"
    return notes


async def _waiting(notes: Notes, count: int) -> list[asyncio.Task[Path]]:
    """`count` requests waiting for their turn, as `guarded` makes them wait."""

    async def request() -> Path:
        turn = notes.enter(KEY, LIMIT)
        assert not isinstance(turn, str), "over the limit, a lookup waits"
        return await notes.wait(KEY, turn)

    tasks = []
    for _ in range(count):
        tasks.append(asyncio.ensure_future(request()))
        await _settle()  # in the order they came
    return tasks


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_the_place_of_an_ended_lookup_goes_to_the_one_that_waited_longest() -> None:
    async def scenario() -> None:
        notes = await _filled()
        first, second, third = await _waiting(notes, 3)
        # A newcomer does not overtake those waiting, even when a place is free.
        late = (await _waiting(notes, 1))[0]

        notes.leave_quiet(KEY, failed=False)
        await _settle()
        assert [t.done() for t in (first, second, third, late)] == [True, False, False, False]
        assert first.result() == "quiet"

        notes.leave_quiet(KEY, failed=False)
        await _settle()
        assert second.done() and not third.done()
        assert notes.by_key[KEY].quiet == LIMIT  # a place handed on, never freed and retaken

        for _ in range(4):
            notes.leave_quiet(KEY, failed=False)
            await _settle()
        assert third.result() == "quiet" and late.result() == "quiet"
        assert KEY not in notes.by_key  # all ended: nothing left behind

    asyncio.run(scenario())


def test_a_failure_sends_every_waiting_lookup_the_guarded_way() -> None:
    async def scenario() -> None:
        notes = await _filled()
        waiting = await _waiting(notes, 3)

        notes.leave_quiet(KEY, failed=True)
        await _settle()
        assert [t.result() for t in waiting] == ["guarded"] * 3
        assert notes.enter(KEY, LIMIT) == "guarded"
        assert notes.by_key[KEY].quiet == 1  # the other quiet lookup still runs

    asyncio.run(scenario())


def test_failures_seen_by_another_process_wake_the_waiting_lookups_too() -> None:
    async def scenario() -> None:
        notes = await _filled()
        waiting = await _waiting(notes, 2)

        notes.failed(KEY)  # the quiet path read a count another process wrote
        await _settle()
        assert [t.result() for t in waiting] == ["guarded", "guarded"]

    asyncio.run(scenario())


def test_a_place_handed_to_a_cancelled_request_goes_on_to_the_next() -> None:
    async def scenario() -> None:
        notes = await _filled()
        gone, given_up_late, next_one = await _waiting(notes, 3)

        gone.cancel()  # its client went away while it waited: it is skipped
        await _settle()
        notes.leave_quiet(KEY, failed=False)
        await _settle()
        assert gone.cancelled() and given_up_late.done() and not next_one.done()

        # Handed a place, then cancelled before it could run: it passes the place on.
        notes.leave_quiet(KEY, failed=False)
        next_one.cancel()
        await _settle()
        assert next_one.cancelled()
        assert notes.by_key[KEY].quiet == 1  # given_up_late runs; no place leaked
        notes.leave_quiet(KEY, failed=False)
        assert KEY not in notes.by_key

    asyncio.run(scenario())


def test_a_request_cancelled_after_its_turn_came_passes_the_place_on() -> None:
    async def scenario() -> None:
        notes = await _filled()
        (told,) = await _waiting(notes, 1)

        notes.leave_quiet(KEY, failed=False)
        await asyncio.sleep(0)  # the turn is told "quiet"; the request has not run since
        assert not told.done()
        told.cancel()
        await _settle()
        assert told.cancelled()
        assert notes.by_key[KEY].quiet == 1  # only the other first lookup still runs
        notes.leave_quiet(KEY, failed=False)
        assert KEY not in notes.by_key

    asyncio.run(scenario())
