"""lib.serve.fit_pool: limits, cancellation, crashes, single flight, a real fit.

One pool (two workers, forkserver) serves the module; tests that kill workers
check that the next job still runs. Jobs are in tests/pool_jobs.py.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import types

import numpy as np
import pytest

from lib.errors import DataError, ExplorerError, FitError
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.serve.fit_pool import (
    GIB,
    FitCancelled,
    FitCrashed,
    FitOutOfMemory,
    FitPool,
    FitTimeout,
    PoolClosed,
)
from lib.table.catalogue import load_bundled
from tests import pool_jobs

MEMORY_LIMIT = GIB  # a worker with numpy, scipy and pandas loaded maps ~0.5 GiB
LINGER = 0.5  # seconds a finished job stays joinable by its key


@pytest.fixture(scope="module")
def pool():
    with FitPool(2, time_limit=20, memory_limit=MEMORY_LIMIT, linger=LINGER) as fit_pool:
        fit_pool.wait_ready(timeout=60)
        yield fit_pool


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def _wait_for_file(path, timeout: float = 10.0) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.01)
    raise AssertionError(f"{path} was not written within {timeout} s")


def test_runs_a_job_with_its_arguments(pool):
    assert pool.submit(pool_jobs.add, 2, 3).result(timeout=10) == 5
    assert pool.submit("tests.pool_jobs:add", 4, 5).result(timeout=10) == 9
    assert pool.submit(pool_jobs.pid).result(timeout=10) != os.getpid()


def test_workers_have_the_memory_limit(pool):
    assert pool.submit(pool_jobs.memory_limit).result(timeout=10) == MEMORY_LIMIT


def test_workers_run_below_the_servers_priority(pool):
    # os.nice(0) returns the caller's niceness: the worker's is the parent's plus 10.
    assert pool.submit("os:nice", 0).result(timeout=10) == os.nice(0) + 10


def test_real_fit_equals_the_in_process_fit(pool):
    frame = load_bundled("schools")
    spec = ModelSpec.one_factor("test_score", "school", fixed=["study_time"])
    remote = pool.submit(fit_lmm, frame, spec, key=("bundled:schools", spec)).result(timeout=30)
    local = fit_lmm(frame, spec)
    assert remote.spec == spec
    assert remote.criterion == pytest.approx(local.criterion, rel=1e-12)
    np.testing.assert_allclose(remote.beta, local.beta, rtol=1e-12)
    np.testing.assert_allclose(remote.beta_se, local.beta_se, rtol=1e-12)
    np.testing.assert_allclose(remote.theta, local.theta, rtol=1e-12)
    assert remote.sigma == pytest.approx(local.sigma, rel=1e-12)
    np.testing.assert_allclose(remote.fitted, local.fitted, rtol=1e-12)


def test_the_jobs_own_error_comes_back_as_raised(pool):
    with pytest.raises(DataError, match="There is no column 'nope'"):
        pool.submit(pool_jobs.bad_data, "nope").result(timeout=10)
    frame = load_bundled("schools")
    spec = ModelSpec.one_factor("missing_outcome", "school")
    with pytest.raises(ExplorerError) as remote:
        pool.submit(fit_lmm, frame, spec).result(timeout=30)
    with pytest.raises(ExplorerError) as local:
        fit_lmm(frame, spec)
    assert type(remote.value) is type(local.value)
    assert str(remote.value) == str(local.value)


def test_a_job_past_its_time_limit_is_stopped_and_the_pool_goes_on(pool, tmp_path):
    note = tmp_path / "pid"
    start = time.monotonic()
    handle = pool.submit(pool_jobs.sleep_and_note, 30, str(note), time_limit=1.0)
    with pytest.raises(FitTimeout, match=r"^The fit took longer than 1 s and was stopped\."):
        handle.result(timeout=10)
    assert time.monotonic() - start < 1.0 + 1.0
    assert _gone(int(_wait_for_file(note)))
    assert pool.submit(pool_jobs.add, 1, 1).result(timeout=10) == 2
    assert isinstance(handle.state, str) and handle.state == "done"


def test_cancel_stops_a_running_job(pool, tmp_path):
    note = tmp_path / "pid"
    handle = pool.submit(pool_jobs.sleep_and_note, 30, str(note))
    worker = int(_wait_for_file(note))
    assert handle.state == "running"
    start = time.monotonic()
    assert handle.cancel() is True
    with pytest.raises(FitCancelled, match="cancelled"):
        handle.result(timeout=1)
    deadline = time.monotonic() + 5
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _gone(worker), "the cancelled job's worker still runs"
    assert time.monotonic() - start < 2.0
    assert handle.cancel() is False  # nothing left to cancel
    assert pool.submit(pool_jobs.add, 2, 2).result(timeout=10) == 4


def test_cancel_removes_a_queued_job(pool, tmp_path):
    notes = [tmp_path / "a", tmp_path / "b"]
    busy = [pool.submit(pool_jobs.sleep_and_note, 30, str(n)) for n in notes]
    for note in notes:
        _wait_for_file(note)  # both workers are busy now
    tally = tmp_path / "tally"
    queued = pool.submit(pool_jobs.count_and_sleep, 0, str(tally), 1)
    assert queued.state == "queued"
    assert queued.cancel() is True
    with pytest.raises(FitCancelled):
        queued.result(timeout=1)
    for handle in busy:
        handle.cancel()
    assert pool.submit(pool_jobs.add, 3, 3).result(timeout=10) == 6
    assert not tally.exists(), "a cancelled queued job ran"


def test_a_job_past_the_memory_limit_gets_the_memory_error(pool):
    with pytest.raises(FitOutOfMemory, match=r"^The fit ran out of memory \(each fit may use"):
        pool.submit(pool_jobs.allocate, 2 * MEMORY_LIMIT).result(timeout=20)
    assert pool.submit(pool_jobs.allocate, 1000).result(timeout=10) == 1000


@pytest.mark.parametrize(
    ("job", "args", "how"),
    [
        (pool_jobs.kill_self, (), "killed by signal SIGKILL"),
        (pool_jobs.exit_now, (3,), "exited with code 3"),
        (pool_jobs.segfault, (), "killed by signal SIGSEGV"),
    ],
)
def test_a_crashed_worker_gives_the_crash_error_and_is_replaced(pool, tmp_path, job, args, how):
    with pytest.raises(FitCrashed, match=r"^The fit ran out of memory or crashed") as error:
        pool.submit(job, *args).result(timeout=20)
    assert how in str(error.value)
    # One worker died; both serve again: two overlapping jobs run in two processes.
    pair = [pool.submit(pool_jobs.sleep_and_note, 0.3, str(tmp_path / f"{i}")) for i in (1, 2)]
    pids = {handle.result(timeout=20) for handle in pair}
    assert len(pids) == 2


def test_the_same_key_from_ten_threads_runs_once(pool, tmp_path):
    tally = tmp_path / "tally"
    barrier = threading.Barrier(10)
    results: list[object] = [None] * 10

    def caller(i: int) -> None:
        barrier.wait()
        handle = pool.submit(pool_jobs.count_and_sleep, 0.5, str(tally), 21, key="same")
        results[i] = handle.result(timeout=20)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == [42] * 10
    assert len(tally.read_text().splitlines()) == 1
    # Just after, the same key joins the finished job (a caller back from a rerun)...
    assert pool.submit(pool_jobs.count_and_sleep, 0, str(tally), 1, key="same").result(10) == 42
    assert len(tally.read_text().splitlines()) == 1
    # ... and once it has lingered long enough, the key runs the job again.
    time.sleep(LINGER + 0.1)
    assert pool.submit(pool_jobs.count_and_sleep, 0, str(tally), 1, key="same").result(10) == 2
    assert len(tally.read_text().splitlines()) == 2


def test_a_cancelled_job_does_not_linger(pool, tmp_path):
    tally = tmp_path / "tally"
    note = tmp_path / "pid"
    first = pool.submit(pool_jobs.sleep_and_note, 30, str(note), key="cancel-then-again")
    _wait_for_file(note)
    first.cancel()
    again = pool.submit(pool_jobs.count_and_sleep, 0, str(tally), 5, key="cancel-then-again")
    assert again.result(timeout=10) == 10


def test_one_caller_cancelling_a_shared_job_leaves_it_to_the_other(pool, tmp_path):
    tally = tmp_path / "tally"
    first = pool.submit(pool_jobs.count_and_sleep, 1.0, str(tally), 4, key="shared")
    second = pool.submit(pool_jobs.count_and_sleep, 1.0, str(tally), 4, key="shared")
    assert first.cancel() is True
    with pytest.raises(FitCancelled):
        first.result(timeout=1)
    assert second.result(timeout=10) == 8
    assert len(tally.read_text().splitlines()) == 1


def test_many_threads_with_different_jobs(pool):
    results: dict[int, object] = {}

    def caller(i: int) -> None:
        results[i] = pool.submit(pool_jobs.add, i, i, key=("add", i)).result(timeout=30)

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=40)
    assert results == {i: 2 * i for i in range(20)}


def test_pool_errors_are_fit_errors():
    for error in (FitTimeout, FitOutOfMemory, FitCrashed, FitCancelled, PoolClosed):
        assert issubclass(error, FitError) and issubclass(error, ExplorerError)


def test_a_job_must_be_importable(pool):
    with pytest.raises(TypeError, match="top level of an importable module"):
        pool.submit(lambda: 1)
    with pytest.raises(TypeError, match="package.module:function"):
        pool.submit("os.getpid")


def test_close_fails_queued_jobs_and_refuses_new_ones(tmp_path):
    small = FitPool(1, time_limit=20, memory_limit=MEMORY_LIMIT, start_method="spawn", preload=())
    small.wait_ready(timeout=60)
    note = tmp_path / "pid"
    running = small.submit(pool_jobs.sleep_and_note, 30, str(note))
    worker = int(_wait_for_file(note))
    queued = small.submit(pool_jobs.add, 1, 2)
    small.close()
    for handle in (running, queued):
        with pytest.raises(PoolClosed):
            handle.result(timeout=5)
    assert _gone(worker)
    with pytest.raises(PoolClosed):
        small.submit(pool_jobs.add, 1, 2)


def test_workers_do_not_run_the_parents_main_script(tmp_path, monkeypatch):
    # Streamlit runs a page as the module __main__ with the page's __file__; a worker
    # that re-imported it would run the page. Here "the page" leaves a mark if run.
    marker = tmp_path / "page-ran"
    page = tmp_path / "page.py"
    page.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    fake_main = types.ModuleType("__main__")
    fake_main.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", fake_main)
    for method in ("forkserver", "spawn"):
        with FitPool(1, start_method=method, preload=()) as fresh:
            assert fresh.submit(pool_jobs.add, 1, 2).result(timeout=60) == 3
            with pytest.raises(FitCrashed):  # and a replacement worker, started later
                fresh.submit(pool_jobs.exit_now, 1).result(timeout=60)
            assert fresh.submit(pool_jobs.add, 2, 2).result(timeout=60) == 4
    assert not marker.exists()


def test_waiting_for_a_running_job_does_not_join_it(pool, tmp_path):
    """``finishing`` (what a page waits on out of turn, ``ui.serve``) never submits, and
    the waiter is not one of the job's callers: their Cancel still stops it."""
    key = ("running", str(tmp_path))
    assert pool.finishing(key) is None  # nothing submitted
    note = tmp_path / "pid"
    handle = pool.submit(pool_jobs.sleep_and_note, 30, str(note), key=key)
    worker = int(_wait_for_file(note))
    done = pool.finishing(key)
    assert done is not None and not done.wait(0.05)  # still running after the wait
    assert handle.cancel() is True
    deadline = time.monotonic() + 5
    while not _gone(worker) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _gone(worker), "a waiter kept the cancelled job alive"
    assert done.is_set() and pool.finishing(key) is None
