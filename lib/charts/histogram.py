"""Histograms of pre-binned counts, overall or one facet per group, and bin widths.

The browser gets bins, never rows (``lib.explore.groups.histogram`` counts them).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts import readable
from lib.charts.style import (
    FACET_WIDTH,
    HEIGHT,
    OVERALL_PLOT_PX,
    SINGLE_COLOUR,
    chart_title,
    check_marks,
    configure,
    group_scales,
)


def histogram_chart(
    bins: pd.DataFrame,
    x_title: str,
    *,
    by_group: bool = False,
    group_title: str = "group",
    title: str = "",
    note: str | None = None,
    columns: int = 2,
) -> alt.TopLevelMixin:
    """Bars of pre-binned counts, overall or one facet per group.

    Parameters
    ----------
    bins : DataFrame
        Columns ``group`` (str), ``start``, ``end``, ``count``; one row per
        group and bin (a single group for the overall histogram).
    by_group : bool
        One small histogram per group (the tutorial's ``facet_wrap(~ school)``).
    """
    check_marks(len(bins), "histogram bars")
    data = bins.assign(group=bins["group"].astype(str))
    levels = list(dict.fromkeys(data["group"]))
    base = alt.Chart(data).mark_bar(stroke="white", strokeWidth=1)
    edges = np.concatenate([data["start"].to_numpy(float), data["end"].to_numpy(float)])
    # Ticks on the bins' edges, as many as fit the panel (lib.charts.readable).
    axis = alt.Axis(
        values=readable.edge_ticks(edges, FACET_WIDTH if by_group else OVERALL_PLOT_PX),
        format=",.6~g",
        labelOverlap=True,
    )
    x = alt.X("start:Q", title=x_title, bin="binned", axis=axis)
    x2 = alt.X2("end:Q")
    # Thousands separated: a large upload's bars reach millions ("3,000,000", not "3000000").
    y = alt.Y("count:Q", title="Count", axis=alt.Axis(tickMinStep=1, format=",d"))
    tooltip = [
        alt.Tooltip("group:N", title=group_title),
        alt.Tooltip("start:Q", title="from", format=",.4~g"),
        alt.Tooltip("end:Q", title="to", format=",.4~g"),
        alt.Tooltip("count:Q", title="count", format=",d"),
    ]
    if not by_group:
        chart = base.encode(x=x, x2=x2, y=y, tooltip=tooltip, color=alt.ColorValue(SINGLE_COLOUR))
        return configure(
            chart.properties(width="container", height=HEIGHT - 80, title=chart_title(title, note))
        )
    scales = group_scales(levels)
    chart = base.encode(
        x=x,
        x2=x2,
        y=y,
        tooltip=tooltip,
        color=alt.Color("group:N", scale=scales["color"], legend=None),
    ).properties(width=FACET_WIDTH, height=200)
    faceted = (
        chart.facet(facet=alt.Facet("group:N", title=group_title, sort=levels), columns=columns)
        # Each panel draws its own x axis (the scale stays shared): with a shared footer
        # axis, the empty cell after an odd number of panels got an axis and no bars.
        .resolve_axis(x="independent")
        .properties(title=chart_title(title, note))
    )
    return configure(faceted)


def histogram_bins(hist, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Tidy bars from a ``lib.explore.groups.Histogram``: group, start, end, count.

    Without ``groups`` the overall counts (group ``"all"``); with ``groups`` the
    counts of those levels (in the given order), empty bins included so facets
    share the same bins.
    """
    edges = np.asarray(hist.edges, float)
    start, end = edges[:-1], edges[1:]
    if groups is None:
        counts = np.asarray(hist.total)
        return pd.DataFrame({"group": "all", "start": start, "end": end, "count": counts})
    index = {str(level): k for k, level in enumerate(hist.levels)}
    frames = [
        pd.DataFrame(
            {
                "group": str(g),
                "start": start,
                "end": end,
                "count": np.asarray(hist.counts)[index[str(g)]],
            }
        )
        for g in groups
    ]
    return pd.concat(frames, ignore_index=True)


def nice_width(raw: float) -> float:
    """The 1, 2 or 5 x 10^k at or above ``raw`` (1.0 for a non-positive ``raw``)."""
    if not raw > 0 or not np.isfinite(raw):
        return 1.0
    exponent = int(np.floor(np.log10(raw)))
    for step in (1, 2, 5, 10):
        width = step * 10.0**exponent
        if width >= raw * (1 - 1e-9):
            return float(f"{width:.12g}")
    return float(f"{10.0 ** (exponent + 1):.12g}")


def binwidth_choices(lo: float, hi: float, target_bins: int = 12) -> tuple[list[float], float]:
    """Bin widths on a 1-2-5 ladder around a default that gives about ``target_bins`` bins.

    Returns (choices, default); the narrowest choice still gives at most about
    100 bins, the widest about 3.
    """
    span = float(hi - lo)
    default = nice_width(span / target_bins) if span > 0 else 1.0
    choices = [default]
    while len(choices) < 4 and span / choices[0] < 50:
        choices.insert(0, _ladder_step(choices[0], down=True))
    while len(choices) < 8 and span / choices[-1] > 3:
        choices.append(_ladder_step(choices[-1], down=False))
    return choices, default


def _ladder_step(width: float, down: bool) -> float:
    exponent = int(np.floor(np.log10(width) + 1e-9))
    lead = round(width / 10.0**exponent)
    if down:
        lead, exponent = {1: (5, exponent - 1), 2: (1, exponent), 5: (2, exponent)}[lead]
    else:
        lead, exponent = {1: (2, exponent), 2: (5, exponent), 5: (1, exponent + 1)}[lead]
    return float(f"{lead * 10.0**exponent:.12g}")
