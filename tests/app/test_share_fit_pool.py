"""Fits through the server's fit pool (issue 17): same numbers, cached reruns never touch
the pool, a fit past its time limit says so and the page stays usable, a cancelled fit
waits for "Fit again"."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import open_app, plain

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.serve.fit_pool import FitPool
from lib.table.catalogue import load_bundled
from ui import cache, serve

DATA, MODEL = "pages/1_Data.py", "pages/3_Model.py"
SPEC = ModelSpec.one_factor("test_score", "school").with_changes(fixed=("study_time",))


def fresh_pool() -> None:
    """Close the server's pool and forget it and the cached fits (the next run makes a
    new pool from the environment)."""
    serve.fit_pool().close()
    serve.fit_pool.clear()
    cache.fit.clear()
    cache._anova.clear()


@pytest.fixture
def counted_submits(monkeypatch) -> list[object]:
    calls: list[object] = []
    submit = FitPool.submit

    def counting(self, job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        calls.append(kwargs.get("key"))
        return submit(self, job, *args, **kwargs)

    monkeypatch.setattr(FitPool, "submit", counting)
    return calls


def test_the_model_page_fits_in_the_pool_with_the_same_numbers(counted_submits):
    cache.fit.clear()
    at = open_app(MODEL)
    assert not at.exception
    assert counted_submits == [("fit", "bundled:schools", SPEC)]
    expected = fit_lmm(load_bundled("schools"), SPEC)
    shown = next(m for m in at.metric if m.label == "REML criterion")
    assert shown.value == f"{expected.criterion:.1f}"
    # Warm reruns are cache hits: the pool is not asked again.
    at.run()
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    at.sidebar.toggle(key="random_slope").set_value(False).run()
    assert not at.exception
    assert [key[2].formula() for key in counted_submits] == [
        "test_score ~ 1 + study_time + (1 | school)",
        "test_score ~ 1 + study_time + (1 + study_time | school)",
    ]


def test_a_fit_past_its_time_limit_says_so_and_the_page_stays_usable(monkeypatch):
    monkeypatch.setenv("EXPLORER_FIT_SECONDS", "1")
    monkeypatch.setenv("EXPLORER_TEST_SLOW_FIT", "4")  # every fit takes 4 s more
    fresh_pool()
    try:
        at = open_app(MODEL)
        assert not at.exception
        errors = [plain(e.value) for e in at.error]
        assert any("The fit took longer than 1 s and was stopped" in e for e in errors), errors
        # Still usable: another model is tried (and stopped) ...
        at.button(key="_preset_Null model").click().run()
        assert not at.exception
        assert any("took longer than 1 s" in plain(e.value) for e in at.error)
        # ... and pages without a fit work as before.
        at.switch_page(DATA).run()
        assert not at.exception
        assert any(m.label == "Rows" and m.value == "183" for m in at.metric)
    finally:
        monkeypatch.delenv("EXPLORER_FIT_SECONDS")
        monkeypatch.delenv("EXPLORER_TEST_SLOW_FIT")
        fresh_pool()


def test_a_cancelled_fit_waits_for_fit_again():
    at = open_app(MODEL)
    assert not at.exception
    at.session_state[serve.FIT_CANCELLED] = {("fit", "bundled:schools", SPEC)}
    at.run()
    assert not at.exception
    assert any("The fit was cancelled" in plain(e.value) for e in at.error)
    again = [b for b in at.button if b.label == "Fit again"]
    assert len(again) == 1
    again[0].click().run()
    assert not at.exception
    assert not at.error
    assert any(m.label == "REML criterion" for m in at.metric)


def test_the_same_fit_asked_by_many_sessions_at_once_runs_once(monkeypatch):
    """Five session threads ask for one uncached fit together: one job in the pool."""
    monkeypatch.setenv("EXPLORER_TEST_SLOW_FIT", "1.5")  # long enough for all to overlap
    jobs: set[int] = set()
    submit = FitPool.submit

    def recording(self, job, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        handle = submit(self, job, *args, **kwargs)
        jobs.add(id(handle._job))
        return handle

    monkeypatch.setattr(FitPool, "submit", recording)
    cache.fit.clear()
    frame = load_bundled("schools")
    spec = SPEC.with_changes(reml=False)
    with ThreadPoolExecutor(5) as threads:
        fits = list(threads.map(lambda _: cache.fit("bundled:schools", spec, frame), range(5)))
    assert len(jobs) == 1
    assert len({f.criterion for f in fits}) == 1
    assert fits[0].criterion == pytest.approx(fit_lmm(frame, spec).criterion, rel=1e-9)


def test_the_ladder_fits_in_the_pool_with_the_same_numbers(counted_submits):
    """The Ladder page's fits run in a worker (one job for the whole ladder), the numbers
    are lib's, and a warm rerun does not ask the pool again."""
    from lib.classroom import ladder as lib_ladder
    from ui import classroom_cache

    classroom_cache._ladder.clear()
    at = open_app("pages/6_Ladder.py")
    assert not at.exception
    ladder_keys = [key for key in counted_submits if key[0] == "ladder"]
    assert len(ladder_keys) == 1 and ladder_keys[0][1] == "bundled:schools"
    expected = lib_ladder.ladder(load_bundled("schools"), "test_score", "study_time", "school")
    got = classroom_cache.ladder(
        "bundled:schools", "test_score", "study_time", "school", True, (), (), None
    )
    assert [s.criterion for s in got.steps] == pytest.approx(
        [s.criterion for s in expected.steps], rel=1e-9, nan_ok=True
    )
    at.run()
    assert len([key for key in counted_submits if key[0] == "ladder"]) == 1


def test_a_ladder_past_its_time_limit_says_so(monkeypatch):
    monkeypatch.setenv("EXPLORER_FIT_SECONDS", "1")
    monkeypatch.setenv("EXPLORER_TEST_SLOW_FIT", "4")
    fresh_pool()
    from ui import classroom_cache

    classroom_cache._ladder.clear()
    try:
        at = open_app("pages/6_Ladder.py")
        assert not at.exception
        errors = [plain(e.value) for e in at.error]
        assert any("The fit took longer than 1 s and was stopped" in e for e in errors), errors
    finally:
        monkeypatch.delenv("EXPLORER_FIT_SECONDS")
        monkeypatch.delenv("EXPLORER_TEST_SLOW_FIT")
        fresh_pool()
        classroom_cache._ladder.clear()


def test_a_warm_rerun_draws_no_spinner(monkeypatch):
    """A finished fit is read without ``st.spinner`` (its placeholder element and timer
    thread cost every rerun of every session); a new fit still shows one."""
    import streamlit as st

    spinners: list[str] = []
    spinner = st.spinner

    def counting(text="", *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        spinners.append(text)
        return spinner(text, *args, **kwargs)

    monkeypatch.setattr(st, "spinner", counting)
    cache.fit.clear()
    at = open_app(MODEL)
    assert spinners == ["Fitting the model…"]
    at.run()
    assert spinners == ["Fitting the model…"]
    assert cache.finished_fit("bundled:schools", SPEC) is not None
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert spinners == ["Fitting the model…"] * 2
    assert not at.exception
