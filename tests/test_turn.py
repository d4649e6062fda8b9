"""ui.turn: page scripts run one at a time, a page waiting for a worker lets the next
one run, and no page can wait for its turn forever (docs/sharing.md)."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from streamlit.runtime.caching.cached_message_replay import in_cached_function

from ui import turn
from ui.sidebar import NAV

ROOT = Path(__file__).resolve().parents[1]


def _in_thread(target) -> threading.Thread:  # noqa: ANN001
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_pages_run_one_at_a_time():
    inside, most, lock = [0], [0], threading.Lock()

    def page() -> None:
        with turn.page_turn(wait_seconds=10):
            with lock:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.02)
            with lock:
                inside[0] -= 1

    threads = [_in_thread(page) for _ in range(8)]
    for thread in threads:
        thread.join(10)
    assert most[0] == 1
    assert not turn.holds_turn()


def test_the_turn_is_given_back_when_the_page_raises():
    try:
        with turn.page_turn():
            assert turn.holds_turn()
            raise RuntimeError("st.stop() raises through the page")
    except RuntimeError:
        pass
    assert not turn.holds_turn()
    with turn.page_turn(wait_seconds=0.1) as taken:
        assert taken


def test_a_page_waiting_for_a_worker_lets_the_next_page_run():
    waiting, second_ran = threading.Event(), threading.Event()

    def slow_page() -> None:
        with turn.page_turn():
            with turn.out_of_turn():
                waiting.set()
                assert second_ran.wait(5)  # the next page ran while this one waited

    def next_page() -> None:
        assert waiting.wait(5)
        with turn.page_turn(wait_seconds=5) as taken:
            assert taken
            second_ran.set()

    threads = [_in_thread(slow_page), _in_thread(next_page)]
    for thread in threads:
        thread.join(10)
    assert second_ran.is_set()


def test_after_waiting_a_page_takes_the_turn_back_only_if_it_is_free():
    states = {}

    def page() -> None:
        with turn.page_turn():
            with turn.out_of_turn():
                states["while waiting"] = turn.holds_turn()
            states["after"] = turn.holds_turn()

    thread = _in_thread(page)
    thread.join(5)
    assert states == {"while waiting": False, "after": True}


@pytest.mark.parametrize("marked_by", ["ui.memo", "st.cache_data"])
def test_no_deadlock_with_a_value_another_page_is_computing(marked_by):
    """The holder waits for a value (a memo key, a cache's compute lock) that a page out
    of turn is computing; that page must finish without waiting for the turn."""
    compute_lock = threading.Lock()
    worker_done, holder_has_turn = threading.Event(), threading.Event()
    finished: list[str] = []

    def computing_page() -> None:
        with turn.page_turn():
            with compute_lock, _marked(marked_by):  # the value's lock, as the app marks it
                with turn.out_of_turn():
                    assert holder_has_turn.wait(5)
                    worker_done.set()
                # the holder has the turn and waits for compute_lock: carry on anyway
                finished.append("computing page")

    def holder_page() -> None:
        time.sleep(0.05)
        with turn.page_turn(wait_seconds=5):
            holder_has_turn.set()
            with compute_lock:
                finished.append("holder")

    start = time.monotonic()
    threads = [_in_thread(computing_page), _in_thread(holder_page)]
    for thread in threads:
        thread.join(10)
    assert finished == ["computing page", "holder"]
    assert time.monotonic() - start < 1.0  # no wait for a time-out


@contextmanager
def _marked(by: str) -> Iterator[None]:
    if by == "ui.memo":
        with turn.holding_lock():
            yield
    else:  # what Streamlit sets while a cached function runs
        token = in_cached_function.set(True)
        try:
            yield
        finally:
            in_cached_function.reset(token)


def test_after_waiting_outside_any_lock_a_page_queues_for_its_turn():
    """A page whose fit ran meanwhile takes its turn back behind the pages that came
    while it waited, and finishes in turn."""
    order: list[str] = []
    waiting, others_queued = threading.Event(), threading.Event()

    def waiting_page() -> None:
        with turn.page_turn():
            with turn.out_of_turn():
                waiting.set()
                assert others_queued.wait(5)
            order.append(f"back, in turn: {turn.holds_turn()}")

    def other_page(k: int) -> None:
        with turn.page_turn(wait_seconds=5):
            order.append(f"page {k}")
            time.sleep(0.05)

    threads = [_in_thread(waiting_page)]
    assert waiting.wait(5)
    threads += [_in_thread(lambda: other_page(1)), _in_thread(lambda: other_page(2))]
    time.sleep(0.02)  # page 1 holds the turn, page 2 waits for it
    others_queued.set()
    for thread in threads:
        thread.join(10)
    assert order == ["page 1", "page 2", "back, in turn: True"]


def test_a_page_that_holds_the_turn_too_long_delays_the_others_only_so_long():
    release = threading.Event()
    taken = []

    def stuck_page() -> None:
        with turn.page_turn():
            release.wait(5)

    stuck = _in_thread(stuck_page)
    time.sleep(0.05)
    start = time.monotonic()
    with turn.page_turn(wait_seconds=0.2) as got:
        taken.append(got)
        waited = time.monotonic() - start
    release.set()
    stuck.join(5)
    assert taken == [False]
    assert 0.15 < waited < 1.0


def test_waiting_pages_get_the_turn_in_the_order_they_came():
    order: list[int] = []
    first_in = threading.Event()

    def first() -> None:
        with turn.page_turn():
            first_in.set()
            time.sleep(0.3)  # the others queue up meanwhile

    def page(k: int) -> None:
        with turn.page_turn(wait_seconds=10):
            order.append(k)

    threads = [_in_thread(first)]
    assert first_in.wait(5)
    for k in range(6):
        threads.append(_in_thread(lambda k=k: page(k)))
        time.sleep(0.03)  # arrival order 0, 1, ..., 5
    for thread in threads:
        thread.join(10)
    assert order == list(range(6))


def test_a_long_loop_passes_the_turn_between_its_steps():
    """The bootstrap's loop: a page that arrives while it runs goes next, not after it."""
    steps: list[str] = []
    looping = threading.Event()

    def loop() -> None:
        with turn.page_turn():
            for k in range(5):
                if k == 1:
                    looping.set()
                    time.sleep(0.1)  # the other page queues up during this step
                steps.append(f"step {k}")
                turn.pass_turn()

    def page() -> None:
        assert looping.wait(5)
        with turn.page_turn(wait_seconds=5):
            steps.append("page")

    threads = [_in_thread(loop), _in_thread(page)]
    for thread in threads:
        thread.join(10)
    assert steps == ["step 0", "step 1", "page", "step 2", "step 3", "step 4"]


def test_every_page_runs_in_turn():
    """Each page file is one ``run_page`` call (ui.sidebar), which takes the turn."""
    for path, _label, _icon in NAV:
        tree = ast.parse((ROOT / path).read_text())
        calls = [
            node.value.func.id
            for node in tree.body
            if isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
        ]
        assert calls == ["run_page"], path
