"""The Model page for a binomial or Poisson outcome: glmer's ``summary()`` panels (issue 16).

``ui.views.model`` hands over here when the sidebar's family is generalized. The fit
runs in the fit pool like a linear one (``ui.glmm_cache``). The panels follow
``summary(glmer(...))``: AIC, BIC, logLik, deviance, df.resid; scaled (Pearson)
residuals; random effects (variance, SD, correlation; there is no residual variance);
fixed effects with z and Wald p, and their odds ratios (logit) or rate ratios (log) with
Wald 95% intervals; the dispersion check; ICC and R² on the latent scale; each group's
observed rate beside the model's estimate for it on the response scale; a report.

The tables are ``lib.present.glmm_summary``'s and the sentences
``lib.present.explain_glmm``'s (the CLI and the report say the same); this module draws.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import readable as chart_readable
from lib.charts import style as chart_style
from lib.classroom.pooling_glmm import group_curves, rate_table
from lib.errors import ExplorerError
from lib.glmm.agq import agq_applies
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present import explain_glmm
from lib.present.family import family_line, method_name, ratio_name
from lib.present.glmm_summary import (
    glmm_fixef_corr_table,
    glmm_fixef_table,
    glmm_varcorr_table,
    ratio_table,
)
from lib.present.markdown import md
from lib.present.numbers import pval
from lib.present.snippets import glmer_line
from lib.present.summary import scaled_residuals
from lib.table.columns import finite_range
from lib.table.outcome_kind import with_binary_outcome
from ui import cache, family_widgets, glmm_cache, presentation, render, state
from ui.sidebar import Selection, show_error
from ui.views import model_glmm_panels as panels

SAMPLE_CONSENT = "_glmm_fit_sample"  # the checkbox that lets a large upload's sample be fitted
MAX_GROUP_ROWS = 300  # rows of the per-group table shown (the download holds all)
NAGQ_KEY = state.NAGQ  # the likelihood approximation: a URL key (``nagq=9``)
# Short labels: the selectbox is 300 px wide ("Laplace (nAGQ = 1, glmer's default)" was cut).
NAGQ_LABELS = (
    "Laplace (glmer's default)",
    "Gauss-Hermite, 9 points",
    "Gauss-Hermite, 25 points",
    "nAGQ = 0 (fast, rough)",
)
NAGQ_CHOICES = dict(zip(state.NAGQ_VALUES, NAGQ_LABELS, strict=True))  # the URL reads these
MAX_CURVES = 30  # group curves drawn (the largest groups), as the linear page's lines


def draw(sel: Selection) -> None:
    """Everything below the heading and the tutorial's model buttons (``ui.views.model``)."""
    family = family_widgets.current()
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    _sample_consent(sel)
    nagq = _nagq(sel.spec)
    _formula(sel.spec, family, nagq)
    fit = _fit(sel, family, nagq)
    response = named_success(family, fit)
    _header(fit, response)
    main_chart = _curves(sel, fit, family)
    with render.tables_in_one_download() as tables:  # one ZIP button, in the report section
        _sections(sel, fit, response)
    panels.equations_and_code(sel, fit, response)
    panels.report(sel, fit, response, main_chart, tables)


def named_success(family: ResponseFamily, fit: GlmmFit) -> ResponseFamily:
    """The family with the level the fit counted as 1 named (glmer's rule when the user
    chose none), so that every sentence says "the odds that use is Y", not "is 1"."""
    levels = fit.outcome_levels
    if levels is None or family.success is not None or family.trials is not None:
        return family
    return dataclasses.replace(family, success=levels.success)


def _sample_consent(sel: Selection) -> None:
    """A generalized model needs every row on every iteration: DuckDB's sufficient
    statistics do not apply. A large upload is fitted to its sample only when asked."""
    if sel.big is None:
        return
    n_sample, n_all = len(sel.frame), sel.big.n_rows
    st.warning(
        f"This upload has {n_all:,} rows. A binomial or Poisson model needs every row in "
        "memory on every step of the fit, so it cannot be fitted by DuckDB as a linear "
        f"model can. It can be fitted to the random sample of {n_sample:,} rows this page "
        "holds; its numbers are then the sample's, not the whole file's.",
        icon=":material/database:",
    )
    if not st.checkbox(
        f"Fit the model to the random sample of {n_sample:,} rows", key=SAMPLE_CONSENT
    ):
        st.stop()


def agq_allowed(spec: ModelSpec) -> bool:
    """glmer's rule for nAGQ > 1: one scalar random-effects term (``lib.glmm.agq``)."""
    return agq_applies(spec)


def _nagq(spec: ModelSpec) -> int:
    """The likelihood approximation: Laplace (glmer's default), or adaptive Gauss-Hermite
    quadrature where glmer allows it (``lib.glmm.agq``). A choice the model does not allow
    is kept, and said to be kept (docs/glmm-app.md): it applies again, here and on the
    Compare page, when the model allows it."""
    if presentation.is_on():
        st.session_state.pop(NAGQ_KEY, None)
        state.write_url({NAGQ_KEY: None}, {})
        return 1
    state.keep((NAGQ_KEY,))
    if st.session_state.get(NAGQ_KEY) not in NAGQ_CHOICES:
        st.session_state[NAGQ_KEY] = 1
    if not agq_allowed(spec):
        kept = int(st.session_state[NAGQ_KEY])
        if kept != 1:
            st.caption(
                f"Fitted by Laplace: the likelihood approximation you chose (nAGQ = {kept}) "
                "is offered for one random intercept or one random slope alone, as in glmer. "
                "It is kept, and applies again when the model has one."
            )
        state.write_url({NAGQ_KEY: kept}, {NAGQ_KEY: 1})
        return 1
    nagq = int(
        st.selectbox(
            "Likelihood approximation",
            list(NAGQ_CHOICES),
            format_func=NAGQ_CHOICES.get,
            key=NAGQ_KEY,
            help="glmer's nAGQ. Laplace (1) is its default; with one random intercept (or slope), "
            "adaptive Gauss-Hermite quadrature with more points is more accurate (and its "
            "logLik leaves out a constant, so compare it only with other nAGQ > 1 fits).",
            width=300,
        )
    )
    state.write_url({NAGQ_KEY: nagq}, {NAGQ_KEY: 1})
    return nagq


def _formula(spec: ModelSpec, family: ResponseFamily, nagq: int = 1) -> None:
    if presentation.is_on():
        return
    st.subheader(f"Generalized linear mixed model fit by maximum likelihood ({method_name(nagq)})")
    st.code(glmer_line(spec, family, nagq), language="r", wrap_lines=True)
    st.caption(
        f"Family: {md(family_line(family))}. The model is linear on the link scale "
        f"({md(family.link_name)}); the random effects shift it for each group."
    )


def _fit(sel: Selection, family: ResponseFamily, nagq: int = 1) -> GlmmFit:
    done = glmm_cache.finished_fit(sel.source, sel.spec, family, nagq)
    if done is not None:  # a warm rerun: no spinner
        return done
    try:
        with st.spinner("Fitting the model…", show_time=True):
            return glmm_cache.fit(sel.source, sel.spec, family, sel.frame, nagq)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()


def _curves(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> dict | None:
    """The observed outcomes (0/1, proportions or counts) against the predictor with each
    group's fitted curve on the response scale (``lib.classroom.pooling_glmm.group_curves``)."""
    x, group = sel.roles.predictor, sel.roles.group
    if x is None or not any(f.group == group for f in fit.ranef):
        return None
    try:
        spec = cache.keyed_chart_spec(
            ("glmm_curves", *panels.key_of(sel, fit), repr(family), x, group),
            "scatter",
            lambda: _curve_inputs(sel, fit, family),
        )
    except ExplorerError as exc:
        show_error(exc)
        return None
    what = "probability" if family.family == "binomial" else "expected count"
    render.chart(spec, f"{sel.spec.outcome} against {x} with each group's fitted {what}")
    return spec


def _curve_inputs(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> tuple[tuple, dict]:
    """``lib.charts.scatter.scatter_chart``'s arguments: sampled rows, curves as lines."""
    x, group, y = sel.roles.predictor, sel.roles.group, sel.spec.outcome
    extra = (family.trials,) if family.trials else ()
    points, sampled = cache.sample_factor(
        sel.source, (y, x, *extra), (group,), chart_style.MAX_MARKS // 2, sel.frame
    )
    if family.family == "binomial":
        if family.trials:
            points = points.assign(**{y: points[y] / points[family.trials]})
        else:
            points = with_binary_outcome(points, y, family.success)
    factor = next(f for f in fit.ranef if f.group == group)
    shown = tuple(chart_readable.pick_groups(factor.levels, factor.sizes, MAX_CURVES))
    curves = group_curves(fit, family, group, x, finite_range(sel.frame, x), shown)
    notes = []
    if sampled:
        notes.append(f"random sample of {len(points):,} rows")
    if len(shown) < factor.nlevels:
        notes.append(f"curves for the {len(shown)} largest of {factor.nlevels:,} groups")
    if len(fit.fixef_names) > 2 or family.offset:
        notes.append("other fixed effects and the offset at 0")
    binomial = family.family == "binomial"
    label = (
        f"{y} ({family.success or 1} = 1)"
        if binomial and not family.trials
        else (f"proportion {y} / {family.trials}" if binomial else y)
    )
    title = "Each group's fitted probability" if binomial else "Each group's expected count"
    return (points.rename(columns={y: label}), x, label, group), {
        "lines": curves,
        "levels": [str(v) for v in factor.levels],
        "title": title,
        "note": "; ".join(notes) or None,
    }


# ------------------------------------------------------------------ drawing


def _header(fit: GlmmFit, response: ResponseFamily) -> None:
    groups = ", ".join(f"{f.nlevels:,}" for f in fit.ranef)
    render.metrics(
        [
            render.Metric("AIC", f"{fit.aic:,.1f}", f"Unrounded: {fit.aic:.6f}"),
            render.Metric("BIC", f"{fit.bic:,.1f}"),
            render.Metric("logLik", f"{fit.loglik:,.1f}", f"Unrounded: {fit.loglik:.6f}"),
            render.Metric("deviance", f"{fit.deviance:,.1f}", "-2 logLik, glmer's objective."),
            render.Metric("df.resid", f"{fit.df_resid:,}"),
            render.Metric("Observations", f"{fit.nobs:,}"),
            render.Metric(
                "Groups", groups, "; ".join(f"{f.group}: {f.nlevels:,}" for f in fit.ranef)
            ),
        ]
    )
    render.meaning(explain_glmm.criterion(fit))
    if fit.n_dropped:
        st.info(
            f"{fit.n_dropped:,} rows were dropped because a model column is missing or not "
            "finite in them (the Data page lists which).",
            icon=":material/filter_alt:",
        )
    singular = explain_glmm.singular(fit)
    if singular:
        st.warning(singular, icon=":material/warning:")
    messages = fit.convergence.messages if fit.convergence is not None else ()
    if messages:
        items = "\n".join(f"- {md(m)}" for m in messages)
        st.warning(
            f"lme4's convergence checks report:\n{items}\nTreat the numbers with caution.",
            icon=":material/warning:",
        )


def _sections(sel: Selection, fit: GlmmFit, response: ResponseFamily) -> None:
    key = panels.key_of(sel, fit)
    st.subheader("Scaled residuals")
    render.table(scaled_residuals(fit), "glmm_scaled_residuals", show_index=False, key=key)
    render.meaning(
        "Pearson residuals, (observed - fitted) / SD: for a 0/1 outcome they are lopsided by "
        "nature; values far beyond ±3 point to rows the model fits badly."
    )

    st.subheader("Random effects")
    render.table(glmm_varcorr_table(fit), "glmm_random_effects", show_index=False, key=key)
    st.caption(
        f"Number of obs: {fit.nobs:,}, groups: "
        + "; ".join(f"{md(f.group)}, {f.nlevels:,}" for f in fit.ranef)
        + ". On the link scale; a binomial or Poisson model has no residual variance."
    )
    render.meaning(explain_glmm.varcorr(fit, response))

    st.subheader("Fixed effects")
    table = glmm_fixef_table(fit)
    render.table(p_shown(table), "glmm_fixed_effects", download=table, key=key)
    st.caption("z and p-values: Wald tests (estimate / SE), as summary(glmer) prints them.")
    ratio = ratio_name(response)
    if ratio is not None:
        ratios = ratio_table(fit, response)
        st.markdown(f"**{ratio.capitalize()}s** (exp of the estimates) with Wald 95% limits:")
        render.table(p_shown(ratios), "glmm_ratios", download=ratios, key=key)
    render.meaning(explain_glmm.fixef(fit, sel.spec, response))
    if len(fit.fixef_names) > 1:
        st.subheader("Correlation of fixed effects")
        render.table(glmm_fixef_corr_table(fit), "glmm_fixef_correlation", decimals=3, key=key)

    panels.intervals(sel, fit, response)
    panels.dispersion(sel, fit, response)
    panels.icc_r2(sel, fit)
    _group_rates(sel, fit, response)
    with st.expander("Fit details"):
        stages = fit.optimizer.stages if fit.optimizer is not None else ()
        listed = "\n".join(f"  {k}. {stage}" for k, stage in enumerate(stages, 1))
        st.text(
            f"{method_name(fit.nagq)}\noptimizer stages:\n{listed}\n"
            f"theta: {np.array2string(fit.theta, precision=6)}\ntime: {fit.fit_seconds:.3f} s"
        )


def p_shown(table: pd.DataFrame) -> pd.DataFrame:
    """A table as shown: its ``Pr(>|z|)`` column as R prints p-values
    (``lib.present.numbers.pval``; ``render.table`` knows t and chi-square columns)."""
    if "Pr(>|z|)" not in table:
        return table
    return table.assign(**{"Pr(>|z|)": [pval(p) for p in table["Pr(>|z|)"]]})


def _group_rates(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> None:
    group = sel.roles.group
    what = "probabilities" if family.family == "binomial" else "mean counts"
    st.subheader(f"Predicted {what} per group")
    try:
        result = glmm_cache.pooling(
            sel.source, repr(sel.spec), repr(family), group, sel.spec, family, fit, sel.frame
        )
    except ExplorerError as exc:
        show_error(exc)
        return
    table = rate_table(result)
    shown = table if len(table) <= MAX_GROUP_ROWS else table.head(MAX_GROUP_ROWS)
    render.table(
        shown,
        "glmm_group_rates",
        show_index=False,
        height=300,
        download=table,
        key=panels.key_of(sel, fit),
    )
    kind = family_widgets.kind_of(sel.source, sel.spec.outcome, sel.frame)
    observed = "proportion of successes" if family.family == "binomial" else "mean count"
    if kind is not None and kind.needs_success and family.success:
        observed = f"share of rows with {md(sel.spec.outcome)} = {md(family.success)}"
    fitted = "probability" if family.family == "binomial" else "mean count"
    render.meaning(
        f"Observed: each {md(group)}'s own {observed}. Model estimate: the model's fitted "
        f"{fitted} for its rows, with its random effect, which pulls a small group's rate "
        "towards the population's. Population: the fixed effects alone. The Pooling page "
        "draws them."
    )
