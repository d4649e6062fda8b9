"""Effect plot: predicted outcome against a predictor, one line per moderator value.

The way to read an interaction (ggeffects' ``plot(ggpredict(m, c("x", "m")))``): the
population-level prediction (fixed effects only) over the predictor's range, a line
with its confidence band for each level of a moderator (a factor's levels, or a
numeric moderator's mean - 1 SD, mean and mean + 1 SD), the other predictors held at
their means or reference levels (``lib.lmm.predict.effect_data``). Lines differ by
colour and dash, bands are the lines' colours, light; parallel lines mean no
interaction.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from lib.charts.style import (
    HEIGHT,
    SINGLE_COLOUR,
    chart_title,
    check_marks,
    configure,
    group_scales,
)


def effect_chart(
    data: pd.DataFrame,
    predictor: str,
    outcome: str,
    moderator: str | None = None,
    *,
    title: str = "",
    note: str | None = None,
) -> alt.TopLevelMixin:
    """Lines of ``predicted`` against ``x`` with ``conf.low``-``conf.high`` bands.

    Parameters
    ----------
    data : DataFrame
        ``effect_data`` output: columns ``x`` (numeric), ``group`` (the moderator's
        value, "" without one), ``predicted``, ``conf.low``, ``conf.high``.
    predictor, outcome, moderator : str
        Axis and legend titles (user column names: they never become field names).
    """
    check_marks(2 * len(data), "effect-plot points")
    # Field names without dots: Vega-Lite reads "conf.low" as a nested field.
    frame = pd.DataFrame(
        {
            "x": data["x"].to_numpy(float),
            "group": data["group"].astype(str).to_numpy(),
            "fit": data["predicted"].to_numpy(float),
            "low": data["conf.low"].to_numpy(float),
            "high": data["conf.high"].to_numpy(float),
        }
    )
    levels = list(dict.fromkeys(frame["group"]))
    x = alt.X("x:Q", title=predictor, scale=alt.Scale(zero=False, nice=False))
    y_title = f"predicted {outcome}"
    tooltip = [
        alt.Tooltip("x:Q", title=predictor, format=",.4~g"),
        alt.Tooltip("fit:Q", title=y_title, format=",.4~g"),
        alt.Tooltip("low:Q", title="lower", format=",.4~g"),
        alt.Tooltip("high:Q", title="upper", format=",.4~g"),
    ]
    base = alt.Chart(frame)
    if moderator is None:
        band = base.mark_area(opacity=0.2, color=SINGLE_COLOUR).encode(
            x=x, y=alt.Y("low:Q", title=y_title, scale=alt.Scale(zero=False)), y2=alt.Y2("high:Q")
        )
        line = base.mark_line(strokeWidth=4, color=SINGLE_COLOUR).encode(
            x=x, y=alt.Y("fit:Q"), tooltip=tooltip
        )
        layers = [band, line]
    else:
        scales = group_scales(levels)
        legend = alt.Legend(
            title=moderator,
            orient="bottom",
            columns=3,
            symbolType="stroke",
            symbolStrokeWidth=4,
            symbolSize=900,  # a symbol's area: sqrt(900) = 30 px shows the dash
            symbolOpacity=1,  # the lines' look, not the light bands'
        )
        colour = alt.Color("group:N", scale=scales["color"], legend=legend, title=moderator)
        band = base.mark_area(opacity=0.15).encode(
            x=x,
            y=alt.Y("low:Q", title=y_title, scale=alt.Scale(zero=False)),
            y2=alt.Y2("high:Q"),
            # The same colour encoding as the lines: a layer with legend=None would
            # remove the shared legend.
            color=colour,
            detail=alt.Detail("group:N"),
        )
        line = base.mark_line(strokeWidth=4).encode(
            x=x,
            y=alt.Y("fit:Q"),
            color=colour,
            strokeDash=alt.StrokeDash(
                "group:N", scale=scales["dash"], legend=legend, title=moderator
            ),
            tooltip=[alt.Tooltip("group:N", title=moderator), *tooltip],
        )
        layers = [band, line]
    chart = alt.layer(*layers).properties(
        width="container",
        height=HEIGHT - 60,
        title=chart_title(title, note),
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
    )
    return configure(chart)
