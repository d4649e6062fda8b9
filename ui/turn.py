"""One page script at a time: the server's run queue.

A Streamlit server runs each session's script in a thread of one Python process, and
the GIL lets one thread run Python at a time. Thirty students flipping a toggle
together therefore share one core whether or not their scripts overlap; overlapping
only changes the order. Interleaved (the GIL hands over every 5 ms and on every
element a script sends), all thirty pages are finished near the end of the burst, and
each costs more: ~37 ms of server CPU a toggle rerun instead of ~30 ms, from cache
misses and GIL hand-overs with the event loop. Taken in turn, the first page is back
after one rerun and the last after thirty (30 toggles together on 2 cores, back to
back: p95 1.06-1.19 s interleaved, 0.84-0.88 s in turn; ``docs/sharing.md``).

The turn is a lock a page takes before its first line (``ui.sidebar.run_page``) and
gives up while it waits for a worker process (``ui.serve``: a fit or a simulation
runs there, not here), so a long fit never holds the queue. Two rules make it safe:

- a thread waits for the turn only at the start of its page, when it holds nothing
  (no ``st.cache_data`` compute lock, no ``ui.memo`` key): a page holding the turn
  may wait for a value another thread is computing, and that thread never waits for
  the turn. After giving the turn up a thread takes it back only if it is free, and
  otherwise finishes its page out of turn (as every page ran before).
- nobody waits longer than ``WAIT_SECONDS``: a page that holds the turn for long
  (parsing a large upload) only delays the others by that much; they then run out of
  turn, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

WAIT_SECONDS = 3.0  # the longest a page waits for its turn before it runs anyway

_TURN = threading.Lock()
_HELD = threading.local()  # .held: whether this thread holds the turn now


def holds_turn() -> bool:
    """Whether this thread holds the turn."""
    return getattr(_HELD, "held", False)


@contextmanager
def page_turn(wait_seconds: float = WAIT_SECONDS) -> Iterator[bool]:
    """Run the body in turn: wait (at most ``wait_seconds``) until no other page runs.

    Yields whether the turn was taken. The turn is given back however the body ends
    (``st.rerun``, ``st.stop`` and a rerun request all raise through here).
    """
    _HELD.held = _TURN.acquire(timeout=wait_seconds)
    try:
        yield _HELD.held
    finally:
        _give_back()


@contextmanager
def out_of_turn() -> Iterator[None]:
    """Let the next page run while this thread waits for something slow elsewhere (a
    worker process's fit). Afterwards the turn is taken back only if it is free."""
    if not holds_turn():
        yield
        return
    _give_back()
    try:
        yield
    finally:
        _HELD.held = _TURN.acquire(blocking=False)


def _give_back() -> None:
    if holds_turn():
        _HELD.held = False
        _TURN.release()
