"""The Explore page: the tutorial's first figures and the table of group means."""

from __future__ import annotations

import numpy as np
import streamlit as st

from lib.charts import histogram as chart_histogram
from lib.charts import readable as chart_readable
from lib.charts import style as chart_style
from lib.errors import ExplorerError
from lib.explore.rates import rates_table
from lib.model.levels import factor_label, level_factors
from lib.model.response import ResponseFamily
from lib.present import summary
from lib.present.markdown import md
from lib.present.numbers import num
from ui import big, cache, family_widgets, glmm_cache, presentation, render, state
from ui.sidebar import Selection, show_error

MAX_FACETS = 12


def draw(sel: Selection) -> None:
    roles = sel.roles
    presentation.heading(
        "Explore",
        sel,
        subtitle=f"**{md(roles.outcome)}** by **{md(roles.group)}**: {md(sel.title)}",
    )
    _body(sel)


@st.fragment
def _body(sel: Selection) -> None:
    """Everything below the title. A fragment: its controls ("Show groups of", "Bin
    width") rerun only these panels, not the sidebar."""
    factor = _view_by(sel)
    family = family_widgets.current()
    if family.generalized:  # issue 16: proportions or mean counts instead of means
        _rates(sel, family, factor)
        return
    try:
        if _whole(sel, factor):
            groups = big.group_summary(sel.big, sel.roles.outcome, factor[0])
        else:
            groups = cache.group_summary_by(sel.source, sel.roles.outcome, factor, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    if sel.big is not None:
        if _whole(sel, factor):
            big.note(
                sel,
                f"Histograms and group means count all {sel.big.n_rows:,} rows (DuckDB); "
                "the scatter plot shows points from {sample}.",
            )
        else:
            big.note(sel, "Groups of several columns are drawn from {sample}.")
    _histograms(sel, groups, factor)
    _means(groups)
    _scatter(sel, groups, factor)


def _whole(sel: Selection, factor: tuple[str, ...]) -> bool:
    """Summarise every row of a large upload (DuckDB groups by one column)."""
    return sel.big is not None and len(factor) == 1


def _view_by(sel: Selection) -> tuple[str, ...]:
    """The grouping factor the page is drawn by: a selectbox when there are several levels.

    The options are each level's factor as the model codes it (``class:school``
    when class is nested in school) and, for a nested level, its column on its
    own, which pools groups that share a label (the view that shows why nesting
    matters).
    """
    roles = sel.roles
    factors = level_factors(roles.group, roles.levels)
    options = {":".join(f): f for f in factors}
    words = {":".join(f): factor_label(f) for f in factors}
    for f in factors:
        if len(f) > 1 and f[0] not in options:
            options[f[0]] = (f[0],)
            words[f[0]] = f"{f[0]} alone (same labels pooled across {factor_label(f[1:])})"
    names = list(options)
    state.keep((state.EXPLORE_BY,))
    if st.session_state.get(state.EXPLORE_BY) not in names:
        st.session_state[state.EXPLORE_BY] = names[0]  # set here, so no index= below
    if len(names) == 1:
        return options[names[0]]
    name = st.selectbox(
        "Show groups of",
        names,
        key=state.EXPLORE_BY,
        format_func=lambda n: words[n],
        help="The grouping level that the histograms, means and colours below are drawn by.",
    )
    state.write_url({state.EXPLORE_BY: name}, {state.EXPLORE_BY: names[0]})
    return options[name]


def _histograms(sel: Selection, groups, factor: tuple[str, ...]) -> None:  # noqa: ANN001
    y, g = sel.roles.outcome, ":".join(factor)
    if _whole(sel, factor):
        try:
            low, high = big.value_range(sel.big, y)
        except ExplorerError as exc:
            show_error(exc)
            return
    else:
        values = sel.frame[y].to_numpy(dtype=float, na_value=np.nan)
        values = values[np.isfinite(values)]
        low, high = float(values.min()), float(values.max())
    choices, default = chart_histogram.binwidth_choices(low, high)
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
        if _whole(sel, factor):
            hist = big.histogram(sel.big, y, factor[0], float(width))
        else:
            hist = cache.histogram_by(sel.source, y, factor, float(width), sel.frame)
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
        chart_histogram.histogram_bins(hist),
        y,
        title=f"Histogram of {y} across all groups",
        note=note,
    )
    render.chart(overall, f"Histogram of {y}")
    shown = chart_readable.pick_groups(groups.levels, groups.n, MAX_FACETS)
    facet_note = note
    if len(shown) < len(groups.levels):
        facet_note += f"; the {len(shown)} largest of {len(groups.levels):,} groups"
    by_group = cache.chart_spec(
        "histogram",
        chart_histogram.histogram_bins(hist, shown),
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


def _scatter(sel: Selection, groups, factor: tuple[str, ...]) -> None:  # noqa: ANN001
    roles = sel.roles
    x = roles.predictor
    g = ":".join(factor)
    if x is None:
        st.info("Choose a numeric predictor in the sidebar to see the scatter plot.")
        return
    st.subheader(f"{md(roles.outcome)} against {md(x)}, by {md(g)}")
    points, sampled = cache.sample_factor(
        sel.source, (roles.outcome, x), factor, chart_style.MAX_MARKS, sel.frame
    )
    note = f"random sample of {len(points):,} rows, stratified by group" if sampled else None
    if sel.big is not None and sel.big.data.sampled:
        note = f"{len(points):,} of {sel.big.n_rows:,} rows, drawn at random"
    spec = cache.chart_spec(
        "scatter",
        points,
        x,
        roles.outcome,
        g,
        levels=list(groups.levels),
        title=f"Association of {x} and {roles.outcome}",
        note=note,
    )
    render.chart(spec, f"Scatter of {roles.outcome} against {x}, coloured by {g}")
    shown = (
        "colour and shape show its group"
        if len(groups.levels) <= chart_style.MAX_LEGEND_GROUPS
        else "the largest groups are in colour and shape, the others grey"
    )
    render.meaning(
        f"Each point is one observation; {shown}. If the groups form separate bands, a "
        "single regression line would hide the differences between groups."
    )


def _rates(sel: Selection, family: ResponseFamily, factor: tuple[str, ...]) -> None:
    """A binomial outcome's proportion per group, or a count's mean (and variance)."""
    roles = sel.roles
    binomial = family.family == "binomial"
    what = "Proportions" if binomial else "Mean counts"
    if sel.big is not None:
        big.note(sel, "Proportions and counts here are those of {sample}.")
    try:
        rates = glmm_cache.group_rates(
            sel.source, roles.outcome, factor, repr(family), family, sel.frame
        )
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    g = md(rates.group)
    st.subheader(f"{what} per {g}")
    if family.trials:
        rate_title = f"proportion of successes ({roles.outcome})"
    else:
        rate_title = f"proportion of {roles.outcome} = {family.success or 1}"
    kwargs = {
        "levels": list(rates.levels),
        "sizes": rates.n,
        "observed": rates.rate,
        "overall": rates.overall,
        "proportion": binomial,
        "group_title": rates.group,
        "rate_title": rate_title if binomial else f"mean count of {roles.outcome}",
        "title": "",
        "note": None,
    }
    key = repr((sel.source, roles.outcome, factor, repr(family), "explore"))
    render.chart(glmm_cache.rate_chart(key, kwargs), f"{what} of {roles.outcome} per group")
    st.caption("Dashed line: all rows together. Circle size: rows in the group.")
    render.table(rates_table(rates), "group_rates", show_index=False, height=300)
    rate = np.asarray(rates.rate)
    hi, lo = int(np.nanargmax(rate)), int(np.nanargmin(rate))
    word = "proportion" if binomial else "mean count"
    text = (
        f"{_level(g, rates.levels[hi])} has the highest {word} ({num(rate[hi])}), "
        f"{_level(g, rates.levels[lo])} the lowest ({num(rate[lo])}); over all rows it is "
        f"{num(rates.overall)}. "
    )
    if binomial:
        text += (
            "A group with few rows can sit at 0 or 1 by chance: the mixed model pulls such "
            "proportions towards the overall one (the Pooling page shows how far)."
        )
    else:
        var = np.asarray(rates.variance)
        ratio = np.nanmean(var / np.where(rate > 0, rate, np.nan))
        text += (
            f"A Poisson model takes each group's variance to equal its mean; here the variance "
            f"is on average {num(ratio, 2)} times the mean"
            + (" (counts vary more than Poisson: overdispersion)." if ratio > 1.5 else ".")
        )
    render.meaning(text)


def _level(group: str, level: str) -> str:
    """A group in a sentence: "district 3" for a bare number, "class 3A" as it is."""
    text = md(level)
    return f"{group} {text}" if str(level).replace(".", "").isdigit() else text
