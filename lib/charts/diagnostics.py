"""Altair specs of the diagnostic plots (pure; the data come from ``lib.lmm.diagnostics``).

Never more than ``MAX_MARKS`` marks: residual scatters show a random sample of rows
drawn with a fixed seed (the same rows on every run); QQ plots are computed on every
value and then show evenly spaced ranks, always including both ends. The subtitle
says when either happened. Colours: Okabe-Ito blue points, vermillion reference
lines drawn dashed (colour is never the only cue).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import HEIGHT, MAX_MARKS, OKABE_ITO, SINGLE_COLOUR, chart_title, configure
from lib.lmm.diagnostics import QQ

LINE_COLOUR = OKABE_ITO[5]  # vermillion
SEED = 20240607  # fixed: the same sample on every run
ROLE = "diagnostics"  # in Vega-Lite's usermeta: tells these charts from the others (a
# description would clash with the alt text Streamlit sets, and log a warning per chart)
# Two panels of 175 px a row fit the 449 px column at 1024 px (sidebar open); three of
# 190 px ran 215 px past it.
FACET_COLUMNS = 2
FACET_WIDTH = 175
FACET_HEIGHT = 150


def sample_rows(n: int, max_rows: int = MAX_MARKS) -> np.ndarray:
    """Indices of at most ``max_rows`` of ``n`` rows: all, or a fixed-seed random sample
    (sorted)."""
    if n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(SEED)
    return np.sort(rng.choice(n, size=max_rows, replace=False))


def even_ranks(n: int, max_points: int = MAX_MARKS) -> np.ndarray:
    """At most ``max_points`` evenly spaced ranks of ``n`` sorted values, both ends kept."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, max_points)).astype(int))


def _sample_note(shown: int, n: int, what: str = "rows") -> str | None:
    if shown >= n:
        return None
    return f"random sample of {shown:,} of {n:,} {what} (fixed seed)"


def residuals_fitted_chart(
    fitted: np.ndarray, scaled: np.ndarray, *, title: str, note: str | None = None
) -> alt.TopLevelMixin:
    """Scaled residuals against fitted values, with lines at 0 and ±2."""
    idx = sample_rows(len(fitted), MAX_MARKS - 3)
    data = pd.DataFrame({"fitted": np.asarray(fitted)[idx], "resid": np.asarray(scaled)[idx]})
    notes = [n for n in (_sample_note(len(idx), len(fitted)), note) if n]
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=70, opacity=0.6, color=SINGLE_COLOUR)
        .encode(
            x=alt.X("fitted:Q", title="fitted value", scale=alt.Scale(zero=False)),
            y=alt.Y("resid:Q", title="scaled residual"),
            tooltip=[alt.Tooltip("fitted:Q", format=",.4~g"), alt.Tooltip("resid:Q", format=".3f")],
        )
    )
    rules = (
        alt.Chart(pd.DataFrame({"y": [-2.0, 0.0, 2.0]}))
        .mark_rule(color=LINE_COLOUR, strokeDash=[8, 5], strokeWidth=2)
        .encode(y=alt.Y("y:Q"))
    )
    chart = alt.layer(points, rules).properties(
        width="container", height=HEIGHT, title=chart_title(title, "; ".join(notes) or None)
    )
    return configure(chart.properties(usermeta={"role": ROLE}))


def residuals_by_group_chart(
    fitted: np.ndarray,
    scaled: np.ndarray,
    labels: np.ndarray,
    groups: Sequence[str],
    *,
    group_title: str,
    title: str,
    note: str | None = None,
) -> alt.TopLevelMixin:
    """One small residuals-vs-fitted panel per group in ``groups`` (lme4's
    ``plot(fit, resid(.) ~ fitted(.) | g)``)."""
    keep = np.isin(labels.astype(str), [str(g) for g in groups])
    rows = np.flatnonzero(keep)
    idx = rows[sample_rows(len(rows), MAX_MARKS - 1)]
    data = pd.DataFrame(
        {
            "fitted": np.asarray(fitted)[idx],
            "resid": np.asarray(scaled)[idx],
            "group": labels[idx].astype(str),
        }
    )
    notes = [n for n in (_sample_note(len(idx), len(rows)), note) if n]
    base = alt.Chart()
    points = base.mark_point(filled=True, size=45, opacity=0.6, color=SINGLE_COLOUR).encode(
        x=alt.X(
            "fitted:Q",
            title="fitted value",
            scale=alt.Scale(zero=False),
            axis=alt.Axis(tickCount=4, labelOverlap=True),
        ),
        y=alt.Y("resid:Q", title="scaled residual"),
    )
    zero = base.mark_rule(color=LINE_COLOUR, strokeDash=[8, 5], strokeWidth=2).encode(
        y=alt.YDatum(0)
    )
    chart = (
        alt.layer(points, zero, data=data)
        .properties(width=FACET_WIDTH, height=FACET_HEIGHT)
        .facet(
            facet=alt.Facet("group:N", title=group_title, sort=[str(g) for g in groups]),
            columns=FACET_COLUMNS,
        )
        # Each panel its own x axis: no axis under the empty cell of an odd count.
        .resolve_axis(x="independent")
        .properties(title=chart_title(title, "; ".join(notes) or None))
    )
    return configure(chart.properties(usermeta={"role": ROLE}))


def qq_chart(
    q: QQ,
    *,
    title: str,
    y_title: str,
    labels: Sequence[str] | None = None,
    note: str | None = None,
) -> alt.TopLevelMixin:
    """Normal QQ plot with R's ``qqline``; ``labels`` (one per input value) become
    tooltips (the group of a random effect)."""
    ranks = even_ranks(q.n, MAX_MARKS - 2)
    data = pd.DataFrame({"theoretical": q.theoretical[ranks], "sample": q.sample[ranks]})
    tooltip = [
        alt.Tooltip("theoretical:Q", title="normal quantile", format=".3f"),
        alt.Tooltip("sample:Q", title=y_title, format=",.4~g"),
    ]
    if labels is not None:
        data["label"] = [str(labels[i]) for i in q.order[ranks]]
        tooltip.insert(0, alt.Tooltip("label:N", title="group"))
    notes = []
    if len(ranks) < q.n:
        notes.append(f"{len(ranks):,} of {q.n:,} points shown, evenly spaced by rank")
    if note:
        notes.append(note)
    points = (
        alt.Chart(data)
        .mark_point(filled=True, size=80, opacity=0.7, color=SINGLE_COLOUR)
        .encode(
            x=alt.X("theoretical:Q", title="standard normal quantile"),
            y=alt.Y("sample:Q", title=y_title, scale=alt.Scale(zero=False)),
            tooltip=tooltip,
        )
    )
    layers = [points]
    if q.n >= 2 and np.isfinite(q.line_slope):
        lo, hi = float(q.theoretical[0]), float(q.theoretical[-1])
        line = pd.DataFrame(
            {
                "theoretical": [lo, hi],
                "sample": [
                    q.line_intercept + q.line_slope * lo,
                    q.line_intercept + q.line_slope * hi,
                ],
            }
        )
        layers.append(
            alt.Chart(line)
            .mark_line(color=LINE_COLOUR, strokeDash=[8, 5], strokeWidth=3)
            .encode(x=alt.X("theoretical:Q"), y=alt.Y("sample:Q"))
        )
    chart = alt.layer(*layers).properties(
        width="container", height=HEIGHT, title=chart_title(title, "; ".join(notes) or None)
    )
    return configure(chart.properties(usermeta={"role": ROLE}))
