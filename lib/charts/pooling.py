"""Chart specs of the pooling view (pure altair, tested as dicts).

Three strategies keep one look everywhere: complete pooling black and
long-dashed (the overall line of the other charts), no pooling vermillion,
short-dashed with hollow points, partial pooling blue, solid with filled
points. Colour is never the only cue (dash and fill differ too), and yellow is
not used: it is faint on a white projector screen.
"""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import FONT, OKABE_ITO, OVERALL_DASH, chart_title, configure
from lib.classroom.pooling import Pooling, ellipse
from lib.model.spec import INTERCEPT

COMPLETE = "Complete pooling"
NONE = "No pooling"
PARTIAL = "Partial pooling"
STRATEGIES = (COMPLETE, NONE, PARTIAL)
STRATEGY_COLOURS = (OKABE_ITO[7], OKABE_ITO[5], OKABE_ITO[4])  # black, vermillion, blue
STRATEGY_DASHES = (list(OVERALL_DASH), [4, 4], [1, 0])
POINT_GREY = "#8a8a8a"
FACET_SIZE = (165, 165)  # a facet cell: two fit the ~450 px column of 1024 px with the sidebar open
# The 2-D shrinkage plot: fixed, so that arrowheads can be aimed, and small enough that
# with its axes it fits the 449 px column (1024 px, sidebar open); a wider fixed-size chart
# is scaled down by the browser to ~170 px of plot.
PLANE_SIZE = (330, 330)
LABEL_CHAR_PX, LABEL_PX = 9.5, 20.0  # an 18 px group label
CONTOURS = (0.5, 0.95)


def strategy_lines(
    result: Pooling, predictor: str | None, x_range: tuple[float, float], groups: Sequence[str]
) -> pd.DataFrame:
    """Two end points per group and strategy: group, strategy, x, y.

    Lines are ``intercept + slope * x`` with the slope of ``predictor`` (0 when
    the model has none); other fixed effects are held at 0.
    """
    i = result.column(INTERCEPT) if INTERCEPT in result.names else None
    s = result.column(predictor) if predictor in result.names else None
    x0, x1 = map(float, x_range)
    rows = []
    for level in groups:
        g = result.levels.index(level)
        # No pooling last, so its dashes stay visible where it runs along partial pooling.
        for name, coef in (
            (COMPLETE, result.complete),
            (PARTIAL, result.partial[g]),
            (NONE, result.no_pooling[g]),
        ):
            a = float(coef[i]) if i is not None else 0.0
            b = float(coef[s]) if s is not None else 0.0
            if np.isfinite(a) and np.isfinite(b):
                rows += [(level, name, x0, a + b * x0), (level, name, x1, a + b * x1)]
    return pd.DataFrame(rows, columns=["group", "strategy", "x", "y"])


def pick_for_pooling(levels: Sequence[str], sizes: Sequence[int], max_groups: int) -> list[str]:
    """Up to ``max_groups`` levels: the smallest and the largest alternately (small
    groups are where the strategies differ), in level order."""
    if len(levels) <= max_groups:
        return [str(v) for v in levels]
    order = sorted(range(len(levels)), key=lambda k: (int(sizes[k]), k))
    chosen = []
    lo, hi = 0, len(order) - 1
    while len(chosen) < max_groups:
        chosen.append(order[lo])
        lo += 1
        if len(chosen) < max_groups:
            chosen.append(order[hi])
            hi -= 1
    return [str(levels[k]) for k in sorted(chosen)]


def _strategy_scales() -> dict[str, alt.Scale]:
    return {
        "color": alt.Scale(domain=list(STRATEGIES), range=list(STRATEGY_COLOURS)),
        "dash": alt.Scale(domain=list(STRATEGIES), range=list(STRATEGY_DASHES)),
    }


def pooling_lines_chart(
    points: pd.DataFrame,
    lines: pd.DataFrame,
    x_title: str,
    y_title: str,
    *,
    group_title: str = "group",
    columns: int = 2,
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """One panel per group: its points and the three strategies' lines.

    Parameters
    ----------
    points : DataFrame
        Columns group, x, y (sampled by the caller).
    lines : DataFrame
        ``strategy_lines`` output.
    """
    scales = _strategy_scales()
    pts = points.assign(group=points["group"].astype(str), strategy="")
    data = pd.concat([pts.assign(kind="point"), lines.assign(kind="line")], ignore_index=True)
    order = list(dict.fromkeys(lines["group"])) or list(dict.fromkeys(pts["group"]))
    base = alt.Chart().encode(
        x=alt.X(
            "x:Q",
            title=x_title,
            scale=alt.Scale(zero=False),
            axis=alt.Axis(tickCount=4, labelOverlap=True),
        ),
        y=alt.Y("y:Q", title=y_title, scale=alt.Scale(zero=False)),
    )
    dots = (
        base.transform_filter(alt.datum.kind == "point")
        .mark_point(filled=True, size=45, opacity=0.5, color=POINT_GREY)
        .encode(tooltip=[alt.Tooltip("x:Q", title=x_title), alt.Tooltip("y:Q", title=y_title)])
    )
    legend = alt.Legend(
        title=None,
        orient="top",
        symbolStrokeWidth=4,
        symbolSize=600,
        direction="horizontal",
        columns=2,
    )
    strokes = (
        base.transform_filter(alt.datum.kind == "line")
        .mark_line(strokeWidth=3.5, clip=True)
        .encode(
            detail=alt.Detail("strategy:N"),
            color=alt.Color("strategy:N", scale=scales["color"], legend=legend),
            strokeDash=alt.StrokeDash("strategy:N", scale=scales["dash"], legend=legend),
            tooltip=[alt.Tooltip("strategy:N", title="line")],
        )
    )
    width, height = FACET_SIZE
    chart = (
        alt.layer(dots, strokes, data=data)
        .properties(width=width, height=height)
        .facet(
            facet=alt.Facet(
                "group:N",
                title=group_title,
                sort=order,
                header=alt.Header(labelFontSize=FONT["title"]),
            ),
            columns=columns,
        )
        # Each panel its own x axis: no axis under the empty cell of an odd count.
        .resolve_axis(x="independent")
        .properties(title=chart_title(title, note))
    )
    return configure(chart)


def _arrow_frame(result: Pooling, names: Sequence[str]) -> pd.DataFrame:
    cols = [result.column(n) for n in names]
    frame = pd.DataFrame(
        {
            "group": [str(v) for v in result.levels],
            "n": result.sizes.astype(int),
        }
    )
    for axis, j in zip(("", "y") if len(cols) == 2 else ("",), cols, strict=False):
        frame[f"none{axis}"] = result.no_pooling[:, j]
        frame[f"partial{axis}"] = result.partial[:, j]
    return frame[np.isfinite(frame.filter(like="none").to_numpy()).all(axis=1)].reset_index(
        drop=True
    )


def shrinkage_rows_chart(
    result: Pooling,
    name: str,
    *,
    group_title: str = "group",
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """One row per group (sorted by the partial-pooling estimate): an arrow from the
    no-pooling to the partial-pooling estimate of ``name``, the fixed effect as a
    dashed vertical line, point size by group size."""
    data = _arrow_frame(result, [name])
    data["direction"] = np.where(data["partial"] >= data["none"], "triangle-right", "triangle-left")
    centre = float(result.centre[result.column(name)])
    label = "intercept" if name == INTERCEPT else f"slope of {name}"
    y = alt.Y(
        "group:N", title=group_title, sort=alt.EncodingSortField("partial", order="ascending")
    )
    size = alt.Size(
        "n:Q",
        title="rows in group",
        scale=alt.Scale(range=[60, 500]),
        legend=alt.Legend(orient="bottom", direction="horizontal", tickCount=4),
    )
    tooltip = [
        alt.Tooltip("group:N", title=group_title),
        alt.Tooltip("n:Q", title="rows"),
        alt.Tooltip("none:Q", title="no pooling", format=",.4~g"),
        alt.Tooltip("partial:Q", title="partial pooling", format=",.4~g"),
    ]
    base = alt.Chart().encode(y=y, tooltip=tooltip)
    rule = base.mark_rule(strokeWidth=3, color=OKABE_ITO[4]).encode(
        x=alt.X("none:Q", title=label, scale=alt.Scale(zero=False)), x2=alt.X2("partial:Q")
    )
    hollow = base.mark_point(filled=False, strokeWidth=2.5, color=OKABE_ITO[5]).encode(
        x=alt.X("none:Q"), size=size
    )
    head = base.mark_point(filled=True, color=OKABE_ITO[4], size=140).encode(
        x=alt.X("partial:Q"), shape=alt.Shape("direction:N", scale=None)
    )
    fixed = (
        alt.Chart(pd.DataFrame({"centre": [centre]}))
        .mark_rule(strokeDash=list(OVERALL_DASH), strokeWidth=3, color=OKABE_ITO[7])
        .encode(x=alt.X("centre:Q"), tooltip=[alt.Tooltip("centre:Q", title="fixed effect")])
    )
    rows = len(data)
    # 56 px a row (a group label is 18 px), at least 240 px of plot; "fit-x" fits the width
    # to the column and leaves the height to the plot (with "fit" the title, axis and
    # legend took their share of it and three rows got ~100 px).
    height = int(np.clip(56 * rows, 240, 1400))
    chart = alt.layer(alt.layer(rule, hollow, head, data=data), fixed).properties(
        width="container",
        height=height,
        title=chart_title(title, note),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return configure(chart)


def shrinkage_plane_chart(
    result: Pooling,
    slope: str,
    *,
    title: str = "",
    note: str | None = None,
    levels: Sequence[str] | None = None,
) -> alt.TopLevelMixin:
    """The (intercept, slope) plane: arrows from each group's no-pooling to its
    partial-pooling estimate, the fixed effects as a black cross, and the 50% and
    95% contours of the fitted random-effects distribution N(beta, T)."""
    names = [INTERCEPT, slope]
    data = _arrow_frame(result, names)
    if levels is not None:
        data = data[data["group"].isin(set(levels))].reset_index(drop=True)
    centre = np.array([result.centre[result.column(n)] for n in names])
    k = [result.random.index(n) for n in names]
    cov = result.covariance[np.ix_(k, k)]
    rings = [
        pd.DataFrame(ellipse(centre, cov, level), columns=["x", "y"]).assign(
            contour=f"{int(level * 100)}% of groups", i=np.arange(90)
        )
        for level in CONTOURS
    ]
    ring = pd.concat(rings, ignore_index=True)
    xs = np.concatenate([data["none"], data["partial"], ring["x"], [centre[0]]])
    ys = np.concatenate([data["noney"], data["partialy"], ring["y"], [centre[1]]])
    xdom, ydom = _padded(xs), _padded(ys)
    width, height = PLANE_SIZE
    px = width / (xdom[1] - xdom[0])
    py = height / (ydom[1] - ydom[0])
    # Vega's angle turns a triangle-up clockwise; aim it along the arrow on screen.
    data["angle"] = (
        np.degrees(
            np.arctan2(
                (data["partial"] - data["none"]) * px, (data["partialy"] - data["noney"]) * py
            )
        )
        % 360
    )
    x = alt.X("none:Q", title="intercept", scale=alt.Scale(domain=xdom, nice=False, zero=False))
    y = alt.Y(
        "noney:Q", title=f"slope of {slope}", scale=alt.Scale(domain=ydom, nice=False, zero=False)
    )
    size = alt.Size(
        "n:Q",
        title="rows in group",
        scale=alt.Scale(range=[60, 500]),
        legend=alt.Legend(orient="bottom", direction="horizontal", tickCount=3),
    )
    tooltip = [
        alt.Tooltip("group:N", title="group"),
        alt.Tooltip("n:Q", title="rows"),
        alt.Tooltip("none:Q", title="own intercept", format=",.4~g"),
        alt.Tooltip("noney:Q", title="own slope", format=",.4~g"),
        alt.Tooltip("partial:Q", title="pooled intercept", format=",.4~g"),
        alt.Tooltip("partialy:Q", title="pooled slope", format=",.4~g"),
    ]
    base = alt.Chart(data)
    contour = (
        alt.Chart(ring)
        .mark_line(strokeWidth=2, color="#777777")
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=xdom, nice=False, zero=False)),
            y=alt.Y("y:Q", scale=alt.Scale(domain=ydom, nice=False, zero=False)),
            detail=alt.Detail("contour:N"),
            order=alt.Order("i:Q"),
            strokeDash=alt.StrokeDash(
                "contour:N",
                scale=alt.Scale(range=[[2, 3], [8, 4]]),
                legend=alt.Legend(title=None, orient="top", direction="horizontal"),
            ),
        )
    )
    shaft = base.mark_rule(strokeWidth=3, color=OKABE_ITO[4]).encode(
        x=x, y=y, x2=alt.X2("partial:Q"), y2=alt.Y2("partialy:Q"), tooltip=tooltip
    )
    start = base.mark_point(filled=False, strokeWidth=2.5, color=OKABE_ITO[5]).encode(
        x=x, y=y, size=size, tooltip=tooltip
    )
    head = base.mark_point(shape="triangle-up", filled=True, size=160, color=OKABE_ITO[4]).encode(
        x=alt.X("partial:Q"),
        y=alt.Y("partialy:Q"),
        angle=alt.Angle("angle:Q", scale=None),
        tooltip=tooltip,
    )
    placed = _label_places(data, xdom, ydom, (width, height))
    labels = [
        alt.Chart(placed[placed["align"] == side])
        .mark_text(align=side, baseline="middle", fontSize=FONT["label"])
        .encode(
            x=alt.X("lx:Q", scale=alt.Scale(domain=xdom, nice=False, zero=False)),
            y=alt.Y("ly:Q", scale=alt.Scale(domain=ydom, nice=False, zero=False)),
            text=alt.Text("group:N"),
        )
        for side in ("left", "right")
        if (placed["align"] == side).any()
    ]
    fixed = (
        alt.Chart(pd.DataFrame({"x": [centre[0]], "y": [centre[1]]}))
        .mark_point(shape="cross", filled=True, size=400, color=OKABE_ITO[7])
        .encode(
            x=alt.X("x:Q"),
            y=alt.Y("y:Q"),
            tooltip=[
                alt.Tooltip("x:Q", title="fixed intercept"),
                alt.Tooltip("y:Q", title="fixed slope"),
            ],
        )
    )
    layers = [contour, shaft, start, head, fixed]
    if len(data) <= 12:
        layers += labels
    # "pad": the plot keeps its size and the axes and legends are added around it (the
    # default "fit" squeezed the plot into what the legends left of the height).
    chart = alt.layer(*layers).properties(
        width=width,
        height=height,
        title=chart_title(title, note),
        autosize=alt.AutoSizeParams(type="pad"),
    )
    return configure(chart.resolve_scale(strokeDash="independent"))


def _label_places(
    data: pd.DataFrame, xdom: list[float], ydom: list[float], size: tuple[int, int]
) -> pd.DataFrame:
    """Where each group's label goes, beside its circle without covering another label:
    the first free of up right, down right, up left, down left (greedy, top to bottom).

    Returns group, lx, ly (data units) and align ("left": the label starts at lx).
    """
    width, height = size
    px = width / (xdom[1] - xdom[0])
    py = height / (ydom[1] - ydom[0])
    sx = (data["none"].to_numpy(float) - xdom[0]) * px
    sy = (ydom[1] - data["noney"].to_numpy(float)) * py  # screen y grows downwards
    boxes: list[tuple[float, float, float, float]] = []
    rows = []
    for k in np.argsort(sy, kind="stable"):
        w = len(str(data["group"].iloc[k])) * LABEL_CHAR_PX
        options = [(12, -14, "left"), (12, 14, "left"), (-12, -14, "right"), (-12, 14, "right")]
        for dx, dy, align in options:
            left = sx[k] + dx if align == "left" else sx[k] + dx - w
            box = (left, sy[k] + dy - LABEL_PX / 2, left + w, sy[k] + dy + LABEL_PX / 2)
            free = all(
                box[2] <= b[0] or b[2] <= box[0] or box[3] <= b[1] or b[3] <= box[1] for b in boxes
            )
            if free:
                break
        boxes.append(box)
        rows.append(
            {
                "group": data["group"].iloc[k],
                "lx": xdom[0] + (sx[k] + dx) / px,
                "ly": ydom[1] - (sy[k] + dy) / py,
                "align": align,
            }
        )
    return pd.DataFrame(rows, columns=["group", "lx", "ly", "align"])


def _padded(values: np.ndarray, pad: float = 0.06) -> list[float]:
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]
