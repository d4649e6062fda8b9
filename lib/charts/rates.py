"""Proportions and mean counts per group, one row per group (issue 16): the Explore
page's observed rates and the Pooling page's pull of each rate towards the population.

The pooling look of ``lib.charts.pooling``: no pooling (a group's own rate) hollow
vermillion circles, partial pooling (the mixed model's estimate) blue filled arrowheads
joined to them by a blue bar, complete pooling (the population) a black tick per row;
the overall rate a long-dashed black line. Colour is never the only cue.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import OKABE_ITO, OVERALL_DASH, chart_title, configure


def rate_rows_chart(
    levels: Sequence[str],
    sizes: Sequence[int],
    observed: Sequence[float],
    *,
    partial: Sequence[float] | None = None,
    population: Sequence[float] | None = None,
    overall: float | None = None,
    proportion: bool = True,
    group_title: str = "group",
    rate_title: str = "proportion",
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """One row per group (sorted by the model's estimate when given, else the observed
    rate): the observed rate, and with ``partial`` an arrow to the model's estimate and
    with ``population`` the fixed effects' estimate; ``overall`` as a dashed line.
    ``proportion``: the axis runs from 0 to 1."""
    data = pd.DataFrame(
        {
            "group": [str(v) for v in levels],
            "n": np.asarray(sizes, dtype=int),
            "observed": np.asarray(observed, dtype=float),
        }
    )
    if partial is not None:
        data["partial"] = np.asarray(partial, dtype=float)
        data["direction"] = np.where(
            data["partial"] >= data["observed"], "triangle-right", "triangle-left"
        )
    if population is not None:
        data["population"] = np.asarray(population, dtype=float)
    key = "partial" if partial is not None else "observed"
    scale = alt.Scale(domain=[0, 1]) if proportion else alt.Scale(zero=True)
    # Five labelled ticks: at 449 px eleven labels of a 0-1 axis ran together ("0.00.1").
    axis = (
        alt.Axis(values=[0, 0.25, 0.5, 0.75, 1], format=".2~f")
        if proportion
        else alt.Axis(tickCount=5)
    )
    y = alt.Y("group:N", title=group_title, sort=alt.EncodingSortField(key, order="ascending"))
    tooltip = [
        alt.Tooltip("group:N", title=group_title),
        alt.Tooltip("n:Q", title="rows"),
        alt.Tooltip("observed:Q", title=f"observed {rate_title}", format=".3f"),
    ]
    if partial is not None:
        tooltip.append(alt.Tooltip("partial:Q", title="model estimate", format=".3f"))
    if population is not None:
        tooltip.append(alt.Tooltip("population:Q", title="population", format=".3f"))
    base = alt.Chart().encode(y=y, tooltip=tooltip)
    size = alt.Size(
        "n:Q",
        title="rows in group",
        scale=alt.Scale(range=[60, 500]),
        legend=alt.Legend(orient="bottom", direction="horizontal", tickCount=4),
    )
    layers = []
    if partial is not None:
        layers.append(
            base.mark_rule(strokeWidth=3, color=OKABE_ITO[4]).encode(
                x=alt.X("observed:Q", title=rate_title, scale=scale, axis=axis),
                x2=alt.X2("partial:Q"),
            )
        )
    layers.append(
        base.mark_point(filled=False, strokeWidth=2.5, color=OKABE_ITO[5]).encode(
            x=alt.X("observed:Q", title=rate_title, scale=scale, axis=axis), size=size
        )
    )
    if partial is not None:
        layers.append(
            base.mark_point(filled=True, color=OKABE_ITO[4], size=140).encode(
                x=alt.X("partial:Q"), shape=alt.Shape("direction:N", scale=None)
            )
        )
    if population is not None:
        layers.append(
            base.mark_tick(color=OKABE_ITO[7], thickness=3, size=22).encode(x=alt.X("population:Q"))
        )
    chart = alt.layer(*layers, data=data)
    if overall is not None and np.isfinite(overall):
        rule = (
            alt.Chart(pd.DataFrame({"overall": [float(overall)]}))
            .mark_rule(strokeDash=list(OVERALL_DASH), strokeWidth=3, color=OKABE_ITO[7])
            .encode(
                x=alt.X("overall:Q"),
                tooltip=[alt.Tooltip("overall:Q", title="overall", format=".3f")],
            )
        )
        chart = alt.layer(chart, rule)
    height = int(np.clip(28 * len(data), 240, 1400))
    chart = chart.properties(
        width="container",
        height=height,
        title=chart_title(title, note),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return configure(chart)
