"""Outcome against predictor with straight model lines: per group and overall.

With more groups than a legend can name, a few are drawn in colour and the rest light
grey (``lib.charts.readable``). The overall fixed-effects line is black, thick and
long-dashed with a legend entry drawn the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts import readable
from lib.charts.style import (
    COMPACT_TITLE_CHARS,
    CONTEXT_GREY,
    HEIGHT,
    MAX_LEGEND_GROUPS,
    OVERALL_COLOUR,
    OVERALL_DASH,
    OVERALL_LABEL,
    SINGLE_COLOUR,
    TITLE_CHARS,
    chart_title,
    check_marks,
    configure,
    group_scales,
)


def scatter_chart(
    points: pd.DataFrame,
    x: str,
    y: str,
    group: str | None,
    *,
    lines: pd.DataFrame | None = None,
    levels: Sequence[str] | None = None,
    title: str = "",
    note: str | None = None,
    overall_label: str = OVERALL_LABEL,
    compact: bool = False,
    highlight: Sequence[str] | None = None,
) -> alt.TopLevelMixin:
    """Outcome against predictor, coloured and shaped by group, with model lines.

    With more than ``MAX_LEGEND_GROUPS`` groups only a few are drawn in colour, with a
    legend (``highlight``, by default ``readable.highlight_groups``); the others are
    light grey context underneath, and the subtitle says so.

    Parameters
    ----------
    points : DataFrame
        At most ``MAX_MARKS`` rows (sample first) holding columns ``x``, ``y``
        and, if given, ``group`` (user column names: they are renamed inside the
        spec, so dots or brackets in a name cannot break Vega-Lite).
    lines : DataFrame, optional
        Columns ``group``, ``x``, ``y``: two points per straight line. The group
        ``OVERALL_LABEL`` is drawn black, thick and long-dashed.
    levels : sequence of str, optional
        Group order for colours (default: order of appearance).
    overall_label : str
        The legend's name for the black overall line (``OLS_LABEL`` for an
        ordinary regression).
    compact : bool
        For a chart in a half-width column (about 210 px at 1024 px): no legends, which
        would be cut there ("Oakwo"), and the title wrapped to the width; the caller
        says what the colours and the black line are (the full-width charts' legends).
    """
    check_marks(len(points) + (0 if lines is None else len(lines)), "points and line ends")
    data = pd.DataFrame(
        {
            "x": points[x].to_numpy(),
            "y": points[y].to_numpy(),
            "group": points[group].astype(str).to_numpy() if group is not None else "",
        }
    )
    levels = [str(v) for v in (levels or list(dict.fromkeys(data["group"])))] if group else []
    if lines is None:
        lines = pd.DataFrame(columns=["group", "x", "y"])
    lines = lines.assign(group=lines["group"].astype(str))
    is_overall = lines["group"] == OVERALL_LABEL
    overall = lines[is_overall].assign(line=overall_label)
    group_lines = lines[~is_overall] if group is not None else lines.iloc[:0]
    if group is not None and len(levels) > MAX_LEGEND_GROUPS:
        chosen = (
            list(highlight)
            if highlight is not None
            else readable.highlight_groups(group_lines if len(group_lines) else None, data)
        )
        if not compact:  # a half-width chart leaves what is coloured to its caller
            n_groups = len(set(levels) | set(group_lines["group"]))
            said = readable.highlight_note(n_groups, len(chosen), bool(len(group_lines)))
            note = f"{note}; {said}" if note else said
        return _highlighted(
            data, group_lines, overall, x, y, group, chosen, title, note, overall_label, compact
        )
    # Up to MAX_LEGEND_GROUPS groups: every scale has an explicit domain and the legend
    # names each group.
    scales = group_scales(levels) if group is not None else {}
    gtitle = group or "group"
    legend = alt.Legend(title=gtitle, orient="right") if group is not None and not compact else None
    x_enc = alt.X("x:Q", title=x, scale=alt.Scale(zero=False))
    y_enc = alt.Y("y:Q", title=y, scale=alt.Scale(zero=False))
    tooltip = [alt.Tooltip("x:Q", title=x), alt.Tooltip("y:Q", title=y)]
    points_mark = alt.Chart(data).mark_point(filled=True, size=90, opacity=0.65)
    if group is not None:
        layer = points_mark.encode(
            x=x_enc,
            y=y_enc,
            color=alt.Color("group:N", scale=scales["color"], legend=legend, title=gtitle),
            shape=alt.Shape("group:N", scale=scales["shape"], legend=legend, title=gtitle),
            tooltip=[alt.Tooltip("group:N", title=gtitle), *tooltip],
        )
    else:
        layer = points_mark.encode(
            x=x_enc, y=y_enc, color=alt.ColorValue(SINGLE_COLOUR), tooltip=tooltip
        )
    layers: list[alt.Chart] = [layer]
    if len(group_lines):
        layers.append(
            alt.Chart(group_lines)
            .mark_line(clip=True, strokeWidth=3)
            .encode(
                x=alt.X("x:Q"),
                y=alt.Y("y:Q"),
                detail=alt.Detail("group:N"),
                color=alt.Color("group:N", scale=scales["color"], legend=legend, title=gtitle),
                strokeDash=alt.StrokeDash("group:N", scale=scales["dash"], legend=None),
                tooltip=[alt.Tooltip("group:N", title=gtitle)],
            )
        )
    if len(overall):
        layers.append(_overall_layer(overall, overall_label, None if compact else "right"))
    chart = alt.layer(*layers)
    if len(group_lines) and len(overall):
        # The group lines' dashes and the overall line's dash are separate scales, so the
        # overall line gets its own legend entry drawn as what it is: black, long dashes.
        chart = chart.resolve_scale(strokeDash="independent")
    heading = chart_title(title, note, COMPACT_TITLE_CHARS if compact else TITLE_CHARS)
    chart = chart.properties(width="container", height=HEIGHT, title=heading)
    return configure(chart)


def _highlighted(
    data: pd.DataFrame,
    group_lines: pd.DataFrame,
    overall: pd.DataFrame,
    x: str,
    y: str,
    group: str,
    chosen: Sequence[str],
    title: str,
    note: str | None,
    overall_label: str,
    compact: bool = False,
) -> alt.TopLevelMixin:
    """Many groups: ``chosen`` in colour, shape and dash with a legend below the plot
    (none in a compact chart), the others light grey underneath
    (``lib.charts.readable``)."""
    keep = set(chosen)
    scales = group_scales(list(chosen))
    legend = None if compact else alt.Legend(title=group, orient="bottom", columns=2)
    x_enc = alt.X("x:Q", title=x, scale=alt.Scale(zero=False))
    y_enc = alt.Y("y:Q", title=y, scale=alt.Scale(zero=False))
    tooltip = [
        alt.Tooltip("group:N", title=group),
        alt.Tooltip("x:Q", title=x),
        alt.Tooltip("y:Q", title=y),
    ]
    in_colour = data["group"].isin(keep)
    layers: list[alt.Chart] = [
        alt.Chart(data[~in_colour])
        .mark_point(filled=True, size=50, opacity=0.45, color=CONTEXT_GREY)
        .encode(x=x_enc, y=y_enc, tooltip=tooltip)
    ]
    lines_in_colour = group_lines["group"].isin(keep)
    if len(group_lines):
        layers.append(
            alt.Chart(group_lines[~lines_in_colour])
            .mark_line(clip=True, strokeWidth=1.5, color=CONTEXT_GREY)
            .encode(
                x=alt.X("x:Q"),
                y=alt.Y("y:Q"),
                detail=alt.Detail("group:N"),
                tooltip=[alt.Tooltip("group:N", title=group)],
            )
        )
    colour = alt.Color("group:N", scale=scales["color"], legend=legend, title=group)
    layers.append(
        alt.Chart(data[in_colour])
        .mark_point(filled=True, size=70, opacity=0.55)
        .encode(
            x=x_enc,
            y=y_enc,
            color=colour,
            shape=alt.Shape("group:N", scale=scales["shape"], legend=legend, title=group),
            tooltip=tooltip,
        )
    )
    if lines_in_colour.any():
        layers.append(
            alt.Chart(group_lines[lines_in_colour])
            .mark_line(clip=True, strokeWidth=3.5)
            .encode(
                x=alt.X("x:Q"),
                y=alt.Y("y:Q"),
                detail=alt.Detail("group:N"),
                color=colour,
                strokeDash=alt.StrokeDash("group:N", scale=scales["dash"], legend=None),
                tooltip=[alt.Tooltip("group:N", title=group)],
            )
        )
    if len(overall):
        layers.append(_overall_layer(overall, overall_label, None if compact else "top"))
    chart = alt.layer(*layers)
    if lines_in_colour.any() and len(overall):
        chart = chart.resolve_scale(strokeDash="independent")
    # "fit-x": the width fits the column, the height is the plot's own (with "fit" the
    # legends above and below took their share of it).
    chart = chart.properties(
        width="container",
        height=HEIGHT - 60,
        title=chart_title(title, note, COMPACT_TITLE_CHARS if compact else TITLE_CHARS),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return configure(chart)


def _overall_layer(overall: pd.DataFrame, label: str, orient: str | None) -> alt.Chart:
    """The black, thick, long-dashed overall line with a legend entry that looks like it
    (none for ``orient`` None)."""
    legend = (
        None
        if orient is None
        else alt.Legend(
            title=None,
            orient=orient,
            symbolType="stroke",
            symbolStrokeColor=OVERALL_COLOUR,
            symbolStrokeWidth=4,
            symbolDash=list(OVERALL_DASH),
            symbolSize=1600,  # a symbol's area: sqrt(1600) = 40 px shows the dash pattern
        )
    )
    return (
        alt.Chart(overall)
        .mark_line(clip=True, color=OVERALL_COLOUR, strokeWidth=5)
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("y:Q"),
            strokeDash=alt.StrokeDash(
                "line:N",
                scale=alt.Scale(domain=[label], range=[list(OVERALL_DASH)]),
                legend=legend,
            ),
            tooltip=[alt.Tooltip("line:N", title="line")],
        )
    )


def abline_frame(
    intercepts: Sequence[float],
    slopes: Sequence[float],
    levels: Sequence[str],
    x_range: tuple[float, float],
    overall: tuple[float, float] | None = None,
) -> pd.DataFrame:
    """Straight lines ``y = a + b x`` as two end points each (the tutorial's geom_abline).

    Returns columns group, x, y; the overall line (if given) is labelled
    ``OVERALL_LABEL`` and comes last so it is drawn on top.
    """
    x0, x1 = float(x_range[0]), float(x_range[1])
    rows = []
    for level, a, b in zip(levels, intercepts, slopes, strict=True):
        rows += [(str(level), x0, a + b * x0), (str(level), x1, a + b * x1)]
    if overall is not None:
        a, b = overall
        rows += [(OVERALL_LABEL, x0, a + b * x0), (OVERALL_LABEL, x1, a + b * x1)]
    return pd.DataFrame(rows, columns=["group", "x", "y"])


def coefficient_lines(
    coef: pd.DataFrame,
    predictor: str | None,
    x_range: tuple[float, float],
    overall: tuple[float, float] | None = None,
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Per-group lines from a ``coef``-style table (rows = groups).

    The intercept is the ``(Intercept)`` column (0 if absent) and the slope the
    ``predictor`` column (0 if absent or ``predictor`` is None), so a null model
    gives horizontal lines. ``groups`` limits the lines drawn.
    """
    table = coef if groups is None else coef.loc[[g for g in coef.index if str(g) in set(groups)]]
    a = table["(Intercept)"].to_numpy(float) if "(Intercept)" in table else np.zeros(len(table))
    if predictor is not None and predictor in table:
        b = table[predictor].to_numpy(float)
    else:
        b = np.zeros(len(table))
    return abline_frame(a, b, [str(i) for i in table.index], x_range, overall=overall)
