"""Values shared by every session of this server process, under small hashable keys.

What ``st.cache_resource`` gives, without its per-call work: Streamlit hashes every
argument of a cached function with its own hasher and inspects the function's signature
on every call (0.16 ms a look-up; ``st.cache_data`` also unpickles a copy of the value on
every hit), on every rerun of every session. A dict look-up under a lock costs a
microsecond. For values that a few small values determine completely (the data's source
id and the model's repr, say) and that nobody mutates: formatted tables (``ui.render``),
chart specs and the text of a fit's panels. ``st.vega_lite_chart`` copies a spec before
it changes it, so one spec object may be drawn by many sessions.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from ui import turn

T = TypeVar("T")


class KeyedStore:
    """At most ``max_entries`` values (the least recently used leave first), each kept
    ``ttl`` seconds after it was made."""

    def __init__(self, max_entries: int, ttl: float) -> None:
        self.max_entries, self.ttl = max_entries, ttl
        self._entries: OrderedDict[Hashable, tuple[float, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._making: dict[Hashable, threading.Lock] = {}  # keys being made, one lock each

    def get(self, key: Hashable, make: Callable[[], T]) -> T:
        """The value under ``key``, made by ``make()`` on a miss. Sessions that miss the
        same key together wait for one ``make()`` (a class flipping one toggle would
        otherwise build the same chart thirty times over)."""
        found, value = self._look_up(key)
        if found:
            return value
        with self._lock:
            making = self._making.setdefault(key, threading.Lock())
        try:
            with making, turn.holding_lock():
                found, value = self._look_up(key)
                if found:
                    return value
                value = make()
                with self._lock:
                    self._entries[key] = (time.monotonic(), value)
                    while len(self._entries) > self.max_entries:
                        self._entries.popitem(last=False)
                return value
        finally:
            with self._lock:
                if self._making.get(key) is making and not making.locked():
                    del self._making[key]

    def peek(self, key: Hashable) -> object | None:
        """The value under ``key`` if it is there, else None (nothing is made)."""
        return self._look_up(key)[1]

    def _look_up(self, key: Hashable) -> tuple[bool, T]:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or now - entry[0] >= self.ttl:
                return False, None  # type: ignore[return-value]
            self._entries.move_to_end(key)
            return True, entry[1]  # type: ignore[return-value]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Chart specs and panels of a fit: up to ~100 KB each (a scatter of MAX_MARKS points).
SHARED = KeyedStore(max_entries=256, ttl=3600)


def get(key: Hashable, make: Callable[[], T]) -> T:
    """``make()``, made once per ``key`` in this process (``SHARED``). ``key`` must
    determine the value completely, or sessions would see each other's values."""
    return SHARED.get(key, make)
