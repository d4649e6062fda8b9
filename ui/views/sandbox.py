"""The Sandbox page: simulate grouped data many times and watch OLS's intervals fail.

Settings live in the URL (``sim_groups``, ``sim_size``, ``sim_icc``,
``sim_slope_sd``, ``sim_seed``), read once per session as ``ui.state`` does
for the sidebar; a value in a link that is out of range or unreadable is
ignored with a message that says so. A run is memoised in the session by its
settings (the seed makes it reproducible), so reruns cost nothing.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.charts import simulate as simulate_charts
from lib.classroom import simulate as sim
from lib.errors import ExplorerError
from lib.present.numbers import num, pct
from ui import cache, presentation, render, state
from ui.sidebar import show_error

# widget key = URL parameter -> (label, kind, default, min, max, step, help)
SLIDERS = {
    "sim_groups": ("Number of groups", int, 10, 3, 60, 1, "Schools, clinics, pigs…"),
    "sim_size": ("Rows per group", int, 20, 2, 100, 1, "Students per school."),
    "sim_icc": (
        "ICC (between-group share)",
        float,
        0.3,
        0.0,
        0.9,
        0.05,
        "Share of the outcome's variance that lies between groups.",
    ),
    "sim_slope_sd": (
        "SD of group slopes",
        float,
        0.0,
        0.0,
        1.0,
        0.05,
        "How much the slope varies between groups (the true overall slope is 0.5).",
    ),
    "sim_seed": ("Seed", int, 1, 0, 9999, 1, "Same seed, same data sets: a class sees the same."),
}
N_SIMS = 200
_SEEDED = "_sim_seeded"
_RUNS = "_sim_runs"
_IGNORED = "_sim_ignored"


def _seed_from_url() -> None:
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    ignored = []
    for key, (_label, kind, _default, lo, hi, _step, _help) in SLIDERS.items():
        raw = st.query_params.get(key)
        if raw is None:
            continue
        try:
            value = kind(float(raw)) if kind is int else float(raw)
        except ValueError:
            ignored.append(f"{key}={raw!r} is not a number")
            continue
        if not lo <= value <= hi:
            ignored.append(f"{key}={raw!r} is outside {lo}–{hi}")
            continue
        st.session_state[key] = value
    st.session_state[_IGNORED] = ignored


def settings() -> sim.SimSettings:
    """The sliders' current settings (drawn in the sidebar-free main area)."""
    _seed_from_url()
    state.keep(tuple(SLIDERS))
    # Rows of three: five sliders side by side are too narrow on a 1024 px projector.
    cols = st.columns(3) + st.columns(3)
    values = {}
    for col, (key, (label, kind, default, lo, hi, step, help_text)) in zip(
        cols, SLIDERS.items(), strict=False
    ):
        with col:
            if kind is int:
                values[key] = st.slider(
                    label, int(lo), int(hi), int(default), int(step), key=key, help=help_text
                )
            else:
                values[key] = st.slider(
                    label,
                    float(lo),
                    float(hi),
                    float(default),
                    float(step),
                    key=key,
                    help=help_text,
                )
    state.write_url(values, {k: v[2] for k, v in SLIDERS.items()})
    return sim.SimSettings(
        n_groups=int(values["sim_groups"]),
        group_size=int(values["sim_size"]),
        icc=float(values["sim_icc"]),
        slope_sd=float(values["sim_slope_sd"]),
        n_sims=N_SIMS,
        seed=int(values["sim_seed"]),
    )


def run(settings: sim.SimSettings) -> sim.SimResult:
    """The run for these settings: from this session's memo, or simulated in a fit worker."""
    runs = st.session_state.setdefault(_RUNS, {})
    if settings in runs:
        return runs[settings]
    # In a fit worker (ui.serve), not the server's process: a class that moves the
    # sliders together must not stall every other page. The same settings (a shared
    # seed) are simulated once for everyone.
    with st.spinner(f"Simulating and fitting {settings.n_sims} data sets…", show_time=True):
        result = cache.simulate(settings)
    if len(runs) >= 8:
        runs.pop(next(iter(runs)))
    runs[settings] = result
    return result


def summary_table(result: sim.SimResult) -> pd.DataFrame:
    """Statistics by row, methods by column (narrow enough for a projector)."""
    columns = {
        s.method: {
            "mean estimate": s.mean_estimate,
            "true SE (SD of estimates)": s.empirical_sd,
            "reported SE (mean)": s.mean_reported_se,
            "95% CI coverage": s.coverage,
        }
        for s in sim.summarise(result)
    }
    return pd.DataFrame(columns).rename_axis("statistic")


def meaning(result: sim.SimResult) -> str:
    ols, lmm = sim.summarise(result)
    ratio = ols.mean_reported_se / ols.empirical_sd
    verdict = (
        f"OLS reports a standard error of {num(ols.mean_reported_se)}, but its estimates "
        f"actually scatter with SD {num(ols.empirical_sd)}: its SE is only {pct(ratio)} of "
        "the real uncertainty"
        if ratio < 0.9
        else f"OLS's reported standard error ({num(ols.mean_reported_se)}) is close to the "
        f"real scatter of its estimates ({num(ols.empirical_sd)}) here"
    )
    return (
        f"{verdict}. Its 95% intervals held the true slope 0.5 in {pct(ols.coverage)} of the "
        f"{ols.n} data sets; the mixed model's in {pct(lmm.coverage)} (SE "
        f"{num(lmm.mean_reported_se)} against a true {num(lmm.empirical_sd)}). Rows of the same "
        "group are not independent: OLS counts them as if they were."
    )


def mixed_formula(slope_sd: float) -> str:
    """The mixed model the simulation fits (``lib.classroom.simulate``)."""
    return "y ~ x + (1 + x | g)" if slope_sd > 0 else "y ~ x + (1 | g)"


def draw(_sel: object = None) -> None:
    """The sandbox simulates its own data: the sidebar's selection is not used."""
    _seed_from_url()
    # The heading follows the settings: the sliders below keep their values in the session.
    slope_sd = float(st.session_state.get("sim_slope_sd", SLIDERS["sim_slope_sd"][2]))
    presentation.heading(
        "Simulation sandbox: why not just OLS?",
        None,
        subtitle=f"{N_SIMS} simulated data sets: `y ~ x` (OLS) against "
        f"`{mixed_formula(slope_sd)}`",
    )
    st.caption(
        f"Each run simulates {N_SIMS} data sets of grouped data with a true slope of 0.5, fits "
        "OLS (`y ~ x`) and the mixed model (`y ~ x + (1 | g)`, or `(1 + x | g)` when slopes "
        "vary) to each, and compares what they report with what actually happens."
    )
    ignored = st.session_state.get(_IGNORED) or []
    if ignored:
        st.info(
            "Some settings in the link were ignored: " + "; ".join(ignored) + ".",
            icon=":material/link_off:",
        )
    try:
        chosen = settings()
        result = run(chosen)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    ols, lmm = sim.summarise(result)
    render.metrics(
        [
            render.Metric(
                "OLS coverage", pct(ols.coverage), "Share of 95% intervals holding 0.5"
            ),
            render.Metric("Mixed coverage", pct(lmm.coverage)),
            render.Metric("Run time", f"{result.seconds:.1f} s"),
        ]
    )
    spec = simulate_charts.sampling_chart(
        result,
        title="Slope estimates across the simulated data sets",
        note="bars: estimates · shaded: the 95% range each method claims · dashes: true slope",
    ).to_dict(validate=False)
    render.chart(spec, "Histograms of the slope estimates of OLS and the mixed model")
    render.meaning(meaning(result))
    render.table(summary_table(result), "sandbox_summary", decimals={"95% CI coverage": 3})
    if result.n_failed:
        st.caption(f"The mixed model could not be fitted to {result.n_failed} data sets.")
