"""Results -> tables of numbers with lme4's and R's labels.

Each function turns one section of ``summary(lmer(...))``, ``summary(lm(...))``
or ``anova(...)`` into a DataFrame of unrounded numbers, labelled as R labels
them (``Variance``, ``Std.Dev.``, ``Std. Error``, ``Pr(>|t|)``...). Rounding and
formatting happen only in ``ui.render``, so these tables are also what the
download buttons export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

if TYPE_CHECKING:  # imported for annotations only: keeps lib.summary importable alone
    from lib.lmm import Anova, LmmFit

QUANTILE_LABELS = ("Min", "1Q", "Median", "3Q", "Max")
FIXEF_COLUMNS = ("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")
OLS_COLUMNS = ("Estimate", "Std. Error", "t value", "Pr(>|t|)")
Z_95 = float(stats.norm.ppf(0.975))  # 1.959964: the "±1.96" of the intervals


def scaled_residuals(fit: LmmFit) -> pd.DataFrame:
    """``Scaled residuals:`` (quantiles of residual / sigma), one row."""
    return pd.DataFrame([np.asarray(fit.scaled_resid_quantiles, float)], columns=QUANTILE_LABELS)


def fit_criteria(fit: LmmFit) -> pd.DataFrame:
    """REML criterion (or deviance), AIC, BIC, logLik and sizes, one row."""
    row = {
        fit.criterion_name: fit.criterion,
        "AIC": fit.aic,
        "BIC": fit.bic,
        "logLik": fit.loglik,
        "npar": fit.npar,
        "Number of obs": fit.nobs,
        "Groups": fit.ngroups,
        "Rows dropped": getattr(fit, "n_dropped", 0),
    }
    return pd.DataFrame([row])


def varcorr_table(fit: LmmFit) -> pd.DataFrame:
    """``Random effects:``: Groups, Name, Variance, Std.Dev., Corr.

    A correlated model lists its terms under one group name with the lower
    triangle of the correlation matrix in ``Corr`` (and ``Corr.2``... for a
    third term onward); an uncorrelated one names each term's group ``g``,
    ``g.1``... as lme4 does for ``(1 | g) + (0 + x | g)``. The last row is the
    residual.
    """
    vc = fit.varcorr
    group = fit.spec.group
    q = len(vc.names)
    show_corr = vc.correlated and q > 1
    corr = vc.correlation
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(vc.names):
        label = group if (vc.correlated or i == 0) else f"{group}.{i}"
        row: dict[str, Any] = {
            "Groups": label if (i == 0 or not vc.correlated) else "",
            "Name": name,
            "Variance": float(vc.variances[i]),
            "Std.Dev.": float(vc.sd[i]),
        }
        if show_corr:
            for j in range(q - 1):
                row[_corr_label(j)] = float(corr[i, j]) if j < i else np.nan
        rows.append(row)
    residual: dict[str, Any] = {
        "Groups": "Residual",
        "Name": "",
        "Variance": float(vc.residual_variance),
        "Std.Dev.": float(vc.residual_sd),
    }
    if show_corr:
        residual.update({_corr_label(j): np.nan for j in range(q - 1)})
    rows.append(residual)
    return pd.DataFrame(rows)


def _corr_label(j: int) -> str:
    return "Corr" if j == 0 else f"Corr.{j + 1}"


def fixef_table(fit: LmmFit) -> pd.DataFrame:
    """``Fixed effects:`` with lmerTest's Satterthwaite df and p-values."""
    data = np.column_stack([fit.beta, fit.beta_se, fit.beta_df, fit.beta_t, fit.beta_p])
    return pd.DataFrame(data, index=list(fit.fixef_names), columns=FIXEF_COLUMNS)


def fixef_corr_table(fit: LmmFit) -> pd.DataFrame:
    """``Correlation of Fixed Effects:``, lower triangle as lme4 prints it.

    Rows are the 2nd to last effect, columns the 1st to last-but-one; cells
    above the diagonal are NaN. Empty for a model with one fixed effect.
    """
    names = list(fit.fixef_names)
    if len(names) < 2:
        return pd.DataFrame()
    corr = np.array(fit.fixef_corr, float)
    lower = np.where(np.tril(np.ones_like(corr, dtype=bool), k=-1), corr, np.nan)
    return pd.DataFrame(lower[1:, :-1], index=names[1:], columns=names[:-1])


def ranef_table(fit: LmmFit) -> pd.DataFrame:
    """``ranef(model)``: conditional modes, one row per group."""
    return pd.DataFrame(
        np.asarray(fit.ranef, float),
        index=pd.Index(list(fit.group_levels), name=fit.spec.group),
        columns=list(fit.random_names),
    )


def ranef_intervals(fit: LmmFit, z: float = Z_95) -> pd.DataFrame:
    """Each group's random effects with ``estimate ± z * sqrt(condVar)``.

    Long format (one row per group and term): group, term, estimate, se,
    lower, upper, n (rows in the group). The conditional SD is lme4's
    ``attr(ranef(model, condVar = TRUE)[[1]], "postVar")`` diagonal.
    """
    b = np.asarray(fit.ranef, float)
    condvar = np.asarray(fit.ranef_condvar, float)
    sizes = np.asarray(fit.group_sizes)
    rows = []
    for k, term in enumerate(fit.random_names):
        se = np.sqrt(np.maximum(condvar[:, k, k], 0.0))
        for g, level in enumerate(fit.group_levels):
            rows.append(
                {
                    "group": level,
                    "term": term,
                    "estimate": b[g, k],
                    "se": se[g],
                    "lower": b[g, k] - z * se[g],
                    "upper": b[g, k] + z * se[g],
                    "n": int(sizes[g]),
                }
            )
    return pd.DataFrame(rows, columns=["group", "term", "estimate", "se", "lower", "upper", "n"])


def coef_table(fit: LmmFit) -> pd.DataFrame:
    """``coef(model)``: each group's coefficients, fixed effect + random effect.

    A random slope without a matching fixed effect (``1 + (0 + x | g)``) gets
    its own column (fixed part 0), as lme4's ``coef`` adds it.
    """
    names = list(fit.fixef_names)
    extra = [r for r in fit.random_names if r not in names]
    columns = names + extra
    beta = dict(zip(fit.fixef_names, np.asarray(fit.beta, float), strict=True))
    out = np.empty((len(fit.group_levels), len(columns)))
    b = np.asarray(fit.ranef, float)
    for j, name in enumerate(columns):
        out[:, j] = beta.get(name, 0.0)
        if name in fit.random_names:
            out[:, j] += b[:, list(fit.random_names).index(name)]
    return pd.DataFrame(
        out, index=pd.Index(list(fit.group_levels), name=fit.spec.group), columns=columns
    )


def icc_r2_table(fit: LmmFit) -> pd.DataFrame:
    """ICC (``performance::icc``) and Nakagawa R² (``performance::r2``), NaN if undefined."""
    icc, r2 = fit.icc, fit.r2
    rows = {
        "Adjusted ICC": icc.adjusted if icc is not None else np.nan,
        "Unadjusted ICC": icc.unadjusted if icc is not None else np.nan,
        "Marginal R2": r2.marginal if r2 is not None else np.nan,
        "Conditional R2": r2.conditional if r2 is not None else np.nan,
    }
    return pd.DataFrame({"Value": pd.Series(rows, dtype=float)})


def null_model_means(fit: LmmFit, observed_means: Sequence[float]) -> pd.DataFrame:
    """The tutorial's table comparing observed group means with the null model.

    Columns ``Mean``, ``fixed_intercept``, ``random_intercept``,
    ``null_model_estimate`` (fixed + random intercept), one row per group.
    Only meaningful for an intercept-only model with a random intercept.
    """
    if "(Intercept)" not in fit.random_names or list(fit.fixef_names) != ["(Intercept)"]:
        raise ValueError("null_model_means needs an intercept-only model with a random intercept")
    fixed = float(fit.beta[0])
    random = np.asarray(fit.ranef, float)[:, list(fit.random_names).index("(Intercept)")]
    return pd.DataFrame(
        {
            "Mean": np.asarray(observed_means, float),
            "fixed_intercept": fixed,
            "random_intercept": random,
            "null_model_estimate": fixed + random,
        },
        index=pd.Index(list(fit.group_levels), name=fit.spec.group),
    )


def comparison_table(fits: Mapping[str, LmmFit]) -> pd.DataFrame:
    """One row per named fit: formula, criterion, AIC, BIC, logLik, npar, singular."""
    rows = []
    for label, fit in fits.items():
        rows.append(
            {
                "model": label,
                "formula": fit.formula,
                fit.criterion_name: fit.criterion,
                "AIC": fit.aic,
                "BIC": fit.bic,
                "logLik": fit.loglik,
                "npar": fit.npar,
                "singular": bool(fit.singular),
            }
        )
    return pd.DataFrame(rows).set_index("model")


def anova_table(result: Anova, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``anova(m1, m2, ...)``: npar, AIC, BIC, logLik, deviance, Chisq, Df, Pr(>Chisq).

    Rows are in the anova's order (by number of parameters); ``labels`` maps a
    formula to the name shown as the row label (the formula itself otherwise).
    """
    labels = labels or {}
    rows = [
        {
            "model": labels.get(r.formula, r.formula),
            "formula": r.formula,
            "npar": r.npar,
            "AIC": r.aic,
            "BIC": r.bic,
            "logLik": r.loglik,
            "deviance": r.deviance,
            "Chisq": r.chisq,
            "Df": r.df,
            "Pr(>Chisq)": r.p,
        }
        for r in result.rows
    ]
    return pd.DataFrame(rows).set_index("model")


def ols_coef_table(fit: Any) -> pd.DataFrame:
    """``Coefficients:`` of ``summary(lm(...))``."""
    data = np.column_stack([fit.coef, fit.se, fit.t, fit.p])
    return pd.DataFrame(data, index=list(fit.names), columns=OLS_COLUMNS)


def ols_residuals(fit: Any) -> pd.DataFrame:
    """``Residuals:`` quantiles of ``summary(lm(...))``, one row."""
    return pd.DataFrame([np.asarray(fit.resid_quantiles, float)], columns=QUANTILE_LABELS)


def ols_statistics(fit: Any) -> pd.DataFrame:
    """The last lines of ``summary(lm(...))`` as one row of numbers."""
    row = {
        "Residual standard error": float(fit.sigma),
        "df": int(fit.df_resid),
        "Multiple R-squared": float(fit.r2),
        "Adjusted R-squared": float(fit.adj_r2),
        "F-statistic": float(fit.fstat),
        "F df1": int(fit.f_df_num),
        "F df2": int(fit.f_df_den),
        "p-value": float(fit.f_p),
        "Number of obs": int(fit.nobs),
        "Rows dropped": int(fit.n_dropped),
    }
    return pd.DataFrame([row])


def ols_statistics_long(fit: Any) -> pd.DataFrame:
    """``ols_statistics`` as one labelled row per statistic (column ``Value``).

    The column has object dtype so that counts and degrees of freedom stay
    integers next to the real-valued statistics (a float column would print
    ``181`` as ``181.0000``).
    """
    wide = ols_statistics(fit)
    # Column by column: ``wide.iloc[0]`` would upcast the whole row to float.
    values = [wide[column].tolist()[0] for column in wide.columns]
    return pd.DataFrame({"Value": pd.Series(values, index=list(wide.columns), dtype=object)})


def per_group_coefficients(per_group: Any) -> pd.DataFrame:
    """The tutorial's ``sapply(models, coef)``: coefficients by row, groups by column."""
    columns = {
        level: pd.Series(fit.coef, index=list(fit.names))
        for level, fit in zip(per_group.levels, per_group.fits, strict=True)
    }
    return pd.DataFrame(columns)


def per_group_long(per_group: Any) -> pd.DataFrame:
    """Every group's ``Coefficients:`` stacked: group, term, Estimate, SE, t, p, R²."""
    rows = []
    for level, fit in zip(per_group.levels, per_group.fits, strict=True):
        for k, name in enumerate(fit.names):
            rows.append(
                {
                    "group": level,
                    "term": name,
                    "Estimate": fit.coef[k],
                    "Std. Error": fit.se[k],
                    "t value": fit.t[k],
                    "Pr(>|t|)": fit.p[k],
                    "R-squared": fit.r2,
                    "n": fit.nobs,
                }
            )
    return pd.DataFrame(rows)


def group_summary_table(summary: Any) -> pd.DataFrame:
    """The tutorial's ``school_means``: n, Mean, SD per group."""
    return pd.DataFrame(
        {
            "n": np.asarray(summary.n, int),
            "Mean": np.asarray(summary.mean, float),
            "SD": np.asarray(summary.sd, float),
        },
        index=pd.Index(list(summary.levels), name="group"),
    )
