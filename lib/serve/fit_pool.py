"""Model fits in a bounded pool of worker processes, each job with a time limit.

Why not ``concurrent.futures.ProcessPoolExecutor``: it cannot stop one running
job. Here each worker is a ``multiprocessing.Process`` with its own pipe; a job
that runs past its time limit, or that every caller cancelled, has its worker
killed (SIGKILL) and replaced, and the pool goes on. One manager thread owns the
workers; callers (many Streamlit session threads) only queue jobs and wait.

- **Start method.** ``forkserver`` by default: forking a threaded server is unsafe,
  and the fork server imports ``lib.lmm`` (numpy, scipy, pandas) once, so a new or
  replacement worker starts in milliseconds instead of paying the imports.
- **Limits.** Per job: a time limit (default 60 s) counted from when a worker
  takes it. Per worker: an address-space limit (``RLIMIT_AS``, default 4 GiB),
  so a runaway allocation fails as MemoryError in that worker, and one BLAS thread.
- **Single flight.** Jobs submitted with the same ``key`` while one is queued or
  running share it: it runs once and every caller gets its result. A caller's
  ``cancel()`` withdraws only that caller; the job is stopped when no caller is left.
  A finished job's outcome stays joinable by its key for ``linger`` seconds, so a
  caller that stopped waiting (a Streamlit rerun) and asks again gets it without a
  second run; the app's result cache (``st.cache_data``) keeps it after that.
- **Not the page script.** Streamlit runs each page as the module ``__main__`` (with
  the page's ``__file__``), and multiprocessing's start-up re-imports the parent's
  ``__main__`` in every child: each worker would run the page script.
  ``skip_main_in_workers`` drops that step for this pool's processes only (jobs are
  importable by name, so a worker never needs the parent's ``__main__``).
- **Errors.** ``FitTimeout``, ``FitOutOfMemory``, ``FitCrashed``, ``FitCancelled``,
  ``PoolClosed`` (all ``lib.errors.FitError``, messages ready to show). A job's own
  exception is re-raised in the caller as it was raised in the worker.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing
import os
import pickle
import threading
import time
import traceback
import weakref
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait

from lib.serve.fit_jobs import (
    GIB,
    FitCancelled,
    FitCrashed,
    FitHandle,
    FitOutOfMemory,
    FitPoolError,
    FitTimeout,
    Job,
    PoolClosed,
    RemoteJobError,
    crash_message,
    memory_message,
    outcome,
    timeout_message,
)
from lib.serve.fit_worker import WORKER_NAME, job_name, skip_main_in_workers, worker_main

__all__ = [
    "GIB",
    "FitCancelled",
    "FitCrashed",
    "FitHandle",
    "FitOutOfMemory",
    "FitPool",
    "FitPoolError",
    "FitTimeout",
    "PoolClosed",
    "PoolStats",
    "RemoteJobError",
]

DEFAULT_PRELOAD = ("lib.lmm",)
_MAX_START_FAILURES = 3


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    launched: float
    state: str = "starting"  # starting | idle | busy
    job: Job | None = None


@dataclass(frozen=True)
class PoolStats:
    workers: int
    idle: int
    busy: int
    queued: int
    started: int  # worker processes started so far, replacements included
    startup_seconds: tuple[float, ...]  # launch -> ready of each worker, in start order


class FitPool:
    """A fixed number of worker processes running named jobs with limits.

    Parameters
    ----------
    workers : int, optional
        Worker processes (default: the number of cores).
    time_limit : float
        Default seconds a job may run once a worker has taken it.
    memory_limit : int or None
        Address-space limit of each worker in bytes (None: no limit).
    start_method : str
        ``"forkserver"`` (default) or ``"spawn"``. With forkserver, ``preload`` is
        imported once by the fork server; this sets the process-wide fork-server
        preload list, which only takes effect if no fork server is running yet.
    preload : tuple of str
        Modules each worker imports before it reports ready.
    niceness : int
        Added to each worker's scheduling niceness (``os.nice``): a long fit then
        takes the CPU the web server leaves, so pages stay quick while it runs
        (0: same priority as the server).
    blas_threads : int or None
        BLAS threads per worker (None: leave as is).
    linger : float
        Seconds a finished job's outcome (result or error, not a cancellation) can
        still be joined by submitting its key again.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        time_limit: float = 60.0,
        memory_limit: int | None = 4 * GIB,
        start_method: str = "forkserver",
        preload: tuple[str, ...] = DEFAULT_PRELOAD,
        blas_threads: int | None = 1,
        niceness: int = 10,
        linger: float = 30.0,
    ) -> None:
        size = workers if workers is not None else (os.cpu_count() or 1)
        if size < 1:
            raise ValueError(f"workers must be at least 1, got {size}.")
        if time_limit <= 0:
            raise ValueError(f"time_limit must be positive, got {time_limit}.")
        if start_method not in ("forkserver", "spawn"):
            raise ValueError(f"start_method must be 'forkserver' or 'spawn', got {start_method!r}.")
        self.time_limit = float(time_limit)
        self.memory_limit = memory_limit
        self.linger = float(linger)
        skip_main_in_workers()
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver":
            self._ctx.set_forkserver_preload(["lib.serve.fit_worker", *preload])
        self._worker_args = (memory_limit, blas_threads, tuple(preload), int(niceness))
        self._lock = threading.Lock()
        self._ready = threading.Condition(self._lock)
        self._queue: deque[Job] = deque()
        self._by_key: dict[Hashable, Job] = {}
        self._lingering: deque[Job] = deque()  # finished keyed jobs, oldest first
        self._closed = False
        self._broken: str | None = None
        self._start_failures = 0
        self._started = 0
        self._startup: list[float] = []
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        # Closed only when the pool is collected: a late cancel() after close() must never
        # write to a descriptor number the process has reused.
        # Not at interpreter exit: the (daemon) manager thread may still be waiting on them.
        weakref.finalize(self, _close_fds, self._wake_read, self._wake_write).atexit = False
        self._workers = [self._launch() for _ in range(size)]
        self._thread = threading.Thread(target=self._run, name="fit-pool", daemon=True)
        self._thread.start()
        # Close before multiprocessing's own exit handler (atexit runs last-registered
        # first) kills the workers: the manager would otherwise try to replace them.
        atexit.register(_close_at_exit, weakref.ref(self))

    # ----- callers' side --------------------------------------------------------------

    def submit(
        self,
        job: str | Callable[..., object],
        *args: object,
        key: Hashable | None = None,
        time_limit: float | None = None,
    ) -> FitHandle:
        """Queue ``job(*args)``; with a ``key``, join the queued or running job of that key.

        ``job`` is a module-level function or its name ``"module:function"``;
        ``args`` must pickle (a DataFrame and a ModelSpec do).
        """
        name = job_name(job)
        limit = self.time_limit if time_limit is None else float(time_limit)
        handle = self._join(key)
        if handle is not None:
            return handle
        payload = pickle.dumps((name, args), protocol=pickle.HIGHEST_PROTOCOL)
        with self._lock:
            handle = self._join_locked(key)
            if handle is not None:
                return handle
            new = Job(name=name, payload=payload, key=key, time_limit=limit)
            self._queue.append(new)
            if key is not None:
                self._by_key[key] = new
        self._wake()
        return FitHandle(self, new)

    def finishing(self, key: Hashable) -> threading.Event | None:
        """The event set when the queued or running job of ``key`` ends, or None if there
        is none (a finished job is not running). Waiting on it does not join the job: the
        waiter is not one of its callers, so their Cancel still stops it."""
        with self._lock:
            job = self._by_key.get(key)
        return None if job is None or job.done.is_set() else job.done

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until every worker has started (imports done); ``TimeoutError`` if not."""
        with self._ready:
            if not self._ready.wait_for(self._all_started, timeout):
                raise TimeoutError(f"The pool's workers did not start within {timeout} s.")
            if self._broken or self._closed:
                raise PoolClosed(self._broken or "The fit pool has been shut down.")

    @property
    def closed(self) -> bool:
        """True once the pool was shut down or broke (every submit raises ``PoolClosed``)."""
        return self._closed or self._broken is not None

    def stats(self) -> PoolStats:
        with self._lock:
            states = [w.state for w in self._workers]
            return PoolStats(
                workers=len(states),
                idle=states.count("idle"),
                busy=states.count("busy"),
                queued=len(self._queue),
                started=self._started,
                startup_seconds=tuple(self._startup),
            )

    def close(self) -> None:
        """Stop every worker; queued and running jobs end with ``PoolClosed``."""
        with self._lock:
            self._closed = True
        self._wake()
        self._thread.join(timeout=10)

    def __enter__(self) -> FitPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _join(self, key: Hashable | None) -> FitHandle | None:
        with self._lock:
            return self._join_locked(key)

    def _join_locked(self, key: Hashable | None) -> FitHandle | None:
        if self._closed or self._broken:
            raise PoolClosed(self._broken or "The fit pool has been shut down; reload the page.")
        now = time.monotonic()
        while self._lingering and now - self._lingering[0].finished > self.linger:
            old = self._lingering.popleft()
            if self._by_key.get(old.key) is old:
                del self._by_key[old.key]
        job = self._by_key.get(key) if key is not None else None
        if job is None:
            return None
        job.attached += 1
        return FitHandle(self, job)

    def _cancel(self, handle: FitHandle) -> bool:
        job = handle._job
        with self._lock:
            if handle._cancelled or job.done.is_set():
                return False
            handle._cancelled = True
            job.attached -= 1
            if job.attached > 0:
                return True
            if self._by_key.get(job.key) is job:
                del self._by_key[job.key]  # a new submit of this key starts afresh
            if job.worker is None:
                self._queue.remove(job)
                self._finish(job, False, FitCancelled("The fit was cancelled."))
                return True
            job.cancel_requested = True
        self._wake()
        return True

    def _wake(self) -> None:
        with contextlib.suppress(BlockingIOError):  # a full pipe wakes the manager anyway
            os.write(self._wake_write, b"x")

    def _all_started(self) -> bool:
        return bool(self._broken) or all(w.state != "starting" for w in self._workers)

    # ----- the manager thread ---------------------------------------------------------

    def _launch(self) -> _Worker:
        parent, child = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main, args=(child, *self._worker_args), daemon=True, name=WORKER_NAME
        )
        launched = time.perf_counter()
        process.start()
        child.close()  # the worker holds its end; EOF then means the worker is gone
        with self._lock:
            self._started += 1
        return _Worker(process=process, conn=parent, launched=launched)

    def _finish(self, job: Job, ok: bool, value: object) -> None:
        """Record a job's outcome (call with the lock held)."""
        if job.done.is_set():
            return
        job.outcome = (ok, value)
        job.worker = None
        job.finished = time.monotonic()
        if job.key is not None and self._by_key.get(job.key) is job:
            if self.linger > 0 and not isinstance(value, FitCancelled | PoolClosed):
                self._lingering.append(job)
            else:
                del self._by_key[job.key]
        job.done.set()

    def _run(self) -> None:
        try:
            self._serve()
        except BaseException:
            # A bug here must not leave callers waiting forever: fail every job.
            with self._lock:
                self._broken = "The fit pool stopped:\n" + traceback.format_exc()
            raise
        finally:
            self._shut_down()

    def _serve(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    break
                sends = self._assign()
            for worker, job in sends:
                try:
                    worker.conn.send_bytes(job.payload)
                except OSError:
                    pass  # the worker died: its sentinel is ready and _on_exit handles it
            self._wait_and_handle()

    def _assign(self) -> list[tuple[_Worker, Job]]:
        sends = []
        for worker in self._workers:
            if worker.state != "idle" or not self._queue:
                continue
            job = self._queue.popleft()
            worker.state, worker.job = "busy", job
            job.worker, job.started = worker, time.monotonic()
            sends.append((worker, job))
        return sends

    def _wait_and_handle(self) -> None:
        with self._lock:
            workers = list(self._workers)
            deadlines = [w.job.started + w.job.time_limit for w in workers if w.job]
        timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
        watched: list[object] = [self._wake_read]
        for worker in workers:
            watched += [worker.conn, worker.process.sentinel]
        ready = set(wait(watched, timeout))
        with contextlib.suppress(BlockingIOError):
            while os.read(self._wake_read, 4096):
                pass
        for worker in workers:
            if worker.conn in ready:
                self._receive(worker)
            if worker.process.sentinel in ready:
                self._on_exit(worker)
        self._enforce_limits()

    def _receive(self, worker: _Worker) -> bool:
        """Handle one message from ``worker``; False at the end of its pipe."""
        try:
            message = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            return False  # the worker is gone; its sentinel reports it
        except Exception as exc:  # noqa: BLE001 - a result class the parent cannot load
            message = ("raise", None, f"The result could not be read: {exc!r}")
        kind = message[0]
        with self._lock:
            job = worker.job
            if kind == "ready":
                worker.state = "idle"
                self._startup.append(time.perf_counter() - worker.launched)
                self._start_failures = 0
                self._ready.notify_all()
            elif kind == "init_failed":
                self._broken = "The fit workers cannot start:\n" + message[1]
                self._fail_everything(PoolClosed(self._broken))
                self._ready.notify_all()
            elif kind == "oom":
                self._finish(job, False, FitOutOfMemory(memory_message(self.memory_limit)))
                worker.job = None
            elif job is not None:
                worker.state, worker.job = "idle", None
                self._finish(job, *outcome(message))
        return True

    def _on_exit(self, worker: _Worker) -> None:
        """A worker process ended: fail its job, start a replacement."""
        with contextlib.suppress(OSError):  # a last message (an "oom" report) may be waiting
            while worker.conn.poll() and self._receive(worker):
                pass
        worker.process.join(timeout=1)
        code = worker.process.exitcode
        with self._lock:
            if worker.state == "starting":
                self._start_failures += 1
                if self._start_failures >= _MAX_START_FAILURES and not self._broken:
                    self._broken = f"The fit workers exit while starting (exit code {code})."
                    self._fail_everything(PoolClosed(self._broken))
                    self._ready.notify_all()
            if worker.job is not None:
                self._finish(worker.job, False, FitCrashed(crash_message(code)))
        self._replace(worker)

    def _enforce_limits(self) -> None:
        """Stop jobs past their time limit or cancelled by every caller.

        The worker is killed before the job's error is recorded, so a caller who sees
        ``FitTimeout`` or ``FitCancelled`` knows the work has stopped.
        """
        now = time.monotonic()
        stop: list[tuple[_Worker, Job, FitPoolError]] = []
        with self._lock:
            for worker in self._workers:
                job = worker.job
                if job is None:
                    continue
                if job.cancel_requested:
                    error: FitPoolError = FitCancelled("The fit was cancelled.")
                elif now >= job.started + job.time_limit:
                    error = FitTimeout(timeout_message(job.time_limit))
                else:
                    continue
                worker.job = None
                stop.append((worker, job, error))
        for worker, job, error in stop:
            self._stop(worker)
            with self._lock:
                self._finish(job, False, error)
            self._replace(worker)

    def _stop(self, worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.conn.close()

    def _replace(self, worker: _Worker) -> None:
        """Stop ``worker`` (if still running) and put a new one in its place."""
        self._stop(worker)
        with self._lock:
            if self._closed or self._broken or worker not in self._workers:
                if worker in self._workers:
                    self._workers.remove(worker)
                return
        new = self._launch()
        with self._lock:
            self._workers[self._workers.index(worker)] = new

    def _fail_everything(self, error: FitPoolError) -> None:
        """Fail queued and running jobs (lock held)."""
        while self._queue:
            self._finish(self._queue.popleft(), False, error)
        for worker in self._workers:
            if worker.job is not None:
                self._finish(worker.job, False, error)

    def _shut_down(self) -> None:
        with self._lock:
            self._closed = True
            message = self._broken or "The fit pool has been shut down; reload the page."
            self._fail_everything(PoolClosed(message))
            self._ready.notify_all()
            workers, self._workers = self._workers, []
        for worker in workers:
            worker.conn.close()  # an idle worker reads EOF and returns
            if worker.state != "idle":
                worker.process.kill()
        for worker in workers:
            worker.process.join(timeout=1)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)


def _close_at_exit(pool_ref: weakref.ref[FitPool]) -> None:
    pool = pool_ref()
    if pool is not None:
        pool.close()


def _close_fds(*fds: int) -> None:
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
