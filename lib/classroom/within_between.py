"""Within and between: one predictor's slope inside groups, across group means, and overall.

A level-1 predictor x relates to y in two ways (Raudenbush & Bryk 2002, sec. 5.2;
Snijders & Bosker 2012, sec. 4.6; Enders & Tofighi 2007):

* **within**: inside a group, rows with more x than their group's mean;
  the slope of ``x_cwc = x - mean of x in the group``;
* **between**: groups with a higher mean x; the slope of the group mean ``x_mean``;
* **contextual** = between - within: the group mean's effect for rows with the
  same x (the coefficient of ``x_mean`` when x itself is in the model).

The pooled line (one regression of y on x) mixes the two and can have the
opposite sign of every group's own slope (Simpson's paradox; ``data/exercise.csv``).

Numbers, each from a fit that R reproduces (``tests/reference/centring_reference.R``):

* ``lmer(y ~ x_cwc + x_mean + (1 | g))``: within (``x_cwc``) and between (``x_mean``);
* ``lmer(y ~ x + x_mean + (1 | g))``: contextual (``x_mean``). It is the same model
  reparametrised (x = x_cwc + x_mean), so contextual = between - within exactly;
* the same two as OLS (``lm``); the OLS within slope equals that of
  ``lm(y ~ x_cwc + g)`` (group dummies) and of the random-intercept model, since
  ``x_cwc`` is orthogonal to everything constant within a group;
* the pooled line ``lm(y ~ x)``, and the line through the group means:
  ``lm(mean y ~ mean x)`` with one row per group (unweighted);
* each group's own slope ``lm(y ~ x)`` on its rows.

Centred columns are made by ``lib.model.centring`` over the rows complete in y, x
and the group.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.lmm import LmmFit, fit_lmm
from lib.model.centring import WITHIN, Centring, CreatedColumn, centre
from lib.model.design import RankDeficiencyWarning
from lib.model.spec import ModelSpec, RandomTerm
from lib.ols.regressions import OlsFit, fit_ols
from lib.present.markdown import md
from lib.present.numbers import num
from lib.table.columns import complete_rows, interaction_codes

WITHIN_EFFECT, BETWEEN_EFFECT, CONTEXTUAL_EFFECT = "Within", "Between", "Contextual"
EFFECTS = (WITHIN_EFFECT, BETWEEN_EFFECT, CONTEXTUAL_EFFECT)


@dataclass(frozen=True)
class Estimate:
    """One coefficient: estimate, standard error, degrees of freedom and p-value
    (Satterthwaite for lmer, residual df for OLS); NaN when not estimable."""

    estimate: float
    se: float
    df: float
    p: float


NOT_ESTIMABLE = Estimate(np.nan, np.nan, np.nan, np.nan)


@dataclass(frozen=True, eq=False)
class WithinBetween:
    """The within, between and contextual effects of one predictor, and the three lines.

    Attributes
    ----------
    outcome, predictor, group : str
    within_column, mean_column : str
        The centred column (``x_cwc``) and the group-mean column (``x_mean_g``) made
        for the fits (``lib.model.centring``).
    created : tuple of CreatedColumn
        The same two columns with what they are (``CreatedColumn.describe``).
    between_formula, contextual_formula : str
        The two lmer models' formulas.
    levels : tuple of str
        Groups in R's level order.
    sizes : ndarray (G,)
    x_means, y_means : ndarray (G,)
        Each group's means over the rows used.
    x_min, x_max : ndarray (G,)
        Each group's range of x (the within lines are drawn over it).
    own_slopes : ndarray (G,)
        Each group's own least-squares slope (NaN where x is constant in the group).
    pooled_intercept, pooled_slope : float
        ``lm(y ~ x)``.
    within_slope : float
        The common within-group slope (OLS, = ``lm(y ~ x_cwc + g)``); the within lines
        go through each group's means with this slope.
    between_intercept, between_slope : float
        The line through the group means (unweighted, one row per group); NaN when
        the group means of x do not vary.
    lmer, ols : dict of str to Estimate
        ``"Within"``, ``"Between"``, ``"Contextual"``.
    nobs, n_dropped : int
        Rows used and rows left out (a missing value in y, x or the group).
    """

    outcome: str
    predictor: str
    group: str
    within_column: str
    mean_column: str
    created: tuple[CreatedColumn, ...]
    between_formula: str
    contextual_formula: str
    levels: tuple[str, ...]
    sizes: np.ndarray
    x_means: np.ndarray
    y_means: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray
    own_slopes: np.ndarray
    pooled_intercept: float
    pooled_slope: float
    within_slope: float
    between_intercept: float
    between_slope: float
    lmer: dict
    ols: dict
    nobs: int
    n_dropped: int

    @property
    def opposite_signs(self) -> bool:
        """Whether every group's own slope has the sign opposite to the pooled slope."""
        own = self.own_slopes[np.isfinite(self.own_slopes)]
        return bool(own.size) and bool(np.all(np.sign(own) == -np.sign(self.pooled_slope)))


def _lmer_estimate(fit: LmmFit, name: str) -> Estimate:
    names = list(fit.fixef_names)
    if name not in names:  # dropped as a combination of other columns
        return NOT_ESTIMABLE
    k = names.index(name)
    return Estimate(
        float(fit.beta[k]), float(fit.beta_se[k]), float(fit.beta_df[k]), float(fit.beta_p[k])
    )


def _ols_estimate(fit: OlsFit, name: str) -> Estimate:
    k = list(fit.names).index(name)
    if fit.aliased[k]:
        return NOT_ESTIMABLE
    return Estimate(float(fit.coef[k]), float(fit.se[k]), float(fit.df_resid), float(fit.p[k]))


def _fit_quietly(frame: pd.DataFrame, spec: ModelSpec) -> LmmFit:
    # A group mean that does not vary between groups is dropped (lme4's message); the
    # result then reports the between effect as not estimable, so the warning is not
    # passed on.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RankDeficiencyWarning)
        return fit_lmm(frame, spec)


def within_between(
    frame: pd.DataFrame, outcome: str, predictor: str, group: str, reml: bool = True
) -> WithinBetween:
    """Within, between and contextual effects of ``predictor`` on ``outcome``.

    Parameters
    ----------
    frame : DataFrame
    outcome : str
        Numeric outcome.
    predictor : str
        Numeric level-1 predictor.
    group : str
        Grouping column.
    reml : bool
        REML (lme4's default) or ML for the two lmer fits.

    Returns
    -------
    WithinBetween

    Raises
    ------
    ExplorerError
        A missing or non-numeric column, too few rows or groups (from the fits).
    """
    if len({outcome, predictor, group}) < 3:
        raise DataError(
            "The outcome, the predictor and the group must be three different columns, got "
            f"{outcome!r}, {predictor!r} and {group!r}."
        )
    clean, n_dropped = complete_rows(frame, [outcome, predictor, group])
    data, created = centre(clean, [Centring(predictor, WITHIN, (group,), True)], [outcome])
    cwc, mean = (c.name for c in created)
    term = RandomTerm((group,))
    between_spec = ModelSpec(outcome, (cwc, mean), (term,), reml=reml)
    contextual_spec = ModelSpec(outcome, (predictor, mean), (term,), reml=reml)
    between_fit = _fit_quietly(data, between_spec)
    contextual_fit = _fit_quietly(data, contextual_spec)
    ols_between = fit_ols(data, outcome, [cwc, mean])
    ols_contextual = fit_ols(data, outcome, [predictor, mean])
    pooled = fit_ols(data, outcome, [predictor])

    codes, levels = interaction_codes(data, (group,))
    x = data[predictor].to_numpy(dtype=float)
    y = data[outcome].to_numpy(dtype=float)
    sizes = np.bincount(codes, minlength=len(levels))
    x_means = np.bincount(codes, x, len(levels)) / sizes
    y_means = np.bincount(codes, y, len(levels)) / sizes
    dx, dy = x - x_means[codes], y - y_means[codes]
    sxx = np.bincount(codes, dx * dx, len(levels))
    sxy = np.bincount(codes, dx * dy, len(levels))
    with np.errstate(invalid="ignore", divide="ignore"):
        own = np.where(sxx > 0, sxy / np.where(sxx > 0, sxx, 1.0), np.nan)
    x_min = np.full(len(levels), np.inf)
    x_max = np.full(len(levels), -np.inf)
    np.minimum.at(x_min, codes, x)
    np.maximum.at(x_max, codes, x)
    between_intercept, between_slope = _line(x_means, y_means)
    return WithinBetween(
        outcome=outcome,
        predictor=predictor,
        group=group,
        within_column=cwc,
        mean_column=mean,
        created=created,
        between_formula=between_fit.formula,
        contextual_formula=contextual_fit.formula,
        levels=tuple(levels),
        sizes=sizes,
        x_means=x_means,
        y_means=y_means,
        x_min=x_min,
        x_max=x_max,
        own_slopes=own,
        pooled_intercept=float(pooled.coef[0]),
        pooled_slope=float(pooled.coef[1]),
        within_slope=_ols_estimate(ols_between, cwc).estimate,
        between_intercept=between_intercept,
        between_slope=between_slope,
        lmer={
            WITHIN_EFFECT: _lmer_estimate(between_fit, cwc),
            BETWEEN_EFFECT: _lmer_estimate(between_fit, mean),
            CONTEXTUAL_EFFECT: _lmer_estimate(contextual_fit, mean),
        },
        ols={
            WITHIN_EFFECT: _ols_estimate(ols_between, cwc),
            BETWEEN_EFFECT: _ols_estimate(ols_between, mean),
            CONTEXTUAL_EFFECT: _ols_estimate(ols_contextual, mean),
        },
        nobs=int(len(data)),
        n_dropped=int(n_dropped),
    )


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares intercept and slope of y on x (NaN when x does not vary)."""
    dx = x - x.mean()
    sxx = float(dx @ dx)
    if len(x) < 2 or sxx <= 1e-12 * max(float(x @ x), 1e-300):
        return float("nan"), float("nan")
    slope = float(dx @ (y - y.mean())) / sxx
    return float(y.mean() - slope * x.mean()), slope


def effects_table(result: WithinBetween) -> pd.DataFrame:
    """The three effects: lmer estimate and SE, OLS estimate and SE, and where each
    number comes from (the model and coefficient)."""
    source = {
        WITHIN_EFFECT: f"{result.within_column} in model 1",
        BETWEEN_EFFECT: f"{result.mean_column} in model 1",
        CONTEXTUAL_EFFECT: f"{result.mean_column} in model 2",
    }
    rows = []
    for name in EFFECTS:
        lmer, ols = result.lmer[name], result.ols[name]
        rows.append(
            {
                "effect": name,
                "lmer": lmer.estimate,
                "lmer SE": lmer.se,
                "OLS": ols.estimate,
                "OLS SE": ols.se,
                "coefficient": source[name],
            }
        )
    return pd.DataFrame(rows).set_index("effect")


def _bracketed(value: float) -> str:
    """A number to subtract: negative ones in brackets (``11.215 − (−3.652)``)."""
    return f"({num(value)})" if value < 0 else num(value)


def _change(value: float) -> str:
    return f"{num(abs(value))} {'higher' if value >= 0 else 'lower'}"


def sentences(result: WithinBetween) -> dict[str, str]:
    """One plain-language sentence per effect (Markdown, names escaped), from the
    lmer numbers; a fourth (``"Pooled"``) compares the pooled line with them."""
    y, x, g = md(result.outcome), md(result.predictor), md(result.group)
    within = result.lmer[WITHIN_EFFECT].estimate
    between = result.lmer[BETWEEN_EFFECT].estimate
    contextual = result.lmer[CONTEXTUAL_EFFECT].estimate
    out = {
        WITHIN_EFFECT: (
            f"**Within** ({num(within)}): inside one {g}, a row with 1 unit more {x} than its "
            f"{g}'s average has a predicted {y} {_change(within)}."
        )
    }
    if np.isfinite(between):
        out[BETWEEN_EFFECT] = (
            f"**Between** ({num(between)}): {g} groups whose average {x} is 1 unit higher "
            f"have an average {y} {_change(between)}."
        )
        out[CONTEXTUAL_EFFECT] = (
            f"**Contextual** ({num(contextual)} = between − within = {num(between)} − "
            f"{_bracketed(within)}): of two rows with the same {x}, the one whose {g} has a 1 unit "
            f"higher average {x} has a predicted {y} {_change(contextual)}."
        )
    else:
        text = (
            f"The {g} averages of {x} do not differ, so there is no between-{g} variation "
            "to estimate it from."
        )
        out[BETWEEN_EFFECT] = f"**Between**: not estimable. {text}"
        out[CONTEXTUAL_EFFECT] = f"**Contextual**: not estimable. {text}"
    pooled = result.pooled_slope
    if result.opposite_signs:
        sign = "negative" if pooled > 0 else "positive"
        out["Pooled"] = (
            f"The pooled line (slope {num(pooled)}) ignores the {g} groups: it runs against "
            f"every {g}'s own slope, all of which are {sign}. It mixes the within and the between "
            "relation, and here the between relation wins."
        )
    else:
        out["Pooled"] = (
            f"The pooled line (slope {num(pooled)}) ignores the {g} groups: it mixes the within "
            f"({num(within)}) and the between ({num(between)}) relation."
        )
    return out
