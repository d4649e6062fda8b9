"""Single-level generalized linear models with the numbers of R's ``summary(glm(...))``.

The lesson for a binomial or Poisson outcome (``lib.classroom.lesson_glmm``) walks the
tutorial's strategies before the mixed models: one logistic (Poisson) regression that
ignores the groups (``glm(y ~ x, family)``), one with a dummy variable per group
(``glm(y ~ x + group, family)``) and one regression per group. The outcome is coded as
glmer codes it (``lib.glmm.response``: a two-valued text outcome as 0/1 with its success
level, successes out of trials as a proportion with the trials as prior weights, R's
``cbind(s, n - s)``), with the same offset. statsmodels' ``GLM`` fits by iteratively
reweighted least squares (the proportion as outcome and the trials as ``var_weights``
give R's estimates and standard errors); deviance, logLik and AIC are computed by R's
family formulas (``lib.glmm.family``: ``dev.resids``, ``aic``, with their constants).

**Separation.** A maximum-likelihood estimate exists only when no combination of the
coefficients predicts every outcome exactly (Albert & Anderson 1984). With an intercept
and one predictor that fails when a group's outcome is all 0 or all 1 (no successes or no
failures; for counts, all 0), when the predictor separates successes from failures
(every success at x >= c, every failure at x <= c, or the reverse), for counts when every
positive count sits at one value c of x with all zeros on one side of it, and when the
predictor does not vary. R's ``glm`` then runs its estimates towards infinity and stops
at large numbers with huge standard errors; ``separation`` names the reason instead and
``fit_glm_per_group`` leaves such a group unfitted. In the dummy model a group whose
outcome is all 0 or all 1 has a dummy at -inf or +inf; the other coefficients converge
to the fit without that group's rows (those rows are then fitted exactly and add nothing
to the score, the deviance or the likelihood), which is what ``fit_glm`` returns with the
group's coefficient recorded as infinite.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from lib.errors import DataError, SpecError
from lib.glmm.family import Family
from lib.glmm.family import family as make_family
from lib.glmm.response import binomial_outcome_frame, response_of
from lib.model.design import fixed_matrix
from lib.model.response import ResponseFamily
from lib.table.columns import complete_rows, factor_codes, is_numeric_column

# R's glm.fit: a column is aliased when its QR pivot falls below tol (min(1e-7,
# epsilon / 1000) = 1e-11 there; 1e-7 as lm, since the check here is on the
# unweighted X).
ALIAS_TOL = 1e-7
TOL = 1e-12  # IRLS stops when the deviance changes less than this (R: 1e-8)
MAX_ITER = 100

# Why a group gets no regression of its own (``separation``).
ALL_ZERO = "all 0"
ALL_ONE = "all 1"
SEPARATED = "separated by the predictor"
CONSTANT = "the predictor does not vary"
ONE_ROW = "one row"

_SM_LINKS = {
    "logit": sm.families.links.Logit,
    "probit": sm.families.links.Probit,
    "cloglog": sm.families.links.CLogLog,
    "log": sm.families.links.Log,
}


@dataclass(frozen=True, eq=False)
class GlmFit:
    """One GLM fit, as ``summary(glm(...))`` reports it.

    Attributes
    ----------
    outcome, family, link : str
    names : tuple of str
        Coefficient names as R prints them (``(Intercept)``, ``age``, ``district2``).
    coef, se, z, p : ndarray (p,)
        Estimates, standard errors, Wald z and two-sided p. An aliased coefficient is
        NaN; the dummy of a group whose outcome is all 0 (all 1) is -inf (+inf) with
        SE, z and p NaN.
    infinite : tuple of str
        Levels of the dummy-coded factor whose coefficient is infinite.
    reference : str or None
        The dummy-coded factor's reference level (its first level, as R's, unless that
        one's outcome is all 0 or all 1); None without a factor.
    deviance, null_deviance : float
        R's residual and null deviance (the null model keeps the offset).
    df_resid, df_null : int
    loglik, aic : float
        R's ``logLik`` and ``AIC`` (with the binomial/Poisson constants; the infinite
        dummies count as parameters, as R counts them).
    nobs : int
        Rows (a trials row counts once, as R's ``nobs``).
    n_dropped : int
        Rows left out for a missing value.
    iterations : int
    """

    outcome: str
    family: str
    link: str
    names: tuple[str, ...]
    coef: np.ndarray
    se: np.ndarray
    z: np.ndarray
    p: np.ndarray
    infinite: tuple[str, ...]
    deviance: float
    null_deviance: float
    df_resid: int
    df_null: int
    loglik: float
    aic: float
    nobs: int
    n_dropped: int
    iterations: int
    reference: str | None = None

    def coefficient(self, name: str) -> float:
        """The estimate called ``name`` (NaN when the fit has none)."""
        return float(self.coef[self.names.index(name)]) if name in self.names else float("nan")

    def ratio(self, name: str) -> float:
        """exp of the estimate: an odds ratio (logit) or rate ratio (log)."""
        return float(np.exp(self.coefficient(name)))


@dataclass(frozen=True, eq=False)
class PerGroupGlm:
    """``glm(outcome ~ predictor)`` in each group, or why a group has none.

    Attributes
    ----------
    outcome, group, predictor : str
    levels : tuple of str
    sizes : ndarray (G,)
        Rows per group.
    fits : tuple of GlmFit or None
        None for a group that cannot be fitted.
    reasons : tuple of str
        Empty for a fitted group; else ``ALL_ZERO``, ``ALL_ONE``, ``SEPARATED``,
        ``CONSTANT`` or ``ONE_ROW``.
    """

    outcome: str
    group: str
    predictor: str
    levels: tuple[str, ...]
    sizes: np.ndarray
    fits: tuple[GlmFit | None, ...]
    reasons: tuple[str, ...]

    def slopes(self) -> np.ndarray:
        """Each group's slope (NaN where there is no fit)."""
        return np.array(
            [f.coefficient(self.predictor) if f is not None else np.nan for f in self.fits]
        )

    def unfitted(self) -> dict[str, tuple[str, ...]]:
        """The groups without a fit, by reason, in level order."""
        out: dict[str, list[str]] = {}
        for level, reason in zip(self.levels, self.reasons, strict=True):
            if reason:
                out.setdefault(reason, []).append(level)
        return {k: tuple(v) for k, v in out.items()}


@dataclass(frozen=True)
class _Rows:
    """The complete rows coded as glmer codes them."""

    clean: pd.DataFrame
    y: np.ndarray  # proportion (binomial) or count
    weights: np.ndarray  # trials (binomial), 1 otherwise
    offset: np.ndarray
    fam: Family
    n_dropped: int


def _rows(
    frame: pd.DataFrame, outcome: str, columns: Sequence[str], response_family: ResponseFamily
) -> _Rows:
    if not response_family.generalized:
        raise SpecError("A GLM here is binomial or Poisson; a measured outcome uses lm.")
    for c in response_family.columns:
        if c == outcome or c in columns:
            raise SpecError(f"The column {c!r} cannot be both a trials/offset column and used.")
    used = [outcome, *columns, *response_family.columns]
    missing = [c for c in used if c not in frame.columns]
    if missing:
        raise DataError(f"No column {missing[0]!r} in the data.")
    clean, n_dropped = complete_rows(frame, used)
    if not len(clean):
        raise DataError(f"No row has a value in every column of {', '.join(used)}.")
    for c in response_family.columns:
        if not is_numeric_column(clean[c]):
            raise DataError(f"The column {c!r} must be numeric.")
    clean, _ = binomial_outcome_frame(clean, outcome, response_family)
    clean = clean.reset_index(drop=True)
    if not is_numeric_column(clean[outcome]):
        raise DataError(f"The outcome {outcome!r} must be 0/1, successes or counts.")
    fam = make_family(response_family.family, response_family.link)
    t, o = response_family.trials, response_family.offset
    response = response_of(
        clean[outcome].to_numpy(float),
        outcome,
        fam,
        None if t is None else clean[t].to_numpy(float),
        None if o is None else clean[o].to_numpy(float),
    )
    return _Rows(clean, response.y, response.weights, response.offset, fam, n_dropped)


def _dummies(series: pd.Series, name: str) -> tuple[np.ndarray, tuple[str, ...], np.ndarray]:
    """Treatment dummies of a factor (first level the reference, R's ``factor()`` order),
    their names and the row codes."""
    codes, levels = factor_codes(series)
    if len(levels) < 2:
        raise DataError(f"The grouping column {name!r} has one value: there are no dummies.")
    X = (codes[:, None] == np.arange(1, len(levels))[None, :]).astype(float)
    return X, tuple(f"{name}{level}" for level in levels[1:]), codes


def _kept(X: np.ndarray) -> np.ndarray:
    """Columns not aliased with the columns before them (R's dqrdc2 rule, as lm)."""
    r = np.linalg.qr(X, mode="r")
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0.0] = 1.0
    return np.abs(np.diag(r)) >= ALIAS_TOL * norms


def _irls(
    y: np.ndarray, X: np.ndarray, weights: np.ndarray, offset: np.ndarray, fam: Family
) -> tuple[np.ndarray, np.ndarray, int]:
    """statsmodels' IRLS: the estimates, their covariance and the iterations.

    The covariance is R's ``summary.glm`` one, (X' W X)^-1 with the working weights
    W = w mu.eta^2 / V(mu) at the final estimates (statsmodels' comes from the weights
    of the last iteration's start, one step behind)."""
    model = sm.GLM(y, X, family=_sm_family(fam), var_weights=weights, offset=offset)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separation is decided by ``separation``
        result = model.fit(method="IRLS", tol=TOL, maxiter=MAX_ITER, wls_method="qr")
    beta = np.asarray(result.params, float)
    eta = X @ beta + offset
    working = weights * fam.mu_eta(eta) ** 2 / fam.variance(fam.linkinv(eta))
    information = X.T @ (X * working[:, None])
    return beta, np.linalg.inv(information), int(result.fit_history["iteration"])


def _sm_family(fam: Family) -> sm.families.Family:
    link = _SM_LINKS[fam.link]()
    return sm.families.Binomial(link) if fam.name == "binomial" else sm.families.Poisson(link)


def _fit(
    rows: _Rows,
    X: np.ndarray,
    names: tuple[str, ...],
    outcome: str,
    infinite: tuple[str, ...] = (),
    n_all: int | None = None,
) -> GlmFit:
    """Fit arrays whose first column is the intercept; ``infinite``: dummies fitted
    exactly by rows already removed (counted as parameters and rows)."""
    y, w, off, fam = rows.y, rows.weights, rows.offset, rows.fam
    keep = _kept(X)
    coef = np.full(len(names), np.nan)
    se = np.full(len(names), np.nan)
    b, cov, iterations = _irls(y, X[:, keep], w, off, fam)
    coef[keep] = b
    se[keep] = np.sqrt(np.diag(cov))
    mu = fam.linkinv(X[:, keep] @ b + off)
    deviance = float(np.sum(fam.dev_resids(y, mu, w)))
    # R's glm.fit: the null model is the intercept alone, fitted with the offset.
    b0, _, _ = _irls(y, np.ones((len(y), 1)), w, off, fam)
    null_deviance = float(np.sum(fam.dev_resids(y, fam.linkinv(b0[0] + off), w)))
    n = len(y) if n_all is None else n_all
    rank = int(keep.sum()) + len(infinite)
    # R's family$aic(y, n, mu, wt): n and the prior weights are both the trials (1 for
    # a 0/1 outcome and for counts), as glm.fit passes them for cbind(s, n - s).
    aic_part = fam.aic(y, w, mu, w)
    z = coef / se
    return GlmFit(
        outcome=outcome,
        family=fam.name,
        link=fam.link,
        names=names,
        coef=coef,
        se=se,
        z=z,
        p=2.0 * stats.norm.sf(np.abs(z)),
        infinite=infinite,
        deviance=deviance,
        null_deviance=null_deviance,
        df_resid=n - rank,
        df_null=n - 1,
        loglik=-0.5 * aic_part,
        aic=aic_part + 2.0 * rank,
        nobs=n,
        n_dropped=rows.n_dropped,
        iterations=iterations,
    )


def fit_glm(
    frame: pd.DataFrame,
    outcome: str,
    predictors: Sequence[str],
    response_family: ResponseFamily,
    group: str | None = None,
) -> GlmFit:
    """``glm(outcome ~ predictors [+ group], family)`` on the complete rows.

    Parameters
    ----------
    frame : DataFrame
    outcome : str
    predictors : sequence of str
        Numeric columns (slopes); may be empty.
    response_family : ResponseFamily
        Binomial or Poisson, with its link, trials, offset and success level.
    group : str, optional
        A column dummy-coded (``factor(group)``) after the predictors. A group whose
        outcome is all 0 or all 1 gets an infinite dummy (module docstring); when that
        group is the first level (R's reference, whose intercept would be infinite), the
        first level with a finite estimate becomes the reference and the first level
        gets a dummy of its own.

    Raises
    ------
    DataError, SpecError
        Missing or unusable columns, an outcome glmer would refuse.
    """
    columns = [*predictors, *([group] if group else [])]
    rows = _rows(frame, outcome, columns, response_family)
    X, names = fixed_matrix(rows.clean, list(predictors))
    if group is None:
        return _fit(rows, X, names, outcome)
    codes, levels = factor_codes(rows.clean[group])
    reasons = [_all_same(rows.y[codes == k], rows.fam) for k in range(len(levels))]
    sign = {ALL_ZERO: -np.inf, ALL_ONE: np.inf}
    fitted = [k for k, r in enumerate(reasons) if not r]
    if len(fitted) < 1:
        raise DataError(f"Every {group!r} group has outcomes all 0 or all 1: nothing to fit.")
    keep_rows = np.isin(codes, fitted)
    sub = _Rows(
        rows.clean[keep_rows].reset_index(drop=True),
        rows.y[keep_rows],
        rows.weights[keep_rows],
        rows.offset[keep_rows],
        rows.fam,
        rows.n_dropped,
    )
    Xs = X[keep_rows]
    if len(fitted) > 1:
        D, _, _ = _dummies(sub.clean[group], group)
        Xs = np.hstack([Xs, D])
    inner_names = (*names, *(f"{group}{levels[k]}" for k in fitted[1:]))
    infinite = tuple(levels[k] for k, r in enumerate(reasons) if r)
    inner = _fit(sub, Xs, inner_names, outcome, infinite, n_all=len(rows.y))
    # R's names: one dummy per level but the reference (R's: the first; here the first
    # level with a finite estimate); the all-0 / all-1 ones infinite.
    reference = fitted[0]
    all_names = (*names, *(f"{group}{levels[k]}" for k in range(len(levels)) if k != reference))
    coef = np.full(len(all_names), np.nan)
    se, z, p = coef.copy(), coef.copy(), coef.copy()
    for k, name in enumerate(inner_names):
        j = all_names.index(name)
        coef[j], se[j], z[j], p[j] = inner.coef[k], inner.se[k], inner.z[k], inner.p[k]
    for k, reason in enumerate(reasons):
        if reason:
            coef[all_names.index(f"{group}{levels[k]}")] = sign[reason]
    return GlmFit(
        outcome=outcome,
        family=inner.family,
        link=inner.link,
        names=all_names,
        coef=coef,
        se=se,
        z=z,
        p=p,
        infinite=infinite,
        deviance=inner.deviance,
        null_deviance=_fit(rows, X[:, :1], names[:1], outcome).deviance,
        df_resid=inner.df_resid,
        df_null=len(rows.y) - 1,
        loglik=inner.loglik,
        aic=inner.aic,
        nobs=len(rows.y),
        n_dropped=rows.n_dropped,
        iterations=inner.iterations,
        reference=levels[reference],
    )


def _all_same(y: np.ndarray, fam: Family) -> str:
    """``ALL_ZERO`` / ``ALL_ONE`` when a group's outcome has no finite intercept."""
    if np.all(y == 0):
        return ALL_ZERO
    if fam.name == "binomial" and np.all(y == 1):
        return ALL_ONE
    return ""


def separation(y: np.ndarray, x: np.ndarray, fam: Family) -> str:
    """Why ``glm(y ~ x)`` has no finite estimate on these rows ("" when it has one).

    ``y``: proportions (binomial; 0/1 rows, or successes / trials) or counts. The rules
    for an intercept and one slope are in the module docstring.
    """
    if len(y) < 2:
        return ONE_ROW
    same = _all_same(y, fam)
    if same:
        return same
    if np.ptp(x) == 0:
        return CONSTANT
    if fam.name == "binomial":
        has_success, has_failure = x[y > 0], x[y < 1]
        if has_failure.max() <= has_success.min() or has_success.max() <= has_failure.min():
            return SEPARATED
        return ""
    positive = x[y > 0]
    zeros = x[y == 0]
    if np.ptp(positive) == 0 and zeros.size:
        c = positive[0]
        if np.all(zeros <= c) or np.all(zeros >= c):
            return SEPARATED
    return ""


def fit_glm_per_group(
    frame: pd.DataFrame,
    outcome: str,
    predictor: str,
    group: str,
    response_family: ResponseFamily,
) -> PerGroupGlm:
    """``glm(outcome ~ predictor, family)`` on each group's rows; a group with no finite
    estimate (``separation``) is left unfitted with its reason."""
    if group in (outcome, predictor):
        raise SpecError(f"The grouping column {group!r} cannot also be the outcome or predictor.")
    rows = _rows(frame, outcome, [predictor, group], response_family)
    X, names = fixed_matrix(rows.clean, [predictor])
    codes, levels = factor_codes(rows.clean[group])
    x = X[:, 1]
    fits: list[GlmFit | None] = []
    reasons: list[str] = []
    for k in range(len(levels)):
        mask = codes == k
        reason = separation(rows.y[mask], x[mask], rows.fam)
        reasons.append(reason)
        if reason:
            fits.append(None)
            continue
        part = _Rows(
            rows.clean[mask],
            rows.y[mask],
            rows.weights[mask],
            rows.offset[mask],
            rows.fam,
            0,
        )
        fits.append(_fit(part, X[mask], names, outcome))
    return PerGroupGlm(
        outcome=outcome,
        group=group,
        predictor=names[1],
        levels=tuple(levels),
        sizes=np.bincount(codes, minlength=len(levels)),
        fits=tuple(fits),
        reasons=tuple(reasons),
    )
