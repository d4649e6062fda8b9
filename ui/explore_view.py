"""The Explore page: the tutorial's first figures and the table of group means."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lib import charts, summary
from lib.errors import ExplorerError
from ui import cache, render, state
from ui.explain import num
from ui.render import md
from ui.sidebar import Selection, show_error

MAX_FACETS = 12


def draw(sel: Selection) -> None:
    st.title("Explore")
    roles = sel.roles
    y, g = roles.outcome, roles.group
    try:
        groups = cache.group_summary(sel.source, y, g, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    _histograms(sel, groups)
    _means(groups)
    _scatter(sel, groups)


def _histograms(sel: Selection, groups) -> None:  # noqa: ANN001 - GroupSummary
    y, g = sel.roles.outcome, sel.roles.group
    values = sel.frame[y].to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    choices, default = charts.binwidth_choices(float(values.min()), float(values.max()))
    state.keep((state.BINWIDTH,))
    if st.session_state.get(state.BINWIDTH, default) not in choices:
        st.session_state[state.BINWIDTH] = default  # another data set, or a link's odd value
    width = st.select_slider(
        "Bin width",
        options=choices,
        value=default,
        key=state.BINWIDTH,
        format_func=lambda v: f"{v:g}",
        help="Width of each bar, in units of the outcome (the tutorial uses 5 for scores).",
    )
    state.write_url({state.BINWIDTH: float(width)}, {state.BINWIDTH: default})
    try:
        hist = cache.histogram(sel.source, y, g, float(width), sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return
    note = f"bin width {hist.binwidth:g}"
    if hist.clamped:
        note += f" (widened from {width:g} to keep at most 60 bars)"
    if hist.n_dropped:
        note += f"; {hist.n_dropped:,} rows with missing values left out"
    st.subheader(f"Distribution of {md(y)}")
    overall = cache.chart_spec(
        "histogram",
        charts.histogram_bins(hist),
        y,
        title=f"Histogram of {y} across all groups",
        note=note,
    )
    render.chart(overall, f"Histogram of {y}")
    shown = charts.pick_groups(groups.levels, groups.n, MAX_FACETS)
    facet_note = note
    if len(shown) < len(groups.levels):
        facet_note += f"; the {len(shown)} largest of {len(groups.levels):,} groups"
    by_group = cache.chart_spec(
        "histogram",
        charts.histogram_bins(hist, shown),
        y,
        by_group=True,
        group_title=g,
        title=f"Histogram of {y} by {g}",
        note=facet_note,
    )
    render.chart(by_group, f"Histograms of {y}, one per group of {g}")


def _means(groups) -> None:  # noqa: ANN001 - GroupSummary
    st.subheader("Group means and standard deviations")
    table = summary.group_summary_table(groups).rename_axis(groups.group)
    render.table(table, "group_means", decimals={"Mean": 4, "SD": 4}, height=300)
    mean, sd = np.asarray(groups.mean), np.asarray(groups.sd)
    hi, lo = int(np.nanargmax(mean)), int(np.nanargmin(mean))
    text = (
        f"{md(groups.levels[hi])} has the highest mean {md(groups.outcome)} ({num(mean[hi])}), "
        f"{md(groups.levels[lo])} the lowest ({num(mean[lo])}): a difference of "
        f"{num(mean[hi] - mean[lo])}."
    )
    if np.isfinite(sd).any():
        s = int(np.nanargmax(sd))
        text += f" {md(groups.levels[s])} varies most within itself (SD {num(sd[s])})."
    text += (
        " Differences between group means that are large compared with the SDs within groups "
        "are what a multilevel model's random intercept captures."
    )
    render.meaning(text)


def _scatter(sel: Selection, groups) -> None:  # noqa: ANN001 - GroupSummary
    roles = sel.roles
    x = roles.predictor
    if x is None:
        st.info("Choose a numeric predictor in the sidebar to see the scatter plot.")
        return
    st.subheader(f"{md(roles.outcome)} against {md(x)}, by {md(roles.group)}")
    columns = (roles.outcome, x, roles.group)
    points, sampled = cache.sample(sel.source, columns, roles.group, charts.MAX_MARKS, sel.frame)
    note = f"random sample of {len(points):,} rows, stratified by group" if sampled else None
    spec = cache.chart_spec(
        "scatter",
        points,
        x,
        roles.outcome,
        roles.group,
        levels=list(groups.levels),
        title=f"Association of {x} and {roles.outcome}",
        note=note,
    )
    render.chart(spec, f"Scatter of {roles.outcome} against {x}, coloured by {roles.group}")
    render.meaning(
        "Each point is one observation; colour and shape show its group. If the groups form "
        "separate bands, a single regression line would hide the differences between groups."
    )
