"""Pushing new handovers to the tablets connected to this process.

One poller per process reads the invitations issued since its last look (one indexed range
query every `interval` seconds, whatever the number of tablets) and hands each to the
queues of the tablets at its counter. Polling the database rather than signalling in
memory means a handover accepted by any process, or by another server, reaches every
tablet; the interval keeps "within a second" with room to spare.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Engine
from sqlmodel import Session

from service.kiosk.device_streams import DeviceStreams
from service.kiosk.presenting import cards_of, counter_handovers_since, newest_invitation_id
from service.kiosk.schemas import SurveyCard

log = logging.getLogger(__name__)
LOOKBACK = 1000


@dataclass
class Read:
    cards: list[tuple[int, SurveyCard]]  # (counter id, card) for the counters listened to
    others: list[tuple[int, int]]  # (invitation id, counter id) of the other counters


class PresentationFeed:
    def __init__(self, engine: Engine, window_minutes: int, interval: float = 0.25) -> None:
        self.engine = engine
        self.window_minutes = window_minutes  # what a card may be: kiosk_present_minutes
        self.interval = interval
        self._queues: dict[int, set[asyncio.Queue[SurveyCard]]] = {}
        self._cursor: int | None = None
        self._pushed: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._starting = asyncio.Lock()
        self.streams = DeviceStreams()  # the tablets' event streams of this process

    @contextlib.asynccontextmanager
    async def subscribe(self, counter_id: int) -> AsyncIterator[asyncio.Queue[SurveyCard]]:
        """A queue of this counter's new surveys. Once it is returned, every handover that
        commits afterwards reaches it; earlier ones are for GET /kiosk/api/next."""
        queue: asyncio.Queue[SurveyCard] = asyncio.Queue(maxsize=20)
        async with self._starting:
            if self._task is None or self._task.done():
                self._cursor = None
                self._pushed.clear()
                await anyio.to_thread.run_sync(self._read)  # sets the starting point
                self._task = asyncio.get_running_loop().create_task(self._run())
        self._queues.setdefault(counter_id, set()).add(queue)
        try:
            yield queue
        finally:
            listeners = self._queues.get(counter_id, set())
            listeners.discard(queue)
            if not listeners:
                self._queues.pop(counter_id, None)

    def _read(self, listened: frozenset[int] = frozenset()) -> Read:
        """The cards of the window's invitations not met before whose counter is in
        `listened` (the counters with a tablet here), and the new ones of other counters.
        Every invitation met is remembered, pushed or not: one at a counter with no tablet
        yet must not reach a tablet that connects afterwards."""
        with Session(self.engine) as session:
            if self._cursor is None:  # start from now: what is already there is not news
                self._cursor = newest_invitation_id(session)
                low = max(0, self._cursor - LOOKBACK)
                earlier = counter_handovers_since(session, low, limit=5000)
                self._pushed.update(invitation_id for invitation_id, _ in earlier)
                return Read([], [])
            window = counter_handovers_since(session, max(0, self._cursor - LOOKBACK), 5000)
            new = [(i, counter) for i, counter in window if i not in self._pushed]
            self._pushed.update(i for i, _ in new)
            if new:
                self._cursor = max(self._cursor, new[-1][0])
            wanted = [i for i, counter in new if counter in listened]
            others = [(i, counter) for i, counter in new if counter not in listened]
            return Read(cards_of(session, wanted, self.window_minutes), others)

    def _cards(self, invitation_ids: list[int]) -> list[tuple[int, SurveyCard]]:
        with Session(self.engine) as session:
            return cards_of(session, invitation_ids, self.window_minutes)

    async def _poll(self, listened: frozenset[int]) -> list[tuple[int, SurveyCard]]:
        """The new cards of the counters listened to now: those read for `listened`, and a
        tablet's that connected while the window was being read."""
        read = await anyio.to_thread.run_sync(self._read, listened)
        joined = [i for i, counter in read.others if counter in self._queues]
        if not joined:
            return read.cards
        return read.cards + await anyio.to_thread.run_sync(self._cards, joined)

    async def _run(self) -> None:
        # Stops by itself when the last tablet disconnects; the next one starts it again.
        while self._queues:
            try:
                cards = await self._poll(frozenset(self._queues))
            except Exception:  # a database blip must not end the feed for every tablet
                log.exception("kiosk feed: reading new handovers failed; retrying")
                cards = []
            for counter_id, card in cards:
                for queue in list(self._queues.get(counter_id, ())):
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.put_nowait(card)
            if self._cursor is not None and len(self._pushed) > 4 * LOOKBACK:
                low = self._cursor - LOOKBACK
                self._pushed = {seen for seen in self._pushed if seen > low}
            await asyncio.sleep(self.interval)
        self._task = None
