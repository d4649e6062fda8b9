"""The Pooling page: complete, no and partial pooling of the current model, side by side."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import pooling as pooling_charts
from lib.classroom.pooling import Pooling, pooling_table
from lib.classroom.pooling_glmm import RatePooling, rate_table
from lib.errors import ExplorerError
from lib.model.response import ResponseFamily
from lib.model.spec import INTERCEPT
from lib.present.markdown import md
from lib.present.numbers import num, pct
from ui import big, cache, classroom_cache, family_widgets, glmm_cache, presentation, render
from ui.sidebar import Selection, show_error

MAX_PANELS = 6  # group panels in the lines chart
MAX_ROWS = 40  # groups in the one-row-per-group shrinkage plot
MAX_PLANE = 60  # arrows in the 2-D shrinkage plot
# Below this pull (1 - shrinkage weight) for every group and effect, partial pooling is
# drawn on top of no pooling: the page says so instead of describing a pull nobody sees.
NEGLIGIBLE = 0.05


def draw(sel: Selection) -> None:
    family = family_widgets.current()
    if family.generalized:  # issue 16: proportions / mean counts on the response scale
        presentation.heading("Pooling", sel)
        _rates(sel, family)
        return
    presentation.heading("Pooling", sel)
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    try:
        with st.spinner("Fitting the model…", show_time=True):
            fit = cache.fit(sel.source, sel.spec, sel.frame)
            result = classroom_cache.pooling(sel.source, sel.spec, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    if not presentation.is_on():  # presenting: the heading already shows the formula
        st.code(fit.formula, language="r", wrap_lines=True)
    g = md(result.group)
    st.caption(
        f"**Complete pooling**: one line for all. **No pooling**: each {g} on its own data. "
        f"**Partial pooling** (the mixed model): each {g}'s own estimate pulled towards the "
        f"overall line, the more the less data the {g} has."
    )
    tabs = st.tabs(["Lines", "Shrinkage plot", "Table"])
    with tabs[0]:
        _lines(sel, result)
    with tabs[1]:
        _shrinkage(result)
    with tabs[2]:
        _table(result)


def _lines(sel: Selection, result: Pooling) -> None:
    x = sel.roles.predictor
    if x is None:
        st.info("Choose a numeric predictor in the sidebar to draw lines.")
        return
    shown = pooling_charts.pick_for_pooling(result.levels, result.sizes, MAX_PANELS)
    columns = (sel.roles.outcome, x, sel.roles.group)
    points, sampled = cache.sample(sel.source, columns, sel.roles.group, 3000, sel.frame)
    points = points[points[sel.roles.group].astype(str).isin(set(shown))]
    points = pd.DataFrame(
        {
            "group": points[sel.roles.group].astype(str),
            "x": points[x],
            "y": points[sel.roles.outcome],
        }
    )
    values = sel.frame[x].to_numpy(dtype=float, na_value=np.nan)
    x_range = (float(np.nanmin(values)), float(np.nanmax(values)))
    lines = pooling_charts.strategy_lines(result, x, x_range, shown)
    notes = []
    if len(shown) < result.nlevels:
        notes.append(f"the {len(shown)} smallest and largest of {result.nlevels:,} groups")
    if sampled:
        notes.append("a random sample of the rows")
    if any(c not in (INTERCEPT, x) for c in result.names):
        notes.append("other fixed effects at 0")
    spec = classroom_cache.chart_spec(
        "pooling_lines",
        points,
        lines,
        x,
        sel.roles.outcome,
        group_title=result.group,
        title="Each group's line under the three strategies",
        note="; ".join(notes) or None,
    )
    render.chart(spec, "One panel per group with its complete, no and partial pooling lines")
    render.meaning(_lines_meaning(result))


def negligible(result: Pooling) -> str | None:
    """The sentence for a fit whose every group keeps nearly all of its own estimate, or
    None when the pull towards the fixed effects is visible."""
    w = result.weights[np.isfinite(result.weights)]
    if not w.size or 1.0 - float(w.min()) >= NEGLIGIBLE:
        return None
    g = md(result.group)
    n = result.sizes.astype(int)
    return (
        f"Shrinkage is negligible here: every {g} keeps at least {pct(w.min())} of its own "
        f"estimate (weights {num(w.min())} to {num(w.max())}), so partial pooling lies on "
        f"top of no pooling. Each {g} has {n.min():,} to {n.max():,} rows and the groups "
        "differ much more than their noise (τ² is large against σ²/n), so their own data "
        "decide. Partial pooling pulls hard only with few rows per group or small "
        "differences between groups: try the Sandbox with 5 rows per group."
    )


def _lines_meaning(result: Pooling) -> str:
    said = negligible(result)
    if said is not None:
        return said
    k = int(np.argmin(result.sizes))
    level = md(result.levels[k])
    name = result.random[0]
    j = result.column(name)
    what = "intercept" if name == INTERCEPT else f"slope of {md(name)}"
    return (
        f"The blue line (partial pooling) lies between the group's own line (vermillion) and "
        f"the overall line (black). The smallest group, {level} (n = {int(result.sizes[k])}), "
        f"has its own {what} {num(result.no_pooling[k, j])}; the mixed model gives "
        f"{num(result.partial[k, j])}."
    )


def _shrinkage(result: Pooling) -> None:
    slopes = [r for r in result.random if r != INTERCEPT]
    if INTERCEPT in result.random and slopes:
        slope = slopes[0]
        levels = None
        if result.nlevels > MAX_PLANE:
            levels = pooling_charts.pick_for_pooling(result.levels, result.sizes, MAX_PLANE)
        spec = classroom_cache.chart_spec(
            "shrinkage_plane",
            result,
            slope,
            levels=levels,
            title="Own estimates pulled towards the centre",
            note="circle: own regression (no pooling) · arrow head: mixed model · +: fixed effects",
        )
        render.chart(spec, "Intercept-slope plane with shrinkage arrows and contour ellipses")
        said = negligible(result)
        if said is not None:
            render.meaning(said + " The arrows are too short to see: circle and head coincide.")
            return
        render.meaning(
            "Each arrow starts at the group's own regression (no pooling) and ends at its "
            "mixed-model estimate; the cross is the fixed effects. The ellipses hold 50% and "
            "95% of groups if the fitted random-effects distribution is right. Arrows point "
            "inwards: groups are pulled towards the centre, small ones (small circles) more, "
            "and along the ellipse's tilt when intercepts and slopes are correlated."
        )
        return
    for name in result.random:
        shown = pooling_charts.pick_for_pooling(result.levels, result.sizes, MAX_ROWS)
        subset = result if len(shown) == result.nlevels else _subset(result, shown)
        what = "intercept" if name == INTERCEPT else f"slope of {name}"
        spec = classroom_cache.chart_spec(
            "shrinkage_rows",
            subset,
            name,
            group_title=result.group,
            title=f"Each group's {what}",
            note="circle: own estimate (no pooling) · triangle: mixed model · dashes: fixed effect",
        )
        render.chart(spec, f"One row per group: shrinkage of the {what}")
    render.meaning(_weights_meaning(result))


def _effect_name(name: str) -> str:
    return "Intercepts" if name == INTERCEPT else f"Slopes of {md(name)}"


def _subset(result: Pooling, levels: list[str]) -> Pooling:
    from dataclasses import replace

    keep = [result.levels.index(v) for v in levels]
    return replace(
        result,
        levels=tuple(levels),
        sizes=result.sizes[keep],
        no_pooling=result.no_pooling[keep],
        partial=result.partial[keep],
        weights=result.weights[keep],
    )


def _weights_meaning(result: Pooling) -> str:
    said = negligible(result)
    if said is not None:
        return said
    w = result.weights[:, 0]
    ok = np.isfinite(w)
    if not ok.any():
        return "No group's own estimate could be computed."
    lo = int(np.nanargmin(w))
    hi = int(np.nanargmax(w))
    name = result.random[0]
    what = "baseline" if name == INTERCEPT else f"slope of {md(name)}"
    return (
        f"The shrinkage weight is the share of a group's own deviation in {what} that the "
        f"mixed model keeps: {md(result.levels[lo])} (n = {int(result.sizes[lo])}) keeps "
        f"{pct(w[lo])}, {md(result.levels[hi])} (n = {int(result.sizes[hi])}) keeps "
        f"{pct(w[hi])}. Fewer rows or a smaller between-group variance mean a smaller weight "
        "and a stronger pull towards the fixed effect."
    )


def _table(result: Pooling) -> None:
    table = pooling_table(result)
    decimals = {"weight": 3, "n": 0}
    several = len(result.random) > 1
    for k, name in enumerate(result.random):
        # One table per effect, labelled by group: a wrapped table repeats only its first
        # column, so the rows of two effects would be told apart by nothing.
        if several:
            st.markdown(f"**{_effect_name(name)}**")
        render.table(
            table[table["effect"] == name].drop(columns="effect"),
            "pooling" if k == 0 else f"pooling_{k + 1}",
            decimals=decimals,
            height=420,
            download=table if k == 0 else None,
        )
    if len(result.random) == 1 and result.random[0] == INTERCEPT:
        tau2 = float(result.covariance[0, 0])
        st.markdown(
            f"Weight = τ² / (τ² + σ²/n) with τ² = {num(tau2)} (between-group variance of the "
            f"intercepts) and σ² = {num(result.sigma2)} (residual variance)."
        )
    else:
        st.markdown(
            "Weight of each effect = τ²ₖ / (τ²ₖ + σ² [(Z′Z)⁻¹]ₖₖ), the reliability of the "
            "group's own estimate; with a single random intercept it is τ² / (τ² + σ²/n)."
        )


def _rates(sel: Selection, family: ResponseFamily) -> None:
    """Pooling of proportions (binomial) or mean counts (Poisson): each group's own rate,
    the mixed model's estimate for it and the population's (``lib.classroom.pooling_glmm``)."""
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    if sel.big is not None:
        big.note(sel, "This page fits its model to {sample}.")
    group = sel.roles.group
    try:
        with st.spinner("Fitting the model…", show_time=True):
            fit = glmm_cache.fit(sel.source, sel.spec, family, sel.frame)
            result = glmm_cache.pooling(
                sel.source, repr(sel.spec), repr(family), group, sel.spec, family, fit, sel.frame
            )
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    binomial = family.family == "binomial"
    word = "proportion" if binomial else "mean count"
    g = md(group)
    st.caption(
        f"**No pooling**: each {g}'s own {word} (hollow circle). **Partial pooling**: the "
        f"mixed model's estimate for it (blue arrowhead), pulled towards **complete "
        f"pooling**, the population's {word} for the same rows from the fixed effects "
        "alone (black tick)."
    )
    shown = result.levels
    sizes = result.sizes
    picked = pooling_charts.pick_for_pooling(shown, sizes, MAX_ROWS)
    keep = np.isin(np.asarray(shown, dtype=object), picked)
    note = None if keep.all() else f"{keep.sum()} of {len(shown):,} groups, smallest and largest"
    kwargs = {
        "levels": [v for v, k in zip(shown, keep, strict=True) if k],
        "sizes": sizes[keep],
        "observed": result.observed[keep],
        "partial": result.partial[keep],
        "population": result.population[keep],
        # The dashed line only where the population's rate is one number (no predictor):
        # with a predictor the ticks differ and "every predictor at 0" may lie far off.
        "overall": result.overall if np.ptp(result.population) < 1e-9 else None,
        "proportion": binomial,
        "group_title": group,
        "rate_title": word,
        "title": f"Each {group}'s {word}, pulled towards the population",
        "note": note,
    }
    key = repr((sel.source, repr(sel.spec), repr(family), group, "pooling"))
    render.chart(glmm_cache.rate_chart(key, kwargs), f"Raw and pooled {word}s per group")
    render.table(rate_table(result), "rate_pooling", show_index=False, height=300)
    render.meaning(_rates_meaning(result, word))


def _rates_meaning(result: RatePooling, word: str) -> str:
    """The group pulled furthest, in words."""
    moved = np.abs(result.observed - result.partial)
    k = int(np.nanargmax(moved))
    g = _level_name(result.group, result.levels[k])
    return (
        f"{g} ({int(result.sizes[k]):,} rows) moves most: its own {word} "
        f"{num(result.observed[k])} becomes {num(result.partial[k])}, towards the population's "
        f"{num(result.population[k])}. Groups with few rows move most"
        + (
            "; a group at 0 or 1 from few trials is pulled in but never past 0 or 1."
            if word == "proportion"
            else "."
        )
    )


def _level_name(group: str, level: str) -> str:
    """A group in a sentence: "district 3" for a bare number, "class 3A" as it is."""
    return f"{md(group)} {md(level)}" if str(level).replace(".", "").isdigit() else md(level)
