"""One share store and one fit pool per server process, and waiting for a pool job.

``share_store()`` and ``fit_pool()`` are ``st.cache_resource`` singletons configured
from the environment (``lib.serve.settings``, ``docs/sharing.md``). Fits, model
comparisons and simulations run in the pool's worker processes, so a long fit holds
neither the server's GIL nor a session's script thread beyond its waiting loop.

How a page waits (the "StillRunning" pattern of ``docs/sharing.md``):

- a cached function (``ui.cache``) submits the job with ``run_job`` and waits half a
  second; most fits end there and are cached as before. Otherwise it raises
  ``StillRunning``, which ``st.cache_data`` does not cache;
- ``wait_for`` (outside the cache) then shows a Cancel button and a caption with the
  elapsed time, polling the job; every caption update is a point where Streamlit can
  stop the script for a rerun (a click on Cancel or on a toggle). When the job is done
  it calls the cached function again, which joins the finished job by its key (the
  pool's single flight and linger) and caches the result;
- a cache hit never touches the pool, so a warm rerun costs what it did.
"""

from __future__ import annotations

import gc
import hashlib
import os
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TypeVar

import streamlit as st
from streamlit.runtime.caching.cached_message_replay import in_cached_function
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

from lib.serve.fit_jobs import FitCancelled, FitHandle, FitOutOfMemory, FitTimeout
from lib.serve.fit_pool import FitPool
from lib.serve.settings import fit_pool_kwargs, share_store_kwargs
from lib.serve.share_store import ShareStore
from ui.turn import out_of_turn

T = TypeVar("T")

# Session-only keys (never in the URL).
FIT_HANDLES = "_fit_handles"  # {job key: FitHandle} this session is waiting for
FIT_CANCELLED = "_fit_cancelled"  # job keys this session cancelled (until "Fit again")
POLL_SECONDS = 0.25  # how often the waiting loop updates its caption (a rerun point)
FIRST_WAIT_SECONDS = 0.5  # how long a cached function waits before StillRunning


@st.cache_resource(show_spinner=False)
def share_store() -> ShareStore:
    """The server's store of shared tables (``EXPLORER_SHARE_*``); purged at start."""
    store = ShareStore(**share_store_kwargs(os.environ))
    store.purge()
    return store


@st.cache_resource(show_spinner=False, validate=lambda pool: not pool.closed)
def fit_pool() -> FitPool:
    """The server's fit workers (``EXPLORER_FIT_*``); a broken pool is replaced."""
    pool = FitPool(**fit_pool_kwargs(os.environ))
    # Made during the server's first page run, once the imports are done: move the
    # ~170,000 objects of numpy/scipy/pandas/altair out of the garbage collector's
    # reach. A full collection then scans only what sessions made since: over three
    # class bursts the collector paused the server for 1.4 s in all (one full collection
    # 0.6 s, every session waiting), with this 0.47 s (docs/sharing.md, "Measured in
    # the app"). Frozen objects are never freed; these live as long as the process.
    gc.freeze()
    return pool


def slow_fit_seconds() -> float:
    """``EXPLORER_TEST_SLOW_FIT``: test builds only, CPU seconds added to every fit job
    (``lib.serve.jobs.burn``); 0 when unset or unreadable."""
    raw = os.environ.get("EXPLORER_TEST_SLOW_FIT", "").strip()
    try:
        return max(0.0, float(raw)) if raw else 0.0
    except ValueError:
        return 0.0


class StillRunning(Exception):  # noqa: N818 - a signal, not an error
    """Raised out of a cached function when its job is not done yet (never cached)."""

    def __init__(self, handle: FitHandle) -> None:
        super().__init__("The job is still running.")
        self.handle = handle


@dataclass(frozen=True)
class Failed:
    """A job that ran past its time or memory limit, cached as such: asking again for
    the same data and model gives the same answer without another minute of work."""

    kind: type[Exception]
    message: str

    def throw(self) -> None:
        raise self.kind(self.message)


def run_job(job: str, *args: object, key: Hashable) -> object:
    """Submit ``job(*args)`` under ``key`` and wait briefly (call inside ``st.cache_data``).

    Returns the result, or a ``Failed`` for a time or memory limit; raises
    ``StillRunning`` if the job is not done within ``FIRST_WAIT_SECONDS``, and the
    job's own error (a ``DataError``, say) as it was raised in the worker.
    """
    handle = fit_pool().submit(job, *args, key=key)
    with out_of_turn():  # the next page runs while the worker fits (ui.turn)
        done = handle.wait(FIRST_WAIT_SECONDS)
    if not done:
        raise StillRunning(handle)
    try:
        return handle.result()
    except (FitTimeout, FitOutOfMemory) as exc:
        return Failed(type(exc), str(exc))


def settle(value: T | Failed) -> T:
    """The value of ``run_job``, raising a cached ``Failed``."""
    if isinstance(value, Failed):
        value.throw()
    return value  # type: ignore[return-value]


def wait_for(call: Callable[[], T], key: Hashable, what: str = "Fitting the model") -> T:
    """``call()`` (a cached function that uses ``run_job``), waiting while it runs.

    Shows a Cancel button and the elapsed time in place while the job runs; raises
    ``FitCancelled`` (an ``ExplorerError``: pages show it) after this session
    cancelled this job, with a "Fit again" button.
    """
    if was_cancelled(key):
        st.button(
            "Fit again",
            key=f"_fit_again_{_digest(key)}",
            on_click=_fit_again,
            args=(key,),
            icon=":material/replay:",
        )
        raise FitCancelled("The fit was cancelled. Click Fit again, or change the model.")
    _await_running(key)
    try:
        return call()
    except StillRunning as running:
        handle = running.handle
    if get_script_run_ctx() is None or in_cached_function.get():
        with out_of_turn():
            handle.wait()  # no page to draw on (or inside another cached function): block
        return call()
    handles = st.session_state.setdefault(FIT_HANDLES, {})
    for old in handles.values():  # from a run that was stopped while it waited
        old.cancel()
    handles.clear()
    handles[key] = handle
    limit = fit_pool().time_limit
    slot = st.empty()
    with slot.container():
        st.button(
            "Cancel",
            key=f"_cancel_fit_{_digest(key)}",
            on_click=cancel_fits,
            icon=":material/cancel:",
            help="Stop this fit (it also stops by itself after the time limit).",
        )
        note = st.empty()
    start = time.monotonic()
    with out_of_turn():  # the rest of this page runs out of turn, unless the turn is free
        _poll(handle, note, what, limit, start)
    handles.pop(key, None)
    slot.empty()
    return call()


def _poll(handle: FitHandle, note: object, what: str, limit: float, start: float) -> None:
    """Update the caption until the job is done (each update is a rerun point)."""
    while not handle.wait(POLL_SECONDS):
        words = "waiting for a free worker" if handle.state == "queued" else "running"
        note.caption(
            f"{what}: {words}, {time.monotonic() - start:.0f} s so far (stopped after {limit:g} s)."
        )


def was_cancelled(key: Hashable) -> bool:
    """Whether this session cancelled the job ``key`` (until it clicks "Fit again")."""
    cancelled = st.session_state.get(FIT_CANCELLED)
    return bool(cancelled) and key in cancelled


def _await_running(key: Hashable) -> None:
    """If another page's job for ``key`` is running, wait for it (briefly) out of turn,
    before ``call()`` would wait for it inside Streamlit's compute lock while holding the
    turn: a class flipping one toggle then draws its sidebars while the fit runs, and
    every page after the fit's takes the turn back in order (``ui.turn``)."""
    done = fit_pool().finishing(key)
    if done is not None:
        with out_of_turn():
            done.wait(FIRST_WAIT_SECONDS)


def cancel_fits() -> None:
    """Callback of the Cancel button: withdraw this session from the jobs it waits for
    (a job stops when no session is left waiting for it)."""
    handles = st.session_state.get(FIT_HANDLES) or {}
    cancelled = st.session_state.setdefault(FIT_CANCELLED, set())
    for key, handle in handles.items():
        handle.cancel()
        cancelled.add(key)
    handles.clear()


def _fit_again(key: Hashable) -> None:
    st.session_state.get(FIT_CANCELLED, set()).discard(key)


def _digest(key: Hashable) -> str:
    return hashlib.sha256(repr(key).encode()).hexdigest()[:16]
