"""One page script at a time: the server's run queue.

A Streamlit server runs each session's script in a thread of one Python process, and
the GIL lets one thread run Python at a time. Thirty students flipping a toggle
together therefore share one core whether or not their scripts overlap; overlapping
only changes the order. Interleaved (the GIL hands over every 5 ms and on every
element a script sends), all thirty pages are finished near the end of the burst, and
each costs more: ~37 ms of server CPU a toggle rerun instead of ~28 ms, from cache
misses and GIL hand-overs with the event loop. Taken in turn, the first page is back
after one rerun and the last after thirty (30 toggles together on 2 cores, back to
back: p95 1.06-1.19 s interleaved, 0.78-0.88 s in turn; ``docs/sharing.md``).

The turn is taken before a page's first line (``ui.sidebar.run_page``) and handed to
the pages waiting for it in the order they came (a ticket queue: a plain lock lets the
thread that releases it take it straight back). A page gives its turn up while it
waits for a worker process (``ui.serve``: a fit or a simulation runs there, not here),
so a long fit never holds the queue, and a long loop in the page (the bootstrap's
steps) passes the turn on between steps (``pass_turn``). Two rules make it safe:

- a thread waits for the turn only where it holds nothing else: at the start of its
  page, between a loop's steps, or after waiting for a worker outside any cached
  function or ``ui.memo`` key. A page holding the turn may wait for a value another
  thread is computing (an ``st.cache_data`` compute lock, a ``ui.memo`` key); that
  thread, having given its turn up to wait for a worker, takes it back only if nobody
  holds or waits for it, and otherwise finishes its page out of turn (as every page
  ran before).
- nobody waits longer than ``WAIT_SECONDS``: a page that holds the turn for long only
  delays the others by that much; they then run out of turn.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from streamlit.runtime.caching.cached_message_replay import in_cached_function

WAIT_SECONDS = 3.0  # the longest a page waits for its turn before it runs anyway


class TicketQueue:
    """A lock that is handed to its waiters in the order they came."""

    def __init__(self) -> None:
        self._fields = threading.Lock()  # guards _busy and _waiting
        self._busy = False
        self._waiting: deque[threading.Lock] = deque()  # one closed gate per waiter

    def take(self, timeout: float) -> bool:
        """Wait (at most ``timeout`` seconds) for the turn; whether it was taken."""
        with self._fields:
            if not self._busy and not self._waiting:
                self._busy = True
                return True
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append(gate)
        if gate.acquire(timeout=timeout):
            return True  # handed over by give_back (_busy stayed True)
        with self._fields:
            if gate in self._waiting:
                self._waiting.remove(gate)
                return False
        return True  # handed over between the time-out and the check above

    def take_if_free(self) -> bool:
        """Take the turn only if nobody holds it or waits for it."""
        with self._fields:
            if self._busy or self._waiting:
                return False
            self._busy = True
            return True

    def give_back(self) -> None:
        """Hand the turn to the first waiter, or leave it free."""
        with self._fields:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._busy = False


_TURNS = TicketQueue()
_HELD = threading.local()  # .held: whether this thread holds the turn now


def holds_turn() -> bool:
    """Whether this thread holds the turn."""
    return getattr(_HELD, "held", False)


@contextmanager
def page_turn(wait_seconds: float = WAIT_SECONDS) -> Iterator[bool]:
    """Run the body in turn: wait (at most ``wait_seconds``) until the pages that came
    first have run. Yields whether the turn was taken; it is given back however the body
    ends (``st.rerun``, ``st.stop`` and a rerun request all raise through here)."""
    _HELD.held = _TURNS.take(wait_seconds)
    try:
        yield _HELD.held
    finally:
        _give_back()


@contextmanager
def out_of_turn() -> Iterator[None]:
    """Let the next page run while this thread waits for something slow elsewhere (a
    worker process's fit, DuckDB). Afterwards the turn is taken back in order (behind
    the pages that came meanwhile) where this thread holds no other lock, and otherwise
    only if it is free (the rule above)."""
    if not holds_turn():
        yield
        return
    _give_back()
    try:
        yield
    finally:
        _HELD.held = _TURNS.take(WAIT_SECONDS) if _holds_nothing() else _TURNS.take_if_free()


@contextmanager
def holding_lock() -> Iterator[None]:
    """Mark this thread as holding a lock of the app's own (a ``ui.memo`` key being
    made, a large upload's store) for the body: a page that gives its turn up inside
    takes it back only if it is free."""
    _HELD.locks = getattr(_HELD, "locks", 0) + 1
    try:
        yield
    finally:
        _HELD.locks -= 1


def _holds_nothing() -> bool:
    # Streamlit holds a value's compute lock while its cached function runs.
    return not in_cached_function.get() and not getattr(_HELD, "locks", 0)


def pass_turn(wait_seconds: float = WAIT_SECONDS) -> None:
    """Between two steps of a long loop: let the pages waiting for the turn run, then
    take it again. Only where this thread holds no other lock (the rule above)."""
    if holds_turn():
        _give_back()
        _HELD.held = _TURNS.take(wait_seconds)


def _give_back() -> None:
    if holds_turn():
        _HELD.held = False
        _TURNS.give_back()
