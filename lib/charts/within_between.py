"""The within-and-between chart: the data, the pooled line, the within lines and the
line through the group means (``lib.classroom.within_between``).

Each line kind has its own Okabe-Ito colour and its own dash, and the group means
are diamonds, so colour is never the only cue. The legend sits below the plot in
one column, so its labels (which carry the slopes) fit a 450 px main column
(1024 px screen with the sidebar open).
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import FONT, chart_title, check_marks, configure
from lib.classroom.within_between import WithinBetween
from lib.present.numbers import num

POOLED, WITHIN, BETWEEN = "pooled", "within", "between"
LINE_COLOURS = {POOLED: "#0072B2", WITHIN: "#E69F00", BETWEEN: "#D55E00"}  # Okabe-Ito
LINE_DASHES = {POOLED: (12, 4, 3, 4), WITHIN: (1, 0), BETWEEN: (7, 5)}
LINE_WIDTHS = {POOLED: 4, WITHIN: 2.5, BETWEEN: 4}
POINT_GREY = "#9A9A9A"
MEAN_COLOUR = "#000000"
# A container-wide chart is autosized to "fit": its height includes the title, the x axis
# and the three-line legend below (about 220 px), so the plot gets what is left.
PLOT_HEIGHT = 340
CHROME_HEIGHT = 220


def line_labels(result: WithinBetween) -> dict[str, str]:
    """The legend's words for each line, with its slope."""
    return {
        POOLED: f"Pooled: one line for all rows (slope {num(result.pooled_slope)})",
        WITHIN: f"Within each group (common slope {num(result.within_slope)})",
        BETWEEN: f"Through the group means (slope {num(result.between_slope)})",
    }


def within_between_lines(
    result: WithinBetween, levels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Two ends per line: columns ``kind``, ``line`` (one id per drawn line), ``x``, ``y``.

    The pooled line spans every group's x; each within line spans its group's x
    and passes through the group's means with the common within slope; the
    between line spans the group means of x. ``levels`` limits the within lines.
    """
    shown = set(result.levels if levels is None else levels)
    rows = []
    lo, hi = float(np.min(result.x_min)), float(np.max(result.x_max))
    for x in (lo, hi):
        rows.append((POOLED, POOLED, x, result.pooled_intercept + result.pooled_slope * x))
    b = result.within_slope
    for k, level in enumerate(result.levels):
        if level not in shown or not np.isfinite(b):
            continue
        for x in (float(result.x_min[k]), float(result.x_max[k])):
            y = result.y_means[k] + b * (x - result.x_means[k])
            rows.append((WITHIN, f"{WITHIN}:{k}", x, float(y)))
    if np.isfinite(result.between_slope):
        for x in (float(np.min(result.x_means)), float(np.max(result.x_means))):
            y = result.between_intercept + result.between_slope * x
            rows.append((BETWEEN, BETWEEN, x, y))
    return pd.DataFrame(rows, columns=["kind", "line", "x", "y"])


def within_between_chart(
    points: pd.DataFrame,
    result: WithinBetween,
    *,
    levels: Sequence[str] | None = None,
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """The rows as grey points, the three kinds of line, and the group means as diamonds.

    Parameters
    ----------
    points : DataFrame
        Columns ``x`` and ``y`` (sampled by the caller to at most ``MAX_MARKS``).
    result : WithinBetween
    levels : sequence of str, optional
        The groups whose within lines and means are drawn (default: all).
    """
    lines = within_between_lines(result, levels)
    shown = set(result.levels if levels is None else levels)
    keep = [k for k, level in enumerate(result.levels) if level in shown]
    means = pd.DataFrame(
        {
            "group": [result.levels[k] for k in keep],
            "x": result.x_means[keep],
            "y": result.y_means[keep],
            "n": result.sizes[keep],
        }
    )
    check_marks(len(points) + len(lines) + len(means), "points, means and line ends")
    labels = line_labels(result)
    kinds = [k for k in (POOLED, WITHIN, BETWEEN) if k in set(lines["kind"])]
    lines = lines.assign(label=lines["kind"].map(labels))
    x_title, y_title = result.predictor, result.outcome
    x_enc = alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False))
    y_enc = alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False))
    dots = (
        alt.Chart(points[["x", "y"]])
        .mark_point(filled=True, size=40, opacity=0.45, color=POINT_GREY)
        .encode(
            x=x_enc,
            y=y_enc,
            tooltip=[alt.Tooltip("x:Q", title=x_title), alt.Tooltip("y:Q", title=y_title)],
        )
    )
    legend = alt.Legend(
        title=None,
        orient="bottom",
        direction="vertical",
        symbolType="stroke",
        symbolStrokeWidth=4,
        symbolSize=900,
        labelLimit=430,
        labelFontSize=FONT["label"],
    )
    domain = [labels[k] for k in kinds]
    strokes = (
        alt.Chart(lines)
        .mark_line(clip=True)
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("y:Q"),
            detail=alt.Detail("line:N"),
            color=alt.Color(
                "label:N",
                scale=alt.Scale(domain=domain, range=[LINE_COLOURS[k] for k in kinds]),
                legend=legend,
            ),
            strokeDash=alt.StrokeDash(
                "label:N",
                scale=alt.Scale(domain=domain, range=[list(LINE_DASHES[k]) for k in kinds]),
                legend=legend,
            ),
            strokeWidth=alt.StrokeWidth(
                "label:N",
                scale=alt.Scale(domain=domain, range=[LINE_WIDTHS[k] for k in kinds]),
                legend=None,
            ),
            tooltip=[alt.Tooltip("label:N", title="line")],
        )
    )
    diamonds = (
        alt.Chart(means)
        .mark_point(shape="diamond", filled=True, size=150, color=MEAN_COLOUR, opacity=0.9)
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("y:Q"),
            tooltip=[
                alt.Tooltip("group:N", title=result.group),
                alt.Tooltip("n:Q", title="rows"),
                alt.Tooltip("x:Q", title=f"mean {x_title}", format=".3f"),
                alt.Tooltip("y:Q", title=f"mean {y_title}", format=".3f"),
            ],
        )
    )
    chart = alt.layer(dots, strokes, diamonds).properties(
        width="container", height=PLOT_HEIGHT + CHROME_HEIGHT, title=chart_title(title, note)
    )
    return configure(chart)
