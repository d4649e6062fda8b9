"""The Model page for a binomial or Poisson outcome: glmer's ``summary()`` panels (issue 16).

``ui.views.model`` hands over here when the sidebar's family is generalized. The fit
runs in the fit pool like a linear one (``ui.glmm_cache``). The panels follow
``summary(glmer(...))``: AIC, BIC, logLik, deviance, df.resid; scaled (Pearson)
residuals; random effects (variance, SD, correlation; there is no residual variance);
fixed effects with z and Wald p, and their odds ratios (logit) or rate ratios (log) with
Wald 95% intervals; then each group's observed rate beside the model's estimate for it
on the response scale, and the result in words.

The table builders (``fit_statistics``, ``scaled_residuals``, ``varcorr_table``,
``fixef_table``) are plain functions of the fit: tested against lib's numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st
from scipy import stats

from lib.charts import core as charts
from lib.classroom.pooling_glmm import group_curves, rate_table
from lib.errors import ExplorerError
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.markdown import md
from lib.present.numbers import num, p_text, pval
from lib.table.columns import finite_range
from lib.table.outcome_kind import with_binary_outcome
from ui import cache, family_widgets, glmm_cache, presentation, render
from ui.sidebar import Selection, show_error

Z95 = float(stats.norm.ppf(0.975))
RATIO_NAMES = {("binomial", "logit"): "Odds ratio", ("poisson", "log"): "Rate ratio"}
SAMPLE_CONSENT = "_glmm_fit_sample"  # the checkbox that lets a large upload's sample be fitted
MAX_GROUP_ROWS = 300  # rows of the per-group table shown (the download holds all)
MAX_CURVES = 30  # group curves drawn (the largest groups), as the linear page's lines


def draw(sel: Selection) -> None:
    """Everything below the heading and the tutorial's model buttons (``ui.views.model``)."""
    family = family_widgets.current()
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    _sample_consent(sel)
    _formula(sel.spec, family)
    fit = _fit(sel, family)
    _header(fit, family)
    _curves(sel, fit, family)
    _sections(sel, fit, family)


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


def glmer_call(spec: ModelSpec, family: ResponseFamily) -> str:
    """The lme4 call of this model (``cbind(s, n - s)`` for trials, ``offset()``)."""
    formula = spec.formula()
    lhs, rhs = formula.split(" ~ ", 1)
    if family.trials:
        lhs = f"cbind({lhs}, {_name(family.trials)} - {lhs})"
    if family.offset:
        rhs = f"{rhs} + offset({_name(family.offset)})"
    link = "" if family.link is None else f'(link = "{family.link}")'
    return f"glmer({lhs} ~ {rhs}, family = {family.family}{link})"


def _name(column: str) -> str:
    return column if column.replace("_", "a").replace(".", "a").isalnum() else f"`{column}`"


def _formula(spec: ModelSpec, family: ResponseFamily) -> None:
    if presentation.is_on():
        return
    st.subheader("Generalized linear mixed model fit by maximum likelihood (Laplace)")
    st.code(glmer_call(spec, family), language="r", wrap_lines=True)
    what = _outcome_words(spec, family)
    scale = "log-odds" if family.family == "binomial" else "log of the expected count"
    if family.link_name not in ("logit", "log"):
        scale = f"{family.link_name} scale"
    st.markdown(
        f"Family **{family.family}**, link **{family.link_name}**: the model is linear on the "
        f"{scale} of {what}; the random effects shift that scale for each group."
    )


def _outcome_words(spec: ModelSpec, family: ResponseFamily) -> str:
    """'the probability that use = Y' / 'the expected count of ticks'."""
    y = md(spec.outcome)
    if family.family == "poisson":
        return f"the expected count of {y}"
    if family.trials:
        return f"the probability of success in {y}"
    if family.success is not None:
        return f"the probability that {y} = {md(family.success)}"
    return f"the probability that {y} = 1"


def _fit(sel: Selection, family: ResponseFamily) -> GlmmFit:
    try:
        with st.spinner("Fitting the model…", show_time=True):
            return glmm_cache.fit(sel.source, sel.spec, family, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()


def _key(sel: Selection, fit: GlmmFit) -> tuple[str, str, str]:
    return (sel.source, repr(sel.spec), f"{fit.family}/{fit.link}/{fit.deviance!r}")


def _curves(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> None:
    """The observed outcomes (0/1, proportions or counts) against the predictor with each
    group's fitted curve on the response scale (``lib.classroom.pooling_glmm.group_curves``)."""
    x, group = sel.roles.predictor, sel.roles.group
    if x is None or not any(f.group == group for f in fit.ranef):
        return
    try:
        spec = cache.keyed_chart_spec(
            ("glmm_curves", *_key(sel, fit), repr(family), x, group),
            "scatter",
            lambda: _curve_inputs(sel, fit, family),
        )
    except ExplorerError as exc:
        show_error(exc)
        return
    what = "probability" if family.family == "binomial" else "expected count"
    render.chart(spec, f"{sel.spec.outcome} against {x} with each group's fitted {what}")


def _curve_inputs(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> tuple[tuple, dict]:
    """``lib.charts.core.scatter_chart``'s arguments: sampled rows, curves as lines."""
    x, group, y = sel.roles.predictor, sel.roles.group, sel.spec.outcome
    extra = (family.trials,) if family.trials else ()
    points, sampled = cache.sample_factor(
        sel.source, (y, x, *extra), (group,), charts.MAX_MARKS // 2, sel.frame
    )
    if family.family == "binomial":
        if family.trials:
            points = points.assign(**{y: points[y] / points[family.trials]})
        else:
            points = with_binary_outcome(points, y, family.success)
    factor = next(f for f in fit.ranef if f.group == group)
    shown = tuple(charts.pick_groups(factor.levels, factor.sizes, MAX_CURVES))
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


# ------------------------------------------------------------------ tables (pure)


def fit_statistics(fit: GlmmFit) -> pd.DataFrame:
    """glmer's first line: AIC, BIC, logLik, deviance (-2 logLik), df.resid."""
    return pd.DataFrame(
        {
            "AIC": [fit.aic],
            "BIC": [fit.bic],
            "logLik": [fit.loglik],
            "deviance": [fit.deviance],
            "df.resid": [int(fit.df_resid)],
        }
    )


def scaled_residuals(fit: GlmmFit) -> pd.DataFrame:
    """``Scaled residuals:`` the Pearson residuals' Min, 1Q, Median, 3Q, Max."""
    return pd.DataFrame([fit.scaled_resid_quantiles], columns=["Min", "1Q", "Median", "3Q", "Max"])


def varcorr_table(fit: GlmmFit) -> pd.DataFrame:
    """``Random effects:`` Groups, Name, Variance, Std.Dev. and, for a correlated term,
    Corr with the term's first effect (lme4's lower triangle, first column)."""
    show_corr = any(t.correlated and len(t.names) > 1 for t in fit.varcorr)
    rows = []
    for term in fit.varcorr:
        cov = np.asarray(term.covariance)
        sd = np.sqrt(np.diag(cov))
        for i, name in enumerate(term.names):
            row = {
                "Groups": term.group if i == 0 else "",
                "Name": name,
                "Variance": float(cov[i, i]),
                "Std.Dev.": float(sd[i]),
            }
            if show_corr:
                ok = term.correlated and i > 0 and sd[0] > 0 and sd[i] > 0
                row["Corr"] = float(cov[i, 0] / (sd[i] * sd[0])) if ok else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def ratio_name(fit: GlmmFit) -> str | None:
    """'Odds ratio' (binomial, logit), 'Rate ratio' (Poisson, log), else None."""
    return RATIO_NAMES.get((fit.family, fit.link))


def fixef_table(fit: GlmmFit) -> pd.DataFrame:
    """``Fixed effects:`` Estimate, Std. Error, z value, Pr(>|z|) (a number; shown by
    ``lib.present.numbers.pval``), then exp(Estimate) with its Wald 95% interval when the
    link makes it an odds or rate ratio."""
    table = pd.DataFrame(
        {
            "Estimate": fit.beta,
            "Std. Error": fit.se,
            "z value": fit.z,
            "Pr(>|z|)": fit.p_value,
        },
        index=list(fit.fixef_names),
    )
    ratio = ratio_name(fit)
    if ratio is not None:
        table[ratio] = np.exp(fit.beta)
        table["2.5 %"] = np.exp(fit.beta - Z95 * fit.se)
        table["97.5 %"] = np.exp(fit.beta + Z95 * fit.se)
    return table


def shown_fixef(table: pd.DataFrame) -> pd.DataFrame:
    """The fixed-effects table as shown: p-values as R prints them."""
    out = table.copy()
    out["Pr(>|z|)"] = [pval(p) for p in table["Pr(>|z|)"]]
    return out


# ------------------------------------------------------------------ sentences (pure)


def fixef_sentences(fit: GlmmFit, family: ResponseFamily, spec: ModelSpec) -> list[str]:
    """Each slope in words: 'the odds that use = Y are 1.01 times as high for each extra
    unit of age (95% CI 0.99 to 1.03; p = 0.27)'; the intercept as a probability."""
    ratio = ratio_name(fit)
    out = []
    names = list(fit.fixef_names)
    if "(Intercept)" in names and ratio is not None:
        k = names.index("(Intercept)")
        if fit.family == "binomial":
            p = 1.0 / (1.0 + math.exp(-fit.beta[k]))
            out.append(
                f"For a typical group (random effects 0), with every predictor at 0 (and "
                f"categories at their first level), {_outcome_words(spec, family)} is "
                f"**{num(p, 3)}**."
            )
        else:
            out.append(
                f"For a typical group with every predictor at 0, "
                f"{_outcome_words(spec, family)} is **{num(math.exp(fit.beta[k]), 3)}**."
            )
    if ratio is None:
        out.append(
            f"With the {md(fit.link)} link the estimates are on the {md(fit.link)} scale; "
            "their signs give the direction of each effect."
        )
        return out
    odds = "odds" if fit.family == "binomial" else "expected count"
    target = _outcome_words(spec, family).replace("the probability", "the odds", 1)
    if fit.family == "poisson":
        target = _outcome_words(spec, family)
    for k, name in enumerate(names):
        if name == "(Intercept)":
            continue
        b, se = fit.beta[k], fit.se[k]
        r, lo, hi = _ratio(math.exp(b), math.exp(b - Z95 * se), math.exp(b + Z95 * se))
        change = (
            f"for each extra unit of {md(name)}"
            if name in spec.columns
            else f"for {md(name)} (against the first level)"
        )
        out.append(
            f"{target[0].upper()}{target[1:]} {'are' if odds == 'odds' else 'is'} "
            f"**{r} times** as high {change} (95% CI {lo} to {hi}; {p_text(fit.p_value[k])})."
        )
    return out


def _ratio(*values: float) -> tuple[str, ...]:
    """Ratios in a sentence: 2 decimals, 3 when one lies near 1 (an interval of 0.998 to
    1.019 must not read "1.00 to 1.02")."""
    decimals = 3 if any(abs(v - 1.0) < 0.1 for v in values) else 2
    return tuple(num(v, decimals) for v in values)


def ranef_sentences(fit: GlmmFit) -> list[str]:
    """How much groups differ, as a ratio of odds (or counts) one SD apart."""
    ratio = ratio_name(fit)
    out = []
    for term in fit.varcorr:
        if "(Intercept)" not in term.names:
            continue
        sd = float(np.sqrt(term.covariance[0, 0]))
        scale = {"logit": "log-odds scale", "log": "log scale"}.get(fit.link, f"{fit.link} scale")
        text = f"The intercepts of {md(term.group)} vary with SD **{num(sd, 3)}** on the {scale}"
        if ratio is not None:
            what = "odds" if fit.family == "binomial" else "expected count"
            text += (
                f": the {what} in a {md(term.group)} one SD above the typical one are "
                f"{num(math.exp(sd), 2)} times as high"
            )
        out.append(text + ".")
    return out


# ------------------------------------------------------------------ drawing


def _header(fit: GlmmFit, family: ResponseFamily) -> None:
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
    render.meaning(
        "AIC and BIC compare models fitted to the same rows (smaller is better); the "
        "deviance is -2 times the log-likelihood, which glmer minimises."
    )
    if fit.n_dropped:
        st.info(
            f"{fit.n_dropped:,} rows were dropped because a model column is missing or not "
            "finite in them (the Data page lists which).",
            icon=":material/filter_alt:",
        )
    if fit.singular:
        st.warning(
            "The fit is singular: a random-effect variance is (nearly) zero, or a correlation "
            "is ±1. The data cannot tell that variation apart; consider removing that "
            "random effect (a random slope first) in the sidebar.",
            icon=":material/warning:",
        )


def _sections(sel: Selection, fit: GlmmFit, family: ResponseFamily) -> None:
    key = _key(sel, fit)
    st.subheader("Fit statistics")
    render.table(fit_statistics(fit), "glmm_fit_statistics", show_index=False, key=key, decimals=2)

    st.subheader("Scaled residuals")
    render.table(scaled_residuals(fit), "glmm_scaled_residuals", show_index=False, key=key)
    render.meaning(
        "Pearson residuals, (observed - fitted) / SD: for a 0/1 outcome they are lopsided by "
        "nature; values far beyond ±3 point to rows the model fits badly."
    )

    st.subheader("Random effects")
    render.table(varcorr_table(fit), "glmm_random_effects", show_index=False, key=key)
    st.caption(
        f"Number of obs: {fit.nobs:,}, groups: "
        + "; ".join(f"{md(f.group)}, {f.nlevels:,}" for f in fit.ranef)
        + ". On the link scale; a binomial or Poisson model has no residual variance."
    )
    render.meaning(" ".join(ranef_sentences(fit)) or "No random intercept.")

    st.subheader("Fixed effects")
    table = fixef_table(fit)
    render.table(shown_fixef(table), "glmm_fixed_effects", download=table, key=key)
    ratio = ratio_name(fit)
    st.caption(
        "z and p-values: Wald tests, as summary(glmer) prints them."
        + (f" {ratio}s: exp(Estimate), with Wald 95% intervals." if ratio else "")
    )
    render.meaning(" ".join(fixef_sentences(fit, family, sel.spec)))

    _group_rates(sel, fit, family)

    with st.expander("Fit details"):
        st.text(
            f"nAGQ: {fit.nagq} (Laplace)\ntheta: {np.array2string(fit.theta, precision=6)}\n"
            f"deviance evaluations: {fit.evaluations}\ntime: {fit.fit_seconds:.3f} s"
        )


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
        shown, "glmm_group_rates", show_index=False, height=300, download=table, key=_key(sel, fit)
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
