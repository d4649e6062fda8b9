"""Chart spec of the simulation sandbox (pure altair, tested as a dict).

One panel per method: the histogram of its slope estimates across replicates,
the true slope (black, long dashes) and the band the method *claims* holds 95%
of estimates (true slope ± 1.96 × its mean reported SE). When the band is
narrower than the histogram, the method's standard error is too small.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import FONT, OKABE_ITO, OVERALL_DASH, chart_title, configure
from lib.classroom.simulate import SimResult, summarise

PANEL_WIDTH = 330
METHOD_COLOURS = {"OLS": OKABE_ITO[5], "Mixed model": OKABE_ITO[4]}  # vermillion, blue
BINS = 30


def estimate_bins(result: SimResult, bins: int = BINS) -> pd.DataFrame:
    """Counts of the slope estimates per method on shared bins: method, start, end, count."""
    values = np.concatenate([result.ols_est, result.lmm_est])
    values = values[np.isfinite(values)]
    edges = np.histogram_bin_edges(values, bins=bins)
    frames = []
    for method, est in (("OLS", result.ols_est), ("Mixed model", result.lmm_est)):
        counts, _ = np.histogram(est[np.isfinite(est)], bins=edges)
        frames.append(
            pd.DataFrame({"method": method, "start": edges[:-1], "end": edges[1:], "count": counts})
        )
    return pd.concat(frames, ignore_index=True)


def claimed_bands(result: SimResult) -> pd.DataFrame:
    """Per method: true slope ± 1.96 × mean reported SE (lo, hi) and the coverage."""
    rows = []
    for s in summarise(result):
        half = 1.959964 * s.mean_reported_se
        rows.append(
            {
                "method": s.method,
                "lo": result.true_slope - half,
                "hi": result.true_slope + half,
                "coverage": s.coverage,
            }
        )
    return pd.DataFrame(rows)


def sampling_chart(result: SimResult, *, title: str = "", note: str | None = None):
    """Histograms of the slope estimates with the claimed 95% band, one row per method."""
    bins = estimate_bins(result)
    bands = claimed_bands(result)
    data = pd.concat(
        [
            bins.assign(kind="bar"),
            bands.assign(kind="band"),
            pd.DataFrame(
                {"method": list(METHOD_COLOURS), "kind": "truth", "truth": result.true_slope}
            ),
        ],
        ignore_index=True,
    )
    colour = alt.Color(
        "method:N",
        scale=alt.Scale(domain=list(METHOD_COLOURS), range=list(METHOD_COLOURS.values())),
        legend=None,
    )
    band = (
        alt.Chart()
        .transform_filter(alt.datum.kind == "band")
        .mark_rect(opacity=0.18)
        .encode(
            x=alt.X("lo:Q"),
            x2=alt.X2("hi:Q"),
            color=colour,
            tooltip=[
                alt.Tooltip("lo:Q", format=".3f", title="claimed 95% from"),
                alt.Tooltip("hi:Q", format=".3f", title="to"),
                alt.Tooltip("coverage:Q", format=".1%"),
            ],
        )
    )
    bars = (
        alt.Chart()
        .transform_filter(alt.datum.kind == "bar")
        .mark_bar(stroke="white", strokeWidth=1)
        .encode(
            x=alt.X(
                "start:Q", bin="binned", title="estimated slope", axis=alt.Axis(labelOverlap=True)
            ),
            x2=alt.X2("end:Q"),
            y=alt.Y("count:Q", title="data sets"),
            color=colour,
            tooltip=[
                alt.Tooltip("start:Q", format=".3f"),
                alt.Tooltip("end:Q", format=".3f"),
                alt.Tooltip("count:Q"),
            ],
        )
    )
    truth = (
        alt.Chart()
        .transform_filter(alt.datum.kind == "truth")
        .mark_rule(strokeWidth=3, strokeDash=list(OVERALL_DASH), color=OKABE_ITO[7])
        .encode(x=alt.X("truth:Q"))
    )
    chart = (
        alt.layer(band, bars, truth, data=data)
        # 330 px of plot and the method's name above its panel: with the names to the left
        # and 520 px the chart ran past the 449 px column at 1024 px (sidebar open).
        .properties(width=PANEL_WIDTH, height=150)
        .facet(
            row=alt.Row(
                "method:N",
                title=None,
                sort=list(METHOD_COLOURS),
                header=alt.Header(
                    labelFontSize=FONT["title"], labelOrient="top", labelAnchor="start"
                ),
            )
        )
        .properties(title=chart_title(title, note))
    )
    return configure(chart)
