"""The Model page: one mixed model, every panel of the tutorial's ``summary()`` walk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from lib import charts, summary
from lib.design import finite_range
from lib.errors import ExplorerError
from lib.lmm import LmmFit
from ui import cache, explain, render, state
from ui.render import md
from ui.sidebar import Selection, show_error

MAX_LINES = 30  # group lines drawn on the scatter
MAX_CATERPILLAR = 40  # groups in the random-effects interval chart
# Short, distinct button labels (the preset names stay the keys and the URL's words).
PRESET_LABELS = {
    "Null model": "Null model",
    "Random intercept": "Random intercept",
    "Random slope": "Random slope",
    "Random intercept and slope": "Intercept + slope",
}


def draw(sel: Selection) -> None:
    st.title("Model")
    _presets()
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    with st.spinner("Fitting the model…", show_time=True):
        try:
            fit = cache.fit(sel.source, sel.spec, sel.frame)
        except ExplorerError as exc:
            show_error(exc)
            st.stop()
    _header(fit)
    _chart(sel, fit)
    _sections(sel, fit)


def _presets() -> None:
    st.markdown("**The tutorial's models** (or set the toggles in the sidebar):")
    # A horizontal container sizes each button to its label (four equal columns cut
    # "Random intercept" at 1280 px) and wraps them onto a second row on a narrow screen.
    with st.container(horizontal=True, gap="small"):
        for name in state.PRESETS:
            st.button(
                PRESET_LABELS[name],
                key=f"_preset_{name}",
                on_click=state.apply_preset,
                args=(name,),
                help=f"The tutorial's {name.lower()}.",
                wrap=True,
            )


def _header(fit: LmmFit) -> None:
    method = "REML" if fit.reml else "maximum likelihood"
    st.subheader(f"Linear mixed model fit by {method}")
    st.code(fit.formula, language="r", wrap_lines=True)
    st.markdown(explain.formula(fit.spec))
    # Two rows of three: six metrics in one row are cut to "98…" on a 1280 px projector.
    top = st.columns(3)
    top[0].metric(
        fit.criterion_name, f"{fit.criterion:.1f}", help=f"Unrounded: {fit.criterion:.6f}"
    )
    top[1].metric("AIC", f"{fit.aic:.1f}")
    top[2].metric("BIC", f"{fit.bic:.1f}")
    bottom = st.columns(3)
    bottom[0].metric("logLik", f"{fit.loglik:.1f}")
    bottom[1].metric("Observations", f"{fit.nobs:,}")
    bottom[2].metric("Groups", ", ".join(f"{n:,}" for n in fit.ngroups.values()))
    render.meaning(explain.criterion(fit))
    dropped = getattr(fit, "n_dropped", 0)
    if dropped:
        st.info(
            f"{dropped:,} rows were dropped because a model column is missing or not finite "
            "in them (the Data page lists which).",
            icon=":material/filter_alt:",
        )
    else:
        st.caption("No rows were dropped: every row has all the model's columns.")
    if fit.singular:
        text, changes, label = explain.singular(fit)
        st.warning(text, icon=":material/warning:")
        if changes:
            st.button(label, key="_simplify", on_click=state.apply_changes, args=(changes,))
    if not fit.optimizer.converged:
        st.warning(
            f"The optimizer reported a problem: {md(fit.optimizer.message)}. Treat the numbers "
            "with caution.",
            icon=":material/warning:",
        )


def _chart(sel: Selection, fit: LmmFit) -> None:
    roles = sel.roles
    x = roles.predictor
    if x is None:
        return
    columns = (roles.outcome, x, roles.group)
    points, sampled = cache.sample(sel.source, columns, roles.group, charts.MAX_MARKS, sel.frame)
    x_range = finite_range(sel.frame, x)
    coef = summary.coef_table(fit)
    factor = fit.ranef[0]
    shown = charts.pick_groups(factor.levels, factor.sizes, MAX_LINES)
    beta = dict(zip(fit.fixef_names, fit.beta, strict=True))
    overall = (beta.get("(Intercept)", 0.0), beta.get(x, 0.0))
    lines = charts.coefficient_lines(coef, x, x_range, overall=overall, groups=shown)
    notes = []
    if sampled:
        notes.append(f"random sample of {len(points):,} rows")
    if len(shown) < factor.nlevels:
        notes.append(f"lines for the {len(shown)} largest of {factor.nlevels:,} groups")
    if roles.covariates:
        notes.append("lines at 0 for the other fixed effects")
    spec = cache.chart_spec(
        "scatter",
        points,
        x,
        roles.outcome,
        roles.group,
        lines=lines,
        levels=list(factor.levels),
        title="Fitted line of each group",
        note="; ".join(notes) or None,
    )
    render.chart(spec, f"Scatter of {roles.outcome} against {x} with fitted lines per group")


def _sections(sel: Selection, fit: LmmFit) -> None:
    st.subheader("Scaled residuals")
    render.table(summary.scaled_residuals(fit), "scaled_residuals", show_index=False)
    render.meaning(explain.residuals(fit.scaled_resid_quantiles))

    st.subheader("Random effects")
    render.table(summary.varcorr_table(fit), "random_effects", show_index=False)
    groups = "; ".join(f"{md(name)}, {n:,}" for name, n in fit.ngroups.items())
    st.caption(f"Number of obs: {fit.nobs:,}, groups: {groups}")
    render.meaning(explain.varcorr(fit))

    st.subheader("Fixed effects")
    render.table(summary.fixef_table(fit), "fixed_effects", decimals={"df": 2, "t value": 3})
    st.caption("df and p-values: Satterthwaite's method, as lmerTest reports them.")
    render.meaning(explain.fixef(fit))

    if len(fit.fixef_names) > 1:
        st.subheader("Correlation of fixed effects")
        render.table(summary.fixef_corr_table(fit), "fixef_correlation", decimals=3)
        render.meaning(explain.fixef_corr(fit))

    st.subheader("Random effects per group")
    _ranef_panel(sel, fit)

    st.subheader("Intraclass correlation and R²")
    render.table(summary.icc_r2_table(fit), "icc_r2", decimals=3)
    caveat = explain.icc_caveat(fit.spec)
    if caveat:
        st.info(caveat, icon=":material/info:")
    render.meaning(explain.icc_r2(fit))

    if list(fit.fixef_names) == ["(Intercept)"] and fit.spec.random[0].intercept:
        _null_means(sel, fit)

    with st.expander("Fit details"):
        opt = fit.optimizer
        st.text(
            f"optimizer: {opt.method}, converged: {opt.converged}, evaluations: "
            f"{opt.n_evaluations}\ntheta: {np.array2string(fit.theta, precision=6)}\n"
            f"time: {fit.fit_seconds:.3f} s"
        )


def _ranef_panel(sel: Selection, fit: LmmFit) -> None:
    intervals = summary.ranef_intervals(fit)
    factor = fit.ranef[0]
    shown = charts.pick_groups(factor.levels, factor.sizes, MAX_CATERPILLAR)
    subset = intervals[intervals["group"].isin(shown)]
    many = len(shown) < factor.nlevels
    note = f"the {len(shown)} largest of {factor.nlevels:,} groups" if many else None
    st.markdown("Each group's random effect with ±1.96 conditional SD:")
    # One chart per term, stacked: side by side they do not fit a projector's width.
    for term in factor.names:
        what = "intercept" if term == "(Intercept)" else f"slope of {term}"
        spec = cache.chart_spec(
            "ranef",
            subset,
            term=term,
            group_title=factor.group,
            x_title=f"deviation from the fixed {what}"
            if term in fit.fixef_names
            else f"random {what}",
            title=f"Random {what}",
            note=note,
        )
        render.chart(spec, f"Random {what} of each group with its interval")
    table = intervals.rename(columns={"group": factor.group})
    render.table(table, "random_effects_by_group", show_index=False, height=300)
    render.meaning(explain.ranef(fit))
    st.markdown("Each group's own coefficients (fixed + random effect), lme4's `coef()`:")
    render.table(summary.coef_table(fit), "coefficients_by_group", height=300)


def _null_means(sel: Selection, fit: LmmFit) -> None:
    st.subheader("Observed means and the null model")
    try:
        groups = cache.group_summary(sel.source, fit.spec.outcome, sel.roles.group, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return
    levels = list(fit.ranef[0].levels)
    means = pd.Series(groups.mean, index=list(groups.levels)).reindex(levels)
    table = summary.null_model_means(fit, means.to_numpy())
    render.table(table, "null_model_means")
    render.meaning(
        "The fixed intercept is the grand mean; each group's random intercept is its "
        "deviation from it. Their sum (last column) comes close to the observed mean but is "
        "pulled towards the grand mean, most for small or noisy groups (partial pooling)."
    )
