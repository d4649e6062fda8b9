"""Jobs for tests/test_fit_pool.py: they run inside pool workers, so they live in an
importable module (a worker imports a job by its name)."""

from __future__ import annotations

import ctypes
import os
import signal
import time
from pathlib import Path

from lib.errors import DataError


def pid() -> int:
    return os.getpid()


def add(a: int, b: int) -> int:
    return a + b


def sleep_and_note(seconds: float, note: str) -> int:
    """Write this worker's pid to ``note``, then sleep."""
    Path(note).write_text(str(os.getpid()))
    time.sleep(seconds)
    return os.getpid()


def count_and_sleep(seconds: float, tally: str, value: int) -> int:
    """Append one line to ``tally`` per execution, so a test can count runs."""
    with open(tally, "a") as handle:
        handle.write(f"{os.getpid()}\n")
    time.sleep(seconds)
    return value * 2


def allocate(n_bytes: int) -> int:
    block = bytearray(n_bytes)
    return len(block)


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def exit_now(code: int) -> None:
    os._exit(code)


def segfault() -> None:
    ctypes.string_at(0)


def bad_data(column: str) -> None:
    raise DataError(f"There is no column {column!r}.")


def memory_limit() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_AS)[0]
