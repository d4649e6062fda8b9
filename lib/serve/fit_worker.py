"""The worker side of ``lib.serve.fit_pool``: one process, one job at a time.

Also here: ``job_name`` (how the pool names a job) and ``skip_main_in_workers`` (how
the pool keeps multiprocessing from running the parent's ``__main__`` in a worker).

The parent sends pickled ``(job name, args)`` as one message on a pipe; the worker
answers with one pickled message per job. Every message is a tuple whose first
item says what it is:

- ``("ready", seconds)``          set-up done (limits set, modules imported)
- ``("ok", value)``               the job's return value
- ``("raise", exc_bytes, text)``  the job raised: the pickled exception (None if it
  cannot be pickled) and its formatted traceback
- ``("oom", text)``               MemoryError (the address-space limit was hit);
  the worker then exits, since a half-failed allocation may leave it in a bad state
- ``("init_failed", text)``       set-up failed; the worker exits

Jobs are named ``"package.module:function"``, resolved by import here; nothing
from a user ever becomes a job name (the app passes fixed functions).
"""

from __future__ import annotations

import importlib
import multiprocessing.spawn
import os
import pickle
import re
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection

_JOB_NAME = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")
WORKER_NAME = "lib.serve.fit_pool-worker"  # how skip_main_in_workers knows our processes


def job_name(job: str | Callable[..., object]) -> str:
    """``"module:qualname"`` of a module-level function (the form a worker imports).

    Raises
    ------
    TypeError
        A lambda, a nested function, or a function defined in ``__main__``: a
        worker process cannot import those.
    """
    if isinstance(job, str):
        name = job
    else:
        module = getattr(job, "__module__", None)
        qualname = getattr(job, "__qualname__", "")
        name = f"{module}:{qualname}"
        if module in (None, "__main__") or "<" in qualname:
            raise TypeError(
                f"A pool job must be a function defined at the top level of an importable "
                f"module, got {name}."
            )
    if not _JOB_NAME.fullmatch(name):
        raise TypeError(f"A pool job name looks like 'package.module:function', got {name!r}.")
    return name


def resolve(name: str) -> Callable[..., object]:
    module_name, qualname = name.split(":")
    target: object = importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise TypeError(f"Pool job {name} is not a function.")
    return target  # type: ignore[return-value]


def _dump(message: tuple[object, ...]) -> bytes:
    return pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)


def _set_up(
    memory_limit: int | None, blas_threads: int | None, preload: tuple[str, ...], niceness: int
) -> None:
    # Ctrl-C in the server's terminal reaches the whole process group; the parent
    # decides when workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if memory_limit:
        # RLIMIT_AS bounds the address space: an allocation past it fails with
        # MemoryError inside the job instead of the kernel's OOM killer picking a
        # process (possibly the server) to kill.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    if niceness:
        # Below the web server: under CPU contention a long fit waits, pages do not
        # (a class burst next to a 40-s fit, docs/sharing.md).
        os.nice(niceness)
    for module in preload:  # already imported when the forkserver preloaded them
        importlib.import_module(module)
    if blas_threads:
        # One BLAS thread per worker: the pool's size is the parallelism (lib.lmm.blas).
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=blas_threads)


def worker_main(
    conn: Connection,
    memory_limit: int | None,
    blas_threads: int | None,
    preload: tuple[str, ...],
    niceness: int = 0,
) -> None:
    """Run jobs from ``conn`` until the parent closes it (the process's target)."""
    start = time.perf_counter()
    try:
        _set_up(memory_limit, blas_threads, preload, niceness)
    except BaseException:
        conn.send_bytes(_dump(("init_failed", traceback.format_exc())))
        return
    conn.send_bytes(_dump(("ready", time.perf_counter() - start)))
    jobs: dict[str, Callable[..., object]] = {}
    while True:
        try:
            data = conn.recv_bytes()
        except (EOFError, OSError):  # the parent closed the pipe, or exited
            return
        try:
            name, args = pickle.loads(data)
            if name not in jobs:
                jobs[name] = resolve(name)
            reply = _dump(("ok", jobs[name](*args)))
        except MemoryError:
            conn.send_bytes(_dump(("oom", traceback.format_exc())))
            return
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the caller
            text = traceback.format_exc()
            try:
                pickled: bytes | None = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # noqa: BLE001 - unpicklable exception: send its text only
                pickled = None
            reply = _dump(("raise", pickled, text))
        conn.send_bytes(reply)


_GUARD_LOCK = threading.Lock()


def skip_main_in_workers() -> None:
    """Make multiprocessing leave out the parent's ``__main__`` for this pool's workers.

    ``spawn.get_preparation_data(name)`` (called by the forkserver and spawn start
    methods with the process's name) tells the child to import the parent's main
    module by path; under Streamlit that is the page script being run. The wrapper
    removes those entries for processes named ``WORKER_NAME`` and changes nothing for
    any other process. Installed once per interpreter.
    """
    with _GUARD_LOCK:
        original = multiprocessing.spawn.get_preparation_data
        if getattr(original, "skips_main_for", None) == WORKER_NAME:
            return

        def get_preparation_data(name: str) -> dict[str, object]:
            data = original(name)
            if name == WORKER_NAME:
                data.pop("init_main_from_path", None)
                data.pop("init_main_from_name", None)
            return data

        get_preparation_data.skips_main_for = WORKER_NAME  # type: ignore[attr-defined]
        multiprocessing.spawn.get_preparation_data = get_preparation_data
