"""A tablet's event stream (server-sent events): `survey` for each survey handed over at
its counter, `unpaired` when its key is revoked, keep-alives in between."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import anyio.to_thread

from service.kiosk.feed import PresentationFeed
from service.kiosk.schemas import SurveyCard

STREAM_SECONDS = 300  # a stream ends after this; the tablet reconnects by itself
KEEPALIVE_SECONDS = 15


async def stream(
    feed: PresentationFeed,
    counter_id: int,
    device_key_id: int,
    still_paired: Callable[[], bool],
    stamped: Callable[[SurveyCard], SurveyCard],
) -> AsyncIterator[str]:
    """`still_paired` is asked (in a worker thread) before each survey and every
    KEEPALIVE_SECONDS of the clock: asked only when nothing had come for that
    long, an unpaired tablet at a busy counter kept receiving surveys (and their short
    codes, which answer them) for the rest of its stream (audit). `stamped` gives each card
    its ticket for this tablet (kiosk/tickets.py): the feed's cards are the counter's."""
    yield "retry: 1000\n\n"
    with feed.streams.opened(device_key_id) as replaced:
        async for event in _events(feed, counter_id, still_paired, replaced):
            yield event if isinstance(event, str) else _survey_event(stamped(event))


def _survey_event(card: SurveyCard) -> str:
    return f"event: survey\nid: {card.cursor}\ndata: {card.model_dump_json()}\n\n"


async def _events(
    feed: PresentationFeed,
    counter_id: int,
    still_paired: Callable[[], bool],
    replaced: asyncio.Event,
) -> AsyncIterator[str | SurveyCard]:
    """The stream's text, and the counter's cards as they come (for `stream` to stamp)."""
    async with feed.subscribe(counter_id) as queue:
        yield "event: ready\ndata: {}\n\n"
        ends = time.monotonic() + STREAM_SECONDS
        check_at = time.monotonic() + KEEPALIVE_SECONDS
        while time.monotonic() < ends and not replaced.is_set():
            card = None
            try:
                wait = max(0.0, check_at - time.monotonic())
                card = await asyncio.wait_for(queue.get(), timeout=wait)
            except TimeoutError:
                pass
            # Before every card too (cards come a few a minute at most): between two checks
            # an unpaired tablet received the surveys of up to KEEPALIVE_SECONDS, short
            # codes included, where README says unpairing revokes it at once (audit).
            if card is not None or time.monotonic() >= check_at:
                if not await anyio.to_thread.run_sync(still_paired):
                    yield "event: unpaired\ndata: {}\n\n"
                    return
                check_at = time.monotonic() + KEEPALIVE_SECONDS
                if card is None:
                    yield ": still here\n\n"
            if card is not None:
                yield card
