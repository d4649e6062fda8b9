"""Caterpillar plot of a random-effect term: each group's value with its interval."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from lib.charts.style import OKABE_ITO, SINGLE_COLOUR, chart_title, check_marks, configure


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
    check_marks(3 * len(data), "interval marks")
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
        x2=alt.X2("upper:Q"),
    )
    point = base.mark_point(filled=True, size=160, color=OKABE_ITO[5], shape="diamond").encode(
        x=alt.X("estimate:Q"),
        tooltip=[
            alt.Tooltip("group:N", title=group_title),
            alt.Tooltip("term:N"),
            alt.Tooltip("estimate:Q", format=",.4~g"),
            alt.Tooltip("lower:Q", format=",.4~g"),
            alt.Tooltip("upper:Q", format=",.4~g"),
        ],
    )
    zero = alt.Chart().mark_rule(strokeDash=[6, 4], color="#555555").encode(x=alt.XDatum(0))
    chart = alt.layer(rule, point, zero, data=data).properties(
        width="container", height=height, title=chart_title(title or term, note)
    )
    return configure(chart)
