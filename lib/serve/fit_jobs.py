"""The caller's side of a pool job: its record, the handle callers wait on, the errors.

See ``lib.serve.fit_pool`` for the pool that runs them.
"""

from __future__ import annotations

import copy
import pickle
import signal
import threading
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Protocol

from lib.errors import FitError

GIB = 1024**3


class FitPoolError(FitError):
    """A job in the pool did not produce a result."""


class FitTimeout(FitPoolError):
    """The job ran past its time limit and its worker was stopped."""


class FitOutOfMemory(FitPoolError):
    """The job needed more memory than a worker may use."""


class FitCrashed(FitPoolError):
    """The worker process died during the job (killed by the system, or a crash)."""


class FitCancelled(FitPoolError):
    """This caller cancelled the job."""


class PoolClosed(FitPoolError):
    """The pool was shut down (or its workers cannot start)."""


class RemoteJobError(RuntimeError):
    """The job raised an exception that could not be brought back; holds its traceback."""


@dataclass(eq=False)
class Job:
    """One queued or running job, shared by every caller that asked for its key."""

    name: str
    payload: bytes
    key: Hashable | None
    time_limit: float
    attached: int = 1
    done: threading.Event = field(default_factory=threading.Event)
    outcome: tuple[bool, object] | None = None  # (ok, value or exception)
    finished: float | None = None  # time.monotonic() when the outcome was recorded
    worker: object | None = None  # the pool's worker running it
    started: float | None = None
    cancel_requested: bool = False


class JobOwner(Protocol):
    """What a handle needs of its pool (``FitPool``): a way to cancel its job."""

    def _cancel(self, handle: FitHandle) -> bool: ...


class FitHandle:
    """One caller's view of a submitted job (several callers may share the job)."""

    def __init__(self, pool: JobOwner, job: Job) -> None:
        self._pool = pool
        self._job = job
        self._cancelled = False

    @property
    def key(self) -> Hashable | None:
        return self._job.key

    @property
    def state(self) -> str:
        """``queued``, ``running``, ``done`` or ``cancelled`` (this caller cancelled)."""
        if self._cancelled:
            return "cancelled"
        if self._job.done.is_set():
            return "done"
        return "running" if self._job.started is not None else "queued"

    def done(self) -> bool:
        return self._cancelled or self._job.done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds; True when a result (or error) is ready."""
        return self._cancelled or self._job.done.wait(timeout)

    def result(self, timeout: float | None = None) -> object:
        """The job's return value; raises its error, or ``TimeoutError`` if ``timeout``
        seconds pass first (the job goes on: that is not a ``FitTimeout``)."""
        if self._cancelled:
            raise FitCancelled("The fit was cancelled.")
        if not self._job.done.wait(timeout):
            raise TimeoutError(f"No result within {timeout} s; the job is still {self.state}.")
        ok, value = self._job.outcome  # type: ignore[misc]
        if ok:
            return value
        error = copy.copy(value)  # one exception object per caller thread
        error.__cause__ = value.__cause__
        raise error

    def cancel(self) -> bool:
        """Withdraw this caller; stop the job if no other caller waits for it.

        Returns False if the job had already finished (nothing to cancel).
        """
        return self._pool._cancel(self)


def outcome(message: tuple[object, ...]) -> tuple[bool, object]:
    """(ok, value) from a worker's "ok" or "raise" message."""
    if message[0] == "ok":
        return True, message[1]
    _, pickled, text = message
    try:
        exc = pickle.loads(pickled) if pickled is not None else None
    except Exception:  # noqa: BLE001 - unpicklable exception: keep its text
        exc = None
    if isinstance(exc, Exception):
        exc.__cause__ = RemoteJobError(f"Raised in a fit worker:\n{text}")
        return False, exc
    return False, RemoteJobError(f"The job failed in a fit worker:\n{text}")


def timeout_message(limit: float) -> str:
    return (
        f"The fit took longer than {limit:g} s and was stopped. Try a simpler model "
        "(fewer random slopes or grouping levels) or fewer rows."
    )


def memory_message(limit: int | None) -> str:
    cap = f" (each fit may use at most {limit / GIB:g} GiB here)" if limit else ""
    return (
        f"The fit ran out of memory{cap} and was stopped. Try a simpler model "
        "(fewer random slopes or grouping levels) or fewer rows."
    )


def crash_message(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            how = f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with code {code}"
    return (
        f"The fit ran out of memory or crashed (its worker process {how}) and was stopped. "
        "Try a simpler model or fewer rows; if it happens again, tell whoever runs the server."
    )
