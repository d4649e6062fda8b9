"""Results -> tables of numbers with lme4's and R's labels.

Each function turns one section of ``summary(lmer(...))``, ``summary(lm(...))``
or ``anova(...)`` into a DataFrame of unrounded numbers, labelled as R labels
them (``Variance``, ``Std.Dev.``, ``Std. Error``, ``Pr(>|t|)``...). Rounding and
formatting happen only when a table is shown (``lib.present.numbers.cell``, used by
``ui.render`` and the report), so these tables are also what the download buttons export.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from lib.model.fixed import fixed_layout, rank_message
from lib.table.columns import complete_rows, factor_codes, is_numeric_column

if TYPE_CHECKING:  # imported for annotations only: keeps lib.present.summary importable alone
    from lib.lmm import Anova, LmmFit

QUANTILE_LABELS = ("Min", "1Q", "Median", "3Q", "Max")
FIXEF_COLUMNS = ("Estimate", "Std. Error", "df", "t value", "Pr(>|t|)")
OLS_COLUMNS = ("Estimate", "Std. Error", "t value", "Pr(>|t|)")
Z_95 = float(stats.norm.ppf(0.975))  # 1.959964: the "±1.96" of the intervals


def scaled_residuals(fit: LmmFit) -> pd.DataFrame:
    """``Scaled residuals:`` (quantiles of residual / sigma), one row."""
    return pd.DataFrame([np.asarray(fit.scaled_resid_quantiles, float)], columns=QUANTILE_LABELS)


def fit_criteria(fit: LmmFit) -> pd.DataFrame:
    """REML criterion (or deviance), AIC, BIC, logLik and sizes, one row.

    One ``Groups: <factor>`` column per grouping factor, as lme4's
    ``Number of obs: 183, groups: class:school, 20; school, 5`` line.
    """
    row: dict[str, Any] = {
        fit.criterion_name: fit.criterion,
        "AIC": fit.aic,
        "BIC": fit.bic,
        "logLik": fit.loglik,
        "npar": fit.npar,
        "Number of obs": fit.nobs,
    }
    for name, count in fit.ngroups.items():
        row[f"Groups: {name}"] = count
    row["Rows dropped"] = fit.n_dropped
    return pd.DataFrame([row])


def varcorr_rows(vc: Any) -> tuple[list[dict[str, Any]], int, bool]:
    """The term rows of lme4's ``Random effects:`` table (``varcorr_table`` without the
    residual row; a GLMM's whole table), the number of effects of the widest block and
    whether ``Corr`` columns are shown. ``vc`` has ``terms`` as ``VarCorr`` has."""
    blocks = _blocks(vc)
    width = max((b.q for b in blocks), default=1)
    show_corr = any(b.correlated and b.q > 1 for b in blocks)
    seen: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    for block in blocks:
        count = seen.get(block.group, 0)
        seen[block.group] = count + 1
        label = block.group if count == 0 else f"{block.group}.{count}"
        for i, name in enumerate(block.names):
            row: dict[str, Any] = {
                "Groups": label if i == 0 else "",
                "Name": name,
                "Variance": float(block.variances[i]),
                "Std.Dev.": float(block.sd[i]),
            }
            if show_corr:
                for j in range(width - 1):
                    ok = block.correlated and j < i
                    row[_corr_label(j)] = float(block.correlation[i, j]) if ok else np.nan
            rows.append(row)
    return rows, width, show_corr


def varcorr_table(fit: LmmFit) -> pd.DataFrame:
    """``Random effects:``: Groups, Name, Variance, Std.Dev., Corr.

    One block per term, in lme4's order. A correlated term lists its effects
    under one group name with the lower triangle of the correlation matrix in
    ``Corr`` (and ``Corr.2``... for a third effect onward). lme4 names repeated
    blocks of one factor ``g``, ``g.1``, ... (an uncorrelated term
    ``(1 | g) + (0 + x | g)`` is such a pair). The last row is the residual.
    """
    vc = fit.varcorr
    rows, width, show_corr = varcorr_rows(vc)
    residual: dict[str, Any] = {
        "Groups": "Residual",
        "Name": "",
        "Variance": float(vc.residual_variance),
        "Std.Dev.": float(vc.residual_sd),
    }
    if show_corr:
        residual.update({_corr_label(j): np.nan for j in range(width - 1)})
    rows.append(residual)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class _Block:
    group: str
    names: tuple[str, ...]
    variances: np.ndarray
    sd: np.ndarray
    correlation: np.ndarray
    correlated: bool

    @property
    def q(self) -> int:
        return len(self.names)


def _blocks(vc: Any) -> list[_Block]:
    """lme4's VarCorr blocks: a correlated term is one block, an uncorrelated one
    is one block per effect (lme4 fits ``(1 | g) + (0 + x | g)`` as two terms)."""
    out = []
    for t in vc.terms:
        if t.correlated or len(t.names) == 1:
            out.append(_Block(t.group, t.names, t.variances, t.sd, t.correlation, t.correlated))
            continue
        for k, name in enumerate(t.names):
            out.append(
                _Block(
                    t.group,
                    (name,),
                    t.variances[k : k + 1],
                    t.sd[k : k + 1],
                    np.ones((1, 1)),
                    False,
                )
            )
    return out


def level_shares(fit: LmmFit) -> pd.DataFrame:
    """The multilevel ICC table: each variance component's share of the total.

    One row per random effect and one for the residual: ``Variance`` and
    ``Share`` = variance / (sum of all variances). For intercept-only terms the
    shares are the proportions of outcome variance at each level (Snijders &
    Bosker 2012, sec. 4.9); with random slopes the slope variance is in the
    slope's units and the share is shown as NaN.
    """
    rows = []
    for t in fit.varcorr.terms:
        for name, var in zip(t.names, t.variances, strict=True):
            rows.append({"Level": t.group, "Effect": name, "Variance": float(var)})
    rows.append(
        {"Level": "Residual", "Effect": "", "Variance": float(fit.varcorr.residual_variance)}
    )
    frame = pd.DataFrame(rows)
    intercepts = frame["Effect"].isin(["(Intercept)", ""])
    total = frame.loc[intercepts, "Variance"].sum()
    frame["Share"] = np.where(intercepts, frame["Variance"] / total, np.nan)
    return frame


def _corr_label(j: int) -> str:
    return "Corr" if j == 0 else f"Corr.{j + 1}"


def fixef_table(fit: LmmFit) -> pd.DataFrame:
    """``Fixed effects:`` with lmerTest's Satterthwaite df and p-values."""
    data = np.column_stack([fit.beta, fit.beta_se, fit.beta_df, fit.beta_t, fit.beta_p])
    return pd.DataFrame(data, index=list(fit.fixef_names), columns=FIXEF_COLUMNS)


def dropped_fixef(fit: LmmFit, frame: pd.DataFrame) -> tuple[str, ...]:
    """Columns of the full fixed-effects model matrix that the fit dropped.

    lme4 drops columns that are linear combinations of earlier ones
    (``chkRank.X``, "message+drop.cols"); the fit keeps only the columns it used,
    so the full list is rebuilt from the rows the fit used (the complete rows of
    the model's columns, ``lib.table.columns.complete_rows``) without building X.
    """
    spec = fit.spec
    clean, _ = complete_rows(frame, spec.columns)
    levels: dict[str, tuple[str, ...] | None] = {}
    for column in spec.fixed_columns:
        series = clean[column]
        levels[column] = None if is_numeric_column(series) else factor_codes(series)[1]
    layout = fixed_layout(spec.fixed_terms, spec.intercept, levels)
    kept = set(fit.fixef_names)
    return tuple(c.name for c in layout if c.name not in kept)


def rank_note(dropped: Sequence[str]) -> str | None:
    """lme4's message for dropped columns, naming them (plain text), or None.

    lme4 prints only the count ("fixed-effect model matrix is rank deficient so
    dropping 1 column / coefficient"); the names say which coefficients the table
    leaves out, as ``fixef(m, add.dropped = TRUE)`` shows them as NA.
    """
    if not dropped:
        return None
    names = ", ".join(dropped)
    return f"{rank_message(len(dropped))} ({names}): they are combinations of earlier columns."


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


def _factor(fit: LmmFit, group: str | None) -> Any:
    return fit.ranef[0] if group is None else fit.factor(group)


def ranef_table(fit: LmmFit, group: str | None = None) -> pd.DataFrame:
    """``ranef(model)[[group]]``: conditional modes, one row per level.

    ``group`` names the grouping factor (lme4's name); the first factor by default.
    """
    f = _factor(fit, group)
    return pd.DataFrame(
        np.asarray(f.modes, float),
        index=pd.Index(list(f.levels), name=f.group),
        columns=list(f.names),
    )


def ranef_intervals(fit: LmmFit, group: str | None = None, z: float = Z_95) -> pd.DataFrame:
    """Each level's random effects with ``estimate ± z * sqrt(condVar)``.

    Long format (one row per level and effect): group, term, estimate, se,
    lower, upper, n (rows in the level). The conditional SD is lme4's
    ``attr(ranef(model, condVar = TRUE)[[group]], "postVar")`` diagonal.
    """
    f = _factor(fit, group)
    b = np.asarray(f.modes, float)
    condvar = np.asarray(f.condvar, float)
    sizes = np.asarray(f.sizes)
    rows = []
    for k, term in enumerate(f.names):
        se = np.sqrt(np.maximum(condvar[:, k, k], 0.0))
        for g, level in enumerate(f.levels):
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


def coef_table(fit: LmmFit, group: str | None = None) -> pd.DataFrame:
    """``coef(model)[[group]]``: each level's coefficients, fixed + random effect.

    A random slope without a matching fixed effect (``1 + (0 + x | g)``) gets
    its own column (fixed part 0), as lme4's ``coef`` adds it.
    """
    f = _factor(fit, group)
    names = list(fit.fixef_names)
    extra = [r for r in f.names if r not in names]
    columns = names + extra
    beta = dict(zip(fit.fixef_names, np.asarray(fit.beta, float), strict=True))
    out = np.empty((len(f.levels), len(columns)))
    b = np.asarray(f.modes, float)
    for j, name in enumerate(columns):
        out[:, j] = beta.get(name, 0.0)
        if name in f.names:
            out[:, j] += b[:, list(f.names).index(name)]
    return pd.DataFrame(out, index=pd.Index(list(f.levels), name=f.group), columns=columns)


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
    Only meaningful for an intercept-only model with one random intercept.
    """
    f = fit.ranef[0]
    if (
        len(fit.ranef) != 1
        or "(Intercept)" not in f.names
        or list(fit.fixef_names) != ["(Intercept)"]
    ):
        raise ValueError("null_model_means needs an intercept-only model with a random intercept")
    fixed = float(fit.beta[0])
    random = np.asarray(f.modes, float)[:, list(f.names).index("(Intercept)")]
    return pd.DataFrame(
        {
            "Mean": np.asarray(observed_means, float),
            "fixed_intercept": fixed,
            "random_intercept": random,
            "null_model_estimate": fixed + random,
        },
        index=pd.Index(list(f.levels), name=f.group),
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
