"""Model page: confidence intervals (lme4's ``confint()``) for the summary tables.

Wald intervals of the fixed effects are always shown (they cost nothing). Profile
likelihood and parametric bootstrap intervals of every parameter run on a click:

- profile intervals run in the fit pool (``ui.serve``: a Cancel button while they
  run) and are cached per data, model and level for every session;
- the bootstrap runs in steps in the page's own script run (``BootstrapRun``), with a
  progress bar and a Stop button between steps; between steps the pages waiting for the
  server's turn run (``ui.turn.pass_turn``). A click on Stop (or any widget)
  interrupts the run at the next step; the refits done are kept in the session,
  so a Stop gives the intervals of those and another widget resumes the run. The
  samples are kept per data, model, number of refits and seed, so changing the level
  only recomputes percentiles.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from functools import partial

import streamlit as st

from lib.errors import ExplorerError
from lib.lmm import LmmFit
from lib.lmm.bootstrap import BootstrapRun
from lib.lmm.intervals import Intervals, wald_intervals
from lib.model.design import build_design
from lib.present import confint
from lib.table.export import csv_bytes
from ui import cache, render, serve, turn
from ui.sidebar import Selection, show_error

JOB_PROFILE = "lib.serve.jobs:profile_intervals"
METHOD_LABELS = {
    "wald": "Wald (fixed effects)",
    "profile": "Profile likelihood",
    "boot": "Parametric bootstrap",
}
METHOD_KEY = "ci_method"
LEVEL_KEY = "ci_level"
NSIM_KEY = "ci_nsim"
SEED_KEY = "ci_seed"
RUN_KEY = "_ci_run"  # {model key: BootstrapRun} of this session
ACTIVE_KEY = "_ci_boot_active"  # the run key the page is stepping, while it runs
STOP_KEY = "_ci_boot_stopped"  # the run keys the user stopped
COMPUTED_KEY = "_ci_computed"  # {model key: {method: Intervals}} shown in this session
PROFILE_ASKED = "_ci_profile_asked"  # (model key, level) pairs asked for by a click
DEFAULT_NSIM = 1000
STEP_SECONDS = 0.25  # work between two progress updates (a Stop is seen this quickly)
MAX_RUNS = 2  # bootstrap runs kept per session (each holds its model's design)


@dataclass(frozen=True)
class Shown:
    """The intervals the tables show: Wald always, and profile/bootstrap when computed."""

    wald: Intervals
    chosen: Intervals | None  # the profile or bootstrap result, if computed

    @property
    def table(self) -> Intervals:
        """The intervals in the table columns: the chosen method's, else Wald's."""
        return self.chosen if self.chosen is not None else self.wald


def draw(sel: Selection, fit: LmmFit) -> Shown:
    """The method and level controls (and a run button); returns what the tables show."""
    st.subheader("Confidence intervals")
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
        method = st.radio(
            "Method",
            list(METHOD_LABELS),
            format_func=METHOD_LABELS.get,
            key=METHOD_KEY,
            horizontal=True,
            help="Wald: estimate ± z × SE, fixed effects only. Profile likelihood: "
            "every parameter, as lme4's confint(). Parametric bootstrap: percentiles "
            "of refits of outcomes simulated from the fit (lme4's bootMer).",
        )
        percent = st.number_input(
            "Level (%)",
            min_value=50.0,
            max_value=99.9,
            value=95.0,
            step=5.0,
            key=LEVEL_KEY,
            width=150,
        )
    level = round(float(percent), 4) / 100.0
    wald = wald_intervals(fit, level)
    chosen = None
    if method != "wald" and sel.big is not None:
        st.caption(
            "Profile and bootstrap intervals need the rows in memory; a large upload is "
            "fitted by DuckDB, so only Wald intervals are shown."
        )
    elif method == "profile":
        chosen = _profile(sel, fit, level)
    elif method == "boot":
        chosen = _bootstrap(sel, fit, level)
    shown = Shown(wald, chosen)
    if chosen is not None:  # for the report (``computed``)
        st.session_state.setdefault(COMPUTED_KEY, {}).setdefault(_model_key(sel, fit), {})[
            method
        ] = chosen
    st.caption(confint.describe(shown.table) + ".")
    return shown


def computed(sel: Selection, fit: LmmFit) -> tuple[Intervals, ...]:
    """The profile and bootstrap intervals this session has seen for this model (the
    latest of each method), for the report."""
    found = st.session_state.get(COMPUTED_KEY, {}).get(_model_key(sel, fit), {})
    return tuple(found[m] for m in ("profile", "boot") if m in found)


def _model_key(sel: Selection, fit: LmmFit) -> tuple[str, str]:
    return (sel.source, repr(fit.spec))


def _profile(sel: Selection, fit: LmmFit, level: float) -> Intervals | None:
    key = (*_model_key(sel, fit), level)
    asked = st.session_state.setdefault(PROFILE_ASKED, set())
    if key not in asked:
        st.button(
            "Compute profile intervals",
            key="_ci_profile_run",
            on_click=asked.add,
            args=(key,),
            icon=":material/play_arrow:",
        )
        return None
    try:
        return serve.wait_for(
            lambda: serve.settle(_profile_cached(*key, fit.spec, fit, sel.frame)),
            ("profile", *key),
            what="Computing profile intervals",
        )
    except ExplorerError as exc:
        show_error(exc)
        return None


@st.cache_data(max_entries=64, ttl=cache.TTL, show_spinner=False)
def _profile_cached(
    source: str, spec_key: str, level: float, _spec: object, _fit: LmmFit, _frame: object
) -> Intervals | serve.Failed:
    return serve.run_job(
        JOB_PROFILE, _frame, _spec, _fit, level, key=("profile", source, spec_key, level)
    )


def _bootstrap(sel: Selection, fit: LmmFit, level: float) -> Intervals | None:
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
        nsim = int(
            st.number_input(
                "Refits", min_value=100, max_value=10_000, value=DEFAULT_NSIM, step=100,
                key=NSIM_KEY, width=180,
            )
        )  # fmt: skip
        seed = int(st.number_input("Seed", min_value=0, value=1, step=1, key=SEED_KEY, width=150))
    key = (*_model_key(sel, fit), nsim, seed)
    active = st.session_state.get(ACTIVE_KEY) == key
    run = st.session_state.setdefault(RUN_KEY, {}).get(key)
    if active:
        try:
            run = ensure_run(sel, fit, key)
        except ExplorerError as exc:
            show_error(exc)
            return None
        _step_until_done(run, key)
    if run is None:
        st.button(
            "Run bootstrap", key="_ci_boot_run", on_click=_start, args=(key,),
            icon=":material/play_arrow:",
        )  # fmt: skip
        return None
    if not run.finished:
        st.button(
            f"Resume ({run.done:,} of {run.nsim:,} done)", key="_ci_boot_run", on_click=_start,
            args=(key,), icon=":material/play_arrow:",
        )  # fmt: skip
    return run.intervals(level) if run.done else None


def _start(key: tuple) -> None:
    st.session_state[ACTIVE_KEY] = key
    st.session_state.get(STOP_KEY, set()).discard(key)


def _stop(key: tuple) -> None:
    st.session_state.setdefault(STOP_KEY, set()).add(key)
    st.session_state.pop(ACTIVE_KEY, None)


def ensure_run(sel: Selection, fit: LmmFit, key: tuple) -> BootstrapRun:
    """The session's run for ``key`` (made on first use: the design is built here)."""
    runs = st.session_state.setdefault(RUN_KEY, {})
    if key not in runs:
        while len(runs) >= MAX_RUNS:  # the oldest goes (dicts keep insertion order)
            runs.pop(next(iter(runs)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lme4's rank message is on the page already
            design = build_design(sel.frame, fit.spec)
        runs[key] = BootstrapRun(fit, design, nsim=key[-2], seed=key[-1])
    return runs[key]


def _step_until_done(run: BootstrapRun, key: tuple) -> None:
    slot = st.empty()
    with slot.container():
        st.button("Stop", key="_ci_boot_stop", on_click=_stop, args=(key,), icon=":material/stop:")
        bar = st.progress(run.done / run.nsim, text=_progress_text(run))
    stop = st.session_state.get(STOP_KEY, set())
    while not run.finished and key not in stop:
        start = time.monotonic()
        while not run.finished and time.monotonic() - start < STEP_SECONDS:
            run.step(1)
        # Each update is a point where a click on Stop interrupts this run.
        bar.progress(run.done / run.nsim, text=_progress_text(run))
        turn.pass_turn()  # the pages waiting for the turn run between two steps
    st.session_state.pop(ACTIVE_KEY, None)
    slot.empty()


def _progress_text(run: BootstrapRun) -> str:
    text = f"Bootstrap: {run.done:,} of {run.nsim:,} refits"
    if not run.done:
        return text
    left = run.seconds / run.done * (run.nsim - run.done)
    return f"{text}, about {left:,.0f} s left" if left >= 1 else text


def download(shown: Shown) -> None:
    """The intervals (broom.mixed's tidy columns) as CSV, made on click."""
    render.csv_download(
        "Intervals (CSV)",
        partial(_csv, shown.table),
        f"confint-{shown.table.method}",
        "download_confint",
    )


def _csv(result: Intervals) -> bytes:
    return csv_bytes(confint.tidy_frame(result), index=False)
