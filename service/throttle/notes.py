"""What one process remembers of who guessed, for the current window (service/throttle):
which addresses failed here, how many quiet lookups of each run now, and the lookups
waiting for one of them to end."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class Key:
    client_hash: str
    window_start: int
    # The note mirrors one database's counts: another database (another app in this
    # process, as in the tests) starts with a clean slate.
    engine_id: int


Path = Literal["quiet", "guarded"]
# A lookup waiting for a quiet one of its address to end, and what it is then told.
Turn = asyncio.Future[Path]
_Wake = tuple[Turn, Path]


@dataclass
class Note:
    failed: bool = False  # a failure of this address was seen in this window
    quiet: int = 0  # quiet lookups running now
    # Lookups waiting for a quiet one to end, first come first served.
    waiting: deque[Turn] = field(default_factory=deque)


@dataclass
class Notes:
    """This process's memory of who guessed, for the current window only.

    A lookup over the limit of quiet ones waits for its turn: the quiet lookup that ends
    hands its place to the one that has waited longest, or, once one failed, every waiting
    lookup takes the guarded path. (Waiting by polling let a newcomer overtake a lookup
    that had waited for seconds: one portal or office NAT sending more than the limit at
    once saw 1-3 s answers, bench/README "Answers".)
    """

    lock: threading.Lock = field(default_factory=threading.Lock)
    window_start: int = 0
    by_key: dict[Key, Note] = field(default_factory=dict)

    def enter(self, key: Key, limit: int) -> Path | Turn:
        """The path to take now, or a turn to wait for (`wait`)."""
        with self.lock:
            if key.window_start > self.window_start:  # a new window: forget the old ones
                self.window_start = key.window_start
                self.by_key = {k: n for k, n in self.by_key.items() if n.quiet}
            note = self.by_key.setdefault(key, Note())
            if note.failed:
                return "guarded"
            if note.quiet >= limit or note.waiting:
                turn: Turn = asyncio.get_running_loop().create_future()
                note.waiting.append(turn)
                return turn
            note.quiet += 1
            return "quiet"

    async def wait(self, key: Key, turn: Turn) -> Path:
        try:
            return await turn
        except asyncio.CancelledError:
            # Given a quiet place just before the request was cancelled: pass it on.
            if turn.done() and not turn.cancelled() and turn.result() == "quiet":
                self.leave_quiet(key, failed=False)
            raise

    def leave_quiet(self, key: Key, failed: bool) -> None:
        with self.lock:
            note = self.by_key[key]
            note.failed = note.failed or failed
            wake: list[_Wake] = []
            if note.failed:
                note.quiet -= 1
                wake = self._all_guarded(note)
            elif note.waiting:
                wake = [(note.waiting.popleft(), "quiet")]  # its place, handed on
            else:
                note.quiet -= 1
            if not note.quiet and not note.failed:
                del self.by_key[key]
        self._wake(key, wake)

    def quiet_running(self, key: Key) -> int:
        with self.lock:
            note = self.by_key.get(key)
            return note.quiet if note else 0

    def failed(self, key: Key) -> None:
        with self.lock:
            note = self.by_key.setdefault(key, Note())
            note.failed = True
            wake = self._all_guarded(note)
        self._wake(key, wake)

    @staticmethod
    def _all_guarded(note: Note) -> list[_Wake]:
        wake: list[_Wake] = [(turn, "guarded") for turn in note.waiting]
        note.waiting.clear()
        return wake

    def _wake(self, key: Key, wake: list[_Wake]) -> None:
        """Tell the waiting lookups their path, on their own event loop."""
        for turn, path in wake:
            try:
                turn.get_loop().call_soon_threadsafe(self._tell, key, turn, path)
            except RuntimeError:  # its loop is closed: nobody waits there any more
                self._tell(key, turn, path)

    def _tell(self, key: Key, turn: Turn, path: Path) -> None:
        if not turn.done():
            turn.set_result(path)
        elif path == "quiet":  # cancelled meanwhile: the place goes to the next one
            self.leave_quiet(key, failed=False)
