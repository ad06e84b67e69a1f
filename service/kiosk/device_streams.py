"""The event streams each tablet (device key) holds open in this process, and their cap."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

# Open streams of one device key in a process: a tablet that reconnects before its old
# stream was noticed gone has two. A third ends the oldest (within KEEPALIVE_SECONDS): one
# key held 25 and more, each a subscription and a check every 15 s (audit).
STREAMS_PER_DEVICE = 2


class DeviceStreams:
    """The open streams of each device key in this process, oldest first."""

    def __init__(self) -> None:
        self._open: dict[int, list[asyncio.Event]] = {}

    @contextlib.contextmanager
    def opened(self, device_key_id: int) -> Iterator[asyncio.Event]:
        """An event set when this stream must end: the device opened too many after it."""
        ended = asyncio.Event()
        streams = self._open.setdefault(device_key_id, [])
        streams.append(ended)
        for older in streams[:-STREAMS_PER_DEVICE]:
            older.set()
        try:
            yield ended
        finally:
            streams.remove(ended)
            if not streams:
                del self._open[device_key_id]
