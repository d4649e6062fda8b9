"""A GlmmFit -> tables of numbers with ``summary(glmer(...))``'s labels.

The generalized counterpart of ``lib.present.summary``: unrounded numbers in
DataFrames labelled as lme4 labels them (``z value``, ``Pr(>|z|)``, no
``Residual`` row: binomial and Poisson models have no residual variance), plus
the odds-ratio / rate-ratio table that a reader of a logistic or Poisson model
asks for first. Formatting happens where a table is shown (``lib.present.numbers``
in the app and report, ``lib.present.glmm_text`` for the printout).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lib.glmm.intervals import ratio_intervals, wald_intervals
from lib.model.response import ResponseFamily
from lib.present.family import ratio_name
from lib.present.summary import varcorr_rows

GLMM_FIXEF_COLUMNS = ("Estimate", "Std. Error", "z value", "Pr(>|z|)")
CRITERIA_COLUMNS = ("AIC", "BIC", "logLik", "deviance", "df.resid")


def glmm_ngroups(fit: Any) -> dict[str, int]:
    """Levels per grouping factor, in lme4's order (``Number of obs: ..., groups:``)."""
    return {f.group: len(f.levels) for f in fit.ranef}


def glmm_criteria(fit: Any) -> pd.DataFrame:
    """AIC, BIC, logLik, deviance, df.resid (summary's table), then the sizes; one row."""
    row: dict[str, Any] = {
        "AIC": fit.aic,
        "BIC": fit.bic,
        "logLik": fit.loglik,
        "deviance": fit.deviance,
        "df.resid": int(fit.df_resid),
        "Number of obs": int(fit.nobs),
    }
    for name, count in glmm_ngroups(fit).items():
        row[f"Groups: {name}"] = count
    row["Rows dropped"] = int(fit.n_dropped)
    return pd.DataFrame([row])


def glmm_varcorr_table(fit: Any) -> pd.DataFrame:
    """``Random effects:``: Groups, Name, Variance, Std.Dev. (and Corr columns).

    The blocks of ``lib.present.summary.varcorr_table`` (one per correlated term,
    one per effect of an uncorrelated term, repeated factors named ``g.1``...),
    without the residual row.
    """
    rows, _, _ = varcorr_rows(_Terms(fit.varcorr))
    return pd.DataFrame(rows)


class _Terms:
    """``varcorr.terms`` for a GlmmFit, whose ``varcorr`` is the tuple of terms itself."""

    def __init__(self, terms: Any) -> None:
        self.terms = tuple(terms)


def glmm_fixef_table(fit: Any) -> pd.DataFrame:
    """``Fixed effects:``: Estimate, Std. Error, z value, Pr(>|z|) (Wald z, normal p)."""
    data = np.column_stack([fit.beta, fit.se, fit.z, fit.p_value])
    return pd.DataFrame(data, index=list(fit.fixef_names), columns=GLMM_FIXEF_COLUMNS)


def glmm_fixef_corr(fit: Any) -> np.ndarray:
    """Correlations of the fixed-effect estimates, from ``vcov``."""
    sd = np.sqrt(np.diag(fit.vcov))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(fit.vcov, float) / np.outer(sd, sd)


def glmm_fixef_corr_table(fit: Any) -> pd.DataFrame:
    """``Correlation of Fixed Effects:``, lower triangle (empty for one effect)."""
    names = list(fit.fixef_names)
    if len(names) < 2:
        return pd.DataFrame()
    corr = glmm_fixef_corr(fit)
    lower = np.where(np.tril(np.ones_like(corr, dtype=bool), k=-1), corr, np.nan)
    return pd.DataFrame(lower[1:, :-1], index=names[1:], columns=names[:-1])


def ratio_table(fit: Any, response: ResponseFamily, level: float = 0.95) -> pd.DataFrame:
    """exp(estimate) with Wald limits exp(estimate -/+ z SE): odds ratios (logit) or
    rate ratios (log), as ``exp(cbind(fixef(m), confint(m, method = "Wald")))``.

    Columns: the ratio's name ("Odds ratio" / "Rate ratio"), "lower", "upper",
    "Pr(>|z|)". The intercept's row is exp(intercept): the odds (or the rate) when
    every predictor is 0, not a ratio. Empty for a link without such a reading
    (probit, cloglog).
    """
    name = ratio_name(response)
    if name is None:
        return pd.DataFrame()
    ratios = ratio_intervals(wald_intervals(fit, level)).rows
    return pd.DataFrame(
        {
            name.capitalize(): [r.estimate for r in ratios],
            "lower": [r.conf_low for r in ratios],
            "upper": [r.conf_high for r in ratios],
            "Pr(>|z|)": np.asarray(fit.p_value, float),
        },
        index=[r.term for r in ratios],
    )


def group_baselines(
    fit: Any, response: ResponseFamily, group: str | None = None, level: float = 0.95
) -> pd.DataFrame:
    """Each group's baseline on the response scale: inverse link of (fixed intercept +
    the group's random intercept), with every predictor at 0 (factors at their
    reference), and limits from the conditional variance of the random intercept
    (lme4's ``condVar``; the fixed intercept's uncertainty is not included).

    Columns: ``n`` (rows), ``link`` (the linear predictor), the estimate named
    "Probability" (binomial) or "Expected count" / "Rate" (Poisson, with an offset: per
    unit of exp(offset)), ``lower``, ``upper``; indexed by level.
    """
    from lib.glmm.family import family

    factor = fit.ranef[0] if group is None else next(f for f in fit.ranef if f.group == group)
    names = list(fit.fixef_names)
    if "(Intercept)" not in names or "(Intercept)" not in factor.names:
        raise ValueError("Group baselines need a fixed and a random intercept.")
    k = list(factor.names).index("(Intercept)")
    eta = float(fit.beta[names.index("(Intercept)")]) + np.asarray(factor.modes, float)[:, k]
    sd = np.sqrt(np.maximum(np.asarray(factor.condvar, float)[:, k, k], 0.0))
    z = float(stats.norm.ppf(0.5 + level / 2.0))
    inverse = family(response.family, response.link).linkinv
    if response.family == "binomial":
        label = "Probability"
    else:
        label = "Rate" if response.offset is not None else "Expected count"
    return pd.DataFrame(
        {
            "n": np.asarray(factor.sizes, int),
            "link": eta,
            label: inverse(eta),
            "lower": inverse(eta - z * sd),
            "upper": inverse(eta + z * sd),
        },
        index=pd.Index(list(factor.levels), name=factor.group),
    )
