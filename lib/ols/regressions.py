"""Ordinary least squares with the numbers of R's ``summary(lm(...))``.

The tutorial contrasts three OLS models before it fits a multilevel one: a
simple regression (``y ~ x``), the dummy-variable model (``y ~ x + group``)
and separate regressions per group (``lm(y ~ x)`` on each group's rows).

The design matrix comes from ``lib.model.design.fixed_matrix`` (no formula is ever
built). The fit is a Householder QR of the design, and every statistic uses
the definition in R's ``summary.lm`` (for example R^2 = MSS / (MSS + RSS), and
no F test for an intercept-only model), so the numbers agree with R to
rounding error.

Rank deficiency is handled as R's ``lm`` does: a column that is (numerically)
a linear combination of the columns before it is *aliased*; its coefficient,
standard error, t and p are NaN (R prints NA) and its row and column of
``vcov`` are NaN. The usual case is a group whose predictor is constant in
``fit_per_group``: the slope is NaN, ``OlsFit.aliased`` flags it and
``PerGroupOls.aliased_levels`` lists the group so the UI can say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from lib.errors import DataError, SpecError
from lib.model.design import fixed_matrix
from lib.table.columns import (
    complete_rows,
    factor_codes,
    is_numeric_column,
    not_numeric_error,
)

# Largest design (rows x coefficients) fitted, about 320 MB of doubles: a
# dummy model with thousands of groups on millions of rows would exhaust memory.
MAX_DESIGN_CELLS = 40_000_000

# R's lm.fit tolerance: a column whose norm, after removing the part explained
# by the columns before it, falls below tol times its original norm is aliased.
ALIAS_TOL = 1e-7


@dataclass(frozen=True, eq=False)
class OlsFit:
    """One least-squares fit, as ``summary(lm(...))`` reports it.

    Attributes
    ----------
    outcome : str
    names : tuple of str
        Coefficient names as R prints them (``(Intercept)``, ``x``, ``schoolB``).
    coef, se, t, p : ndarray (p,)
        Estimates, standard errors, t values and two-sided p values; NaN where
        the coefficient is aliased.
    aliased : ndarray (p,) of bool
        True for a column that is a linear combination of earlier ones (R: NA).
    resid_quantiles : ndarray (5,)
        Min, 1Q, Median, 3Q, Max of the residuals (R's ``quantile``, type 7).
    sigma : float
        Residual standard error, sqrt(RSS / df_resid).
    df_resid : int
        n minus the rank of the design.
    r2, adj_r2 : float
        Multiple and adjusted R^2 (both 0 for an intercept-only model, as in R).
    fstat : float
        Overall F statistic; NaN when the model has only an intercept.
    f_df_num, f_df_den : int
        Its degrees of freedom (``f_df_num`` is 0 when there is no F test).
    f_p : float
        Upper-tail p value of ``fstat``; NaN when there is no F test.
    nobs : int
        Rows used.
    n_dropped : int
        Rows removed because a used column was missing or not finite.
    fitted, residuals : ndarray (nobs,)
    vcov : ndarray (p, p)
        sigma^2 (X'X)^-1 over the non-aliased columns; NaN rows/columns for aliased.
    """

    outcome: str
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    t: np.ndarray
    p: np.ndarray
    aliased: np.ndarray
    resid_quantiles: np.ndarray
    sigma: float
    df_resid: int
    r2: float
    adj_r2: float
    fstat: float
    f_df_num: int
    f_df_den: int
    f_p: float
    nobs: int
    n_dropped: int
    fitted: np.ndarray
    residuals: np.ndarray
    vcov: np.ndarray

    @property
    def rank(self) -> int:
        """Number of estimable (non-aliased) coefficients."""
        return int((~self.aliased).sum())


@dataclass(frozen=True, eq=False)
class PerGroupOls:
    """Separate regressions, one per group level.

    Attributes
    ----------
    outcome : str
    group : str
    levels : tuple of str
        Group levels in sorted (R factor) order.
    fits : tuple of OlsFit
        One fit per level, same order as ``levels``.
    n_dropped : int
        Rows removed (over all groups) because a used column was missing.
    """

    outcome: str
    group: str
    levels: tuple[str, ...]
    fits: tuple[OlsFit, ...]
    n_dropped: int

    @property
    def names(self) -> tuple[str, ...]:
        """Coefficient names, shared by every fit."""
        return self.fits[0].names

    @property
    def aliased_levels(self) -> tuple[str, ...]:
        """Levels whose fit has an aliased (NaN) coefficient, e.g. a constant predictor."""
        return tuple(lev for lev, f in zip(self.levels, self.fits, strict=True) if f.aliased.any())

    def coef_matrix(self) -> np.ndarray:
        """Coefficients as a (levels x names) array; NaN where aliased."""
        return np.vstack([f.coef for f in self.fits])


def fit_ols(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    categorical: Sequence[str] = (),
) -> OlsFit:
    """Fit ``lm(outcome ~ predictors)`` on the complete rows.

    Parameters
    ----------
    frame : DataFrame
    outcome : str
        Numeric response column.
    predictors : sequence of str
        Numeric columns enter as slopes, text/categorical ones as treatment
        dummies (first sorted level = reference). May be empty (intercept only).
    categorical : sequence of str, optional
        Predictors to dummy-code even though they hold numbers (group IDs such
        as pig 4601), as R does for a ``factor`` column.

    Returns
    -------
    OlsFit

    Raises
    ------
    SpecError
        The outcome is also a predictor, or a predictor is repeated.
    DataError
        Missing column, non-numeric outcome, or fewer rows than coefficients + 1.
    """
    predictors = list(predictors)
    _check_roles(outcome, predictors, categorical)
    clean, n_dropped = complete_rows(frame, [outcome, *predictors])
    y = _outcome_values(clean, outcome)
    X, names = _design(clean, predictors, categorical)
    _check_rows(len(y), names, where=f" (after dropping {n_dropped} with missing values)")
    return _fit_arrays(y, X, names, outcome, n_dropped)


def fit_per_group(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    group: str,
    categorical: Sequence[str] = (),
) -> PerGroupOls:
    """Fit ``lm(outcome ~ predictors)`` separately within each level of ``group``.

    The design is built once on all complete rows and then split by group, so
    every fit has the same coefficient names (a categorical predictor keeps all
    its levels, as an R factor does; a level absent from a group is aliased).

    Parameters
    ----------
    frame : DataFrame
    outcome : str
    predictors : sequence of str
        Usually one numeric predictor (the tutorial's ``study_time``).
    group : str
        Grouping column; its sorted distinct values are the levels.
    categorical : sequence of str, optional
        As in ``fit_ols``.

    Returns
    -------
    PerGroupOls

    Raises
    ------
    DataError
        A group has fewer rows than coefficients + 1 (the message names it), or
        as ``fit_ols``.
    SpecError
        The group column is also the outcome or a predictor.
    """
    predictors = list(predictors)
    _check_roles(outcome, predictors, categorical)
    if group == outcome or group in predictors:
        raise SpecError(
            f"The grouping column '{group}' cannot also be the outcome or a predictor "
            "of the per-group regressions. Choose a different group or predictor."
        )
    clean, n_dropped = complete_rows(frame, [outcome, *predictors, group])
    y = _outcome_values(clean, outcome)
    X, names = _design(clean, predictors, categorical)
    codes, levels = factor_codes(clean[group])
    if not levels:
        raise DataError(
            f"No row has values in all of {[outcome, *predictors, group]} "
            f"({n_dropped} rows dropped for missing values). Choose columns with data."
        )
    # One stable sort instead of a mask per level: O(n log n), not O(n * G).
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(levels) + 1))
    fits = []
    for k, level in enumerate(levels):
        rows = order[bounds[k] : bounds[k + 1]]
        _check_rows(len(rows), names, where=f" in group '{level}' of '{group}'")
        fits.append(_fit_arrays(y[rows], X[rows], names, outcome, 0))
    return PerGroupOls(
        outcome=outcome, group=group, levels=levels, fits=tuple(fits), n_dropped=n_dropped
    )


def _check_roles(outcome: str, predictors: list[str], categorical: Sequence[str]) -> None:
    if outcome in predictors:
        raise SpecError(
            f"The outcome '{outcome}' is also listed as a predictor. Remove it from the predictors."
        )
    repeated = sorted({p for p in predictors if predictors.count(p) > 1})
    if repeated:
        raise SpecError(f"Predictor '{repeated[0]}' is listed twice. List each predictor once.")
    stray = [c for c in categorical if c not in predictors]
    if stray:
        raise SpecError(
            f"'{stray[0]}' is marked categorical but is not a predictor. "
            "Add it to the predictors or unmark it."
        )


def _outcome_values(clean: pd.DataFrame, outcome: str) -> np.ndarray:
    series = clean[outcome]
    if not is_numeric_column(series):
        example = repr(str(series.iloc[0])) if len(series) else "no values"
        raise not_numeric_error("outcome", outcome, example)
    return series.to_numpy(dtype=float)


def _design(
    clean: pd.DataFrame, predictors: list[str], categorical: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """``fixed_matrix``, except that ``categorical`` numeric columns become dummies."""
    _check_size(clean, predictors, categorical)
    forced = [p for p in predictors if p in categorical and is_numeric_column(clean[p])]
    if not forced:
        return fixed_matrix(clean, predictors)
    columns = [np.ones((len(clean), 1))]
    names = ["(Intercept)"]
    for name in predictors:
        if name not in forced:
            X, sub = fixed_matrix(clean, [name])
            columns.append(X[:, 1:])
            names.extend(sub[1:])
            continue
        # factor_codes sorts numeric codes numerically (1, 2, 10), as R's factor().
        codes, levels = factor_codes(clean[name])
        if len(levels) < 2:
            raise DataError(
                f"Categorical predictor '{name}' has only one value after removing missing "
                "rows; it cannot explain anything. Remove it."
            )
        columns.append((codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float))
        names.extend(f"{name}{level}" for level in levels[1:])
    return np.hstack(columns), tuple(names)


def _check_size(clean: pd.DataFrame, predictors: list[str], categorical: Sequence[str]) -> None:
    widths = {
        p: 1
        if is_numeric_column(clean[p]) and p not in categorical
        else max(clean[p].nunique() - 1, 1)
        for p in predictors
    }
    p = 1 + sum(widths.values())
    if len(clean) * p > MAX_DESIGN_CELLS:
        widest = max(widths, key=widths.__getitem__)
        raise DataError(
            f"This regression needs {p} coefficients ('{widest}' alone has {widths[widest]}) "
            f"on {len(clean):,} rows, too large to fit here. Use a grouping column with fewer "
            "levels, or a sample of the rows."
        )


def _check_rows(n: int, names: tuple[str, ...], where: str) -> None:
    # n = p leaves no residual degrees of freedom: R would print NaN for every
    # standard error, which explains nothing to a learner.
    p = len(names)
    if n < p + 1:
        raise DataError(
            f"Only {n} complete row(s){where}, but a regression with {p} coefficient(s) "
            f"({', '.join(names)}) needs at least {p + 1}. Add data, drop predictors, "
            "or leave this group out."
        )


def _kept_columns(X: np.ndarray, r: np.ndarray, tol: float = ALIAS_TOL) -> np.ndarray:
    """Columns R's ``lm`` keeps (LINPACK dqrdc2 with its limited pivoting).

    dqrdc2 moves a column to the end when its norm, after projecting out the
    columns kept before it, is below ``tol`` times its original norm. That
    norm is ``|R[j, j]|`` of an unpivoted QR, since an aliased column adds
    nothing to the span of the columns before it.
    """
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0.0] = 1.0  # as dqrdc2: a zero column is compared with 1
    return np.abs(np.diag(r)) >= tol * norms


def _fit_arrays(
    y: np.ndarray, X: np.ndarray, names: tuple[str, ...], outcome: str, n_dropped: int
) -> OlsFit:
    """The fit and ``summary.lm`` statistics for arrays with an intercept column first."""
    n, p = X.shape
    # QR of [X | y] without forming Q (the costly part for millions of rows):
    # its last column holds Q'y, which is all the fit needs.
    r_aug = np.linalg.qr(np.column_stack([X, y]), mode="r")
    keep = _kept_columns(X, r_aug[:p, :p])
    Xk = X if keep.all() else X[:, keep]
    rank = Xk.shape[1]
    if rank < p:
        r_aug = np.linalg.qr(np.column_stack([Xk, y]), mode="r")
    r = r_aug[:rank, :rank]
    # np.linalg on the small rank x rank triangle: scipy's solve_triangular has
    # a large fixed cost per call that dominates thousands of per-group fits.
    beta_k = np.linalg.solve(r, r_aug[:rank, rank])
    fitted = Xk @ beta_k
    resid = y - fitted
    rdf = n - rank
    rss = float(resid @ resid)
    mss = float(np.sum((fitted - fitted.mean()) ** 2))
    resvar = rss / rdf
    r_inv = np.linalg.inv(r)
    unscaled = r_inv @ r_inv.T  # (X'X)^-1, R's chol2inv(qr.R)

    coef = np.full(p, np.nan)
    se = np.full(p, np.nan)
    vcov = np.full((p, p), np.nan)
    coef[keep] = beta_k
    se[keep] = np.sqrt(np.diag(unscaled) * resvar)
    vcov[np.ix_(keep, keep)] = unscaled * resvar
    with np.errstate(divide="ignore", invalid="ignore"):
        t = coef / se
    # scipy.special directly: the same functions as stats.t.sf / f.sf, without
    # the per-call overhead that adds up over thousands of per-group fits.
    pval = 2.0 * special.stdtr(rdf, -np.abs(t))

    if rank > 1:  # summary.lm: F test and R^2 only when there is more than the intercept
        r2 = mss / (mss + rss)
        adj = 1.0 - (1.0 - r2) * ((n - 1) / rdf)
        df_num = rank - 1
        fstat = (mss / df_num) / resvar
        f_p = float(special.fdtrc(df_num, rdf, fstat))
    else:
        r2 = adj = 0.0
        df_num, fstat, f_p = 0, float("nan"), float("nan")
    return OlsFit(
        outcome=outcome,
        names=tuple(names),
        coef=coef,
        se=se,
        t=t,
        p=pval,
        aliased=~keep,
        resid_quantiles=np.quantile(resid, [0.0, 0.25, 0.5, 0.75, 1.0]),
        sigma=float(np.sqrt(resvar)),
        df_resid=int(rdf),
        r2=float(r2),
        adj_r2=float(adj),
        fstat=float(fstat),
        f_df_num=int(df_num),
        f_df_den=int(rdf),
        f_p=f_p,
        nobs=int(n),
        n_dropped=int(n_dropped),
        fitted=fitted,
        residuals=resid,
        vcov=vcov,
    )
