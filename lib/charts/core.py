"""Altair chart specs from tidy frames (pure functions, tested via ``.to_dict()``).

Colour follows the Okabe-Ito palette and is never the only cue: groups also
differ by point shape and line dash, and the overall fixed-effects line is
black, thick and long-dashed (the tutorial's ``linetype = "longdash"``), with a
legend entry drawn the same way. Fonts (the app's own, at least 18 px) are sized
for a classroom projector; single charts fill their container's width, facets
come two to a row and long titles wrap, so that a 1024 px screen with the
sidebar open shows them whole. The browser never gets
raw big data: callers bin (``lib.explore.groups.histogram``) or sample
(``lib.explore.groups.sample_rows``)
first and pass a ``note`` that the chart shows as its subtitle.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts import readable

OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)
# Yellow (#F0E442) is left out of lines and points: it is faint on white through a
# projector. Black is kept for the overall (fixed-effects) line.
GROUP_COLOURS = tuple(c for c in OKABE_ITO[:7] if c != "#F0E442")
OVERALL_COLOUR = OKABE_ITO[7]
SINGLE_COLOUR = OKABE_ITO[4]
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "wedge")
DASHES = ((1, 0), (8, 4), (2, 3), (12, 3, 3, 3), (4, 4), (16, 4), (6, 2, 2, 2))
OVERALL_DASH = (14, 6)
OVERALL_LABEL = "All (fixed effects)"
OLS_LABEL = "OLS line"  # the overall line of an ordinary regression (Compare page)
MAX_MARKS = 5000
MAX_LEGEND_GROUPS = 12
CONTEXT_GREY = readable.CONTEXT_GREY
# Pixel sizes for a projector: Streamlit's body text is 20 px here (config.toml), and
# axis labels below 18 px cannot be read from the back of a classroom.
FONT = {"label": 18, "title": 20, "chart_title": 24}
# Streamlit 1.67 serves its own font as "Source Sans" (static/css); naming it makes the
# charts use the app's font instead of a wide fallback.
FONT_FAMILY = '"Source Sans", "Source Sans Pro", sans-serif'
FACET_WIDTH = 180  # one histogram cell: two with their axes fit the 449 px column
OVERALL_PLOT_PX = 360  # the plot of a container-wide chart in that column, axes left out
HEIGHT = 420


def _cycle(values: Sequence, n: int) -> list:
    return [values[i % len(values)] for i in range(n)]


TITLE_CHARS = 32  # a title line at 24 px bold in a 420 px chart (1024 px screen, sidebar open)
NOTE_CHARS = 48  # a subtitle line at 18 px
COMPACT_TITLE_CHARS = 11  # the same in a half-width chart (about 165 px of plot)


def _lines(text: str, width: int) -> str | list[str]:
    """``text`` as lines of at most ``width`` characters (Vega-Lite draws a list as
    lines): a long title is cut to the chart's width ("Histogram of test_score across
    all gro…" at 1024 px with the sidebar open) where it could wrap."""
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return lines if len(lines) > 1 else text


def _title(text: str, note: str | None, chars: int = TITLE_CHARS) -> alt.TitleParams:
    return alt.TitleParams(
        text=_lines(text, chars),
        subtitle=_lines(note or "", NOTE_CHARS * chars // TITLE_CHARS),
        anchor="start",
    )


def _configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The shared look of every chart: the app's font, projector-sized text.

    Each ``configure_*`` call deep-copies the whole chart (11 ms for a scatter
    with lines), so the config is built once, on an empty chart, and attached.
    """
    configured = chart.copy(deep=False)
    configured.config = _shared_config()
    return configured


@functools.cache
def _shared_config() -> alt.Config:
    # Axes and legends label and title the same way.
    text = {
        "labelFont": FONT_FAMILY,
        "titleFont": FONT_FAMILY,
        "labelFontSize": FONT["label"],
        "titleFontSize": FONT["title"],
        "titleFontWeight": 600,
    }
    return (
        alt.Chart()
        .configure(font=FONT_FAMILY)
        .configure_axis(**text, grid=False)
        .configure_legend(**text, symbolSize=220, labelLimit=320)
        .configure_header(
            labelFont=FONT_FAMILY,
            titleFont=FONT_FAMILY,
            labelFontSize=FONT["title"],
            titleFontSize=FONT["title"],
        )
        .configure_title(
            font=FONT_FAMILY,
            subtitleFont=FONT_FAMILY,
            fontSize=FONT["chart_title"],
            fontWeight=600,
            subtitleFontSize=FONT["label"],
            subtitleColor="#555555",
        )
        .configure_view(stroke=None)
    ).config


def group_scales(levels: Sequence[str]) -> dict[str, alt.Scale]:
    """Colour, shape and dash scales with a fixed domain (the groups' order)."""
    domain = [str(level) for level in levels]
    colours = _cycle(GROUP_COLOURS, len(domain))
    # Six colours against seven shapes and dashes: the (colour, shape) pairs cycle with
    # different periods, so they stay distinct for up to 6 x 7 = 42 groups.
    shapes = [SHAPES[i % len(SHAPES)] for i in range(len(domain))]
    dashes = [list(DASHES[i % len(DASHES)]) for i in range(len(domain))]
    return {
        "color": alt.Scale(domain=domain, range=colours),
        "shape": alt.Scale(domain=domain, range=shapes),
        "dash": alt.Scale(domain=domain, range=dashes),
    }


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
    _check_marks(len(bins), "histogram bars")
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
        chart = base.encode(x=x, x2=x2, y=y, tooltip=tooltip, color=alt.value(SINGLE_COLOUR))
        return _configure(
            chart.properties(width="container", height=HEIGHT - 80, title=_title(title, note))
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
        .properties(title=_title(title, note))
    )
    return _configure(faceted)


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
    _check_marks(len(points) + (0 if lines is None else len(lines)), "points and line ends")
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
            x=x_enc, y=y_enc, color=alt.value(SINGLE_COLOUR), tooltip=tooltip
        )
    layers: list[alt.Chart] = [layer]
    if len(group_lines):
        layers.append(
            alt.Chart(group_lines)
            .mark_line(clip=True, strokeWidth=3)
            .encode(
                x="x:Q",
                y="y:Q",
                detail="group:N",
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
    heading = _title(title, note, COMPACT_TITLE_CHARS if compact else TITLE_CHARS)
    chart = chart.properties(width="container", height=HEIGHT, title=heading)
    return _configure(chart)


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
                x="x:Q", y="y:Q", detail="group:N", tooltip=[alt.Tooltip("group:N", title=group)]
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
                x="x:Q",
                y="y:Q",
                detail="group:N",
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
        title=_title(title, note, COMPACT_TITLE_CHARS if compact else TITLE_CHARS),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return _configure(chart)


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
            x="x:Q",
            y="y:Q",
            strokeDash=alt.StrokeDash(
                "line:N",
                scale=alt.Scale(domain=[label], range=[list(OVERALL_DASH)]),
                legend=legend,
            ),
            tooltip=[alt.Tooltip("line:N", title="line")],
        )
    )


def ranef_chart(
    intervals: pd.DataFrame,
    *,
    term: str | None = None,
    group_title: str = "group",
    x_title: str = "deviation from the fixed effect",
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """Caterpillar plot of one random-effect term: each group's value with its interval.

    One chart per term (the caller stacks them) so that each fills the page's
    column: side-by-side panels do not fit a projector's width.

    Parameters
    ----------
    intervals : DataFrame
        ``lib.present.summary.ranef_intervals`` output (group, term, estimate, lower,
        upper), already limited to a readable number of groups.
    term : str, optional
        The term to draw; may be omitted when ``intervals`` holds one term.
    """
    terms = list(dict.fromkeys(intervals["term"]))
    if term is None:
        if len(terms) > 1:
            raise ValueError(f"intervals hold {len(terms)} terms {terms}; choose one with term=")
        term = terms[0] if terms else ""
    data = intervals[intervals["term"] == term]
    _check_marks(3 * len(data), "interval marks")
    data = data.assign(group=data["group"].astype(str))
    n_groups = data["group"].nunique()
    # A container-wide chart is autosized to "fit": its height includes the title and
    # the x axis (about 120 px), so the rows get what is left.
    height = int(np.clip(32 * n_groups, 96, 1280)) + 120
    base = alt.Chart().encode(
        y=alt.Y(
            "group:N", title=group_title, sort=alt.EncodingSortField("estimate", order="ascending")
        ),
    )
    rule = base.mark_rule(strokeWidth=4, color=SINGLE_COLOUR).encode(
        x=alt.X("lower:Q", title=x_title),
        x2="upper:Q",
    )
    point = base.mark_point(filled=True, size=160, color=OKABE_ITO[5], shape="diamond").encode(
        x="estimate:Q",
        tooltip=[
            alt.Tooltip("group:N", title=group_title),
            alt.Tooltip("term:N"),
            alt.Tooltip("estimate:Q", format=",.4~g"),
            alt.Tooltip("lower:Q", format=",.4~g"),
            alt.Tooltip("upper:Q", format=",.4~g"),
        ],
    )
    zero = alt.Chart().mark_rule(strokeDash=[6, 4], color="#555555").encode(x=alt.datum(0))
    chart = alt.layer(rule, point, zero, data=data).properties(
        width="container", height=height, title=_title(title or term, note)
    )
    return _configure(chart)


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


def pick_groups(levels: Sequence[str], sizes: Sequence[int], max_groups: int) -> list[str]:
    """The ``max_groups`` largest groups (ties by level order), in level order."""
    if len(levels) <= max_groups:
        return [str(v) for v in levels]
    order = sorted(range(len(levels)), key=lambda i: (-int(sizes[i]), i))[:max_groups]
    return [str(levels[i]) for i in sorted(order)]


def _check_marks(n: int, what: str) -> None:
    if n > MAX_MARKS + 2 * 200:
        raise ValueError(
            f"{n} {what} would be sent to the browser; bin or sample to at most {MAX_MARKS}."
        )


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
