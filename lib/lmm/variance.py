"""ICC and Nakagawa R^2 exactly as R's performance/insight packages compute them.

Nakagawa, Johnson & Schielzeth (2017), J. R. Soc. Interface 14: 20170213.
insight 0.19 (``.compute_variance_fixed``, ``.compute_variance_random``):
    var_fixed    = var(X beta)                          (n - 1 denominator)
    var_random   = mean_i z_i' Sigma z_i                (Johnson 2014's extension to
                   random slopes), with z_i the rows of the *fixed-effects* model
                   matrix restricted to the random terms that appear in it: a random
                   slope whose column is not a fixed effect contributes nothing
    var_residual = sigma^2
The random variance is not defined (ICC missing; conditional R^2 missing) when
the fit is singular by insight's rule: a diagonal theta below 1e-5.

Without a fixed intercept (``0 +``) insight adds a column of ones for the random
intercept's z_i (``.compute_variance_random``); we do the same from 1'X and n. That
is the model with an intercept written another way only when the fixed columns span
the constant (``0 + sector``: one dummy per level); otherwise (``0 + x``) the random
intercept's variance holds the outcome's distance from zero, not between-group
differences, and performance's ICC and R^2 are not what they claim (0.985 on
sleepstudy's ``Reaction ~ 0 + Days + (1 | Subject)``), so none are returned
(``spans_constant``; tests/reference/no_intercept_reference.R).
"""

from __future__ import annotations

import numpy as np

from lib.lmm.result import R2, Icc, VarCorr

SINGULAR_TOL_INSIGHT = 1e-5


def variance_fixed(X: np.ndarray, beta: np.ndarray) -> float:
    """Variance of the fixed-effects predictions X beta (R's var, n - 1)."""
    eta = X @ beta
    # A constant prediction (intercept-only model) has variance exactly 0; numpy's
    # mean can round so var() returns ~1e-30, which R's two-pass var() does not.
    if eta.size < 2 or np.ptp(eta) == 0:
        return 0.0
    return float(np.var(eta, ddof=1))


def spans_constant(XtX: np.ndarray, x_sums: np.ndarray, nobs: int) -> bool:
    """Whether a column of ones lies in the column space of X, from X'X and 1'X.

    The residual of regressing 1 on X is n - 1'X (X'X)^+ X'1; it is 0 exactly when
    the constant is a combination of the columns (relative tolerance 1e-8).
    """
    coef = np.linalg.lstsq(XtX, x_sums, rcond=None)[0]
    return bool(nobs - float(x_sums @ coef) <= 1e-8 * nobs)


def with_intercept_column(
    XtX: np.ndarray, x_sums: np.ndarray, nobs: int, fixef_names: tuple[str, ...]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """[1 X]'[1 X] and its names: the cross-products with insight's added intercept."""
    p = XtX.shape[0]
    out = np.empty((p + 1, p + 1))
    out[0, 0] = nobs
    out[0, 1:] = out[1:, 0] = x_sums
    out[1:, 1:] = XtX
    return out, ("(Intercept)", *fixef_names)


def variance_random(
    XtX: np.ndarray, nobs: int, fixef_names: tuple[str, ...], varcorr: VarCorr
) -> float:
    """insight's random-effect variance, summed over the terms (see module docstring).

    mean_i z_i' Sigma z_i = trace(Sigma Z'Z) / n, with Z the fixed-effects columns
    of the term's effects, so X'X is all it needs. With several grouping factors
    insight adds each factor's share (Nakagawa et al. 2017, eq. 11 generalised).
    An uncorrelated term ``(1 | g) + (0 + x | g)`` has one VarCorr block per
    effect, named ``g``, ``g.1``, ...; insight 0.19 selects blocks by the names
    of ``ranef()``, which merges same-factor terms under the single name ``g``,
    so only the *first* effect's variance is counted. We reproduce that, since
    the reference is performance::icc (checked against R in tests/reference).
    """
    total = 0.0
    for term in varcorr.terms:
        names = term.names
        candidates = range(len(names)) if term.correlated else range(min(1, len(names)))
        keep = [k for k in candidates if names[k] in fixef_names or names[k] == "(Intercept)"]
        if not keep:
            continue
        # insight adds an intercept column if the fixed part lacks one (icc_and_r2 does).
        cols = [fixef_names.index(names[k]) for k in keep]
        sigma = term.covariance[np.ix_(keep, keep)]
        if not term.correlated:
            sigma = np.diag(np.diag(sigma))
        total += float(np.sum(sigma * XtX[np.ix_(cols, cols)]) / nobs)
    return total


def icc_and_r2(
    var_fixed: float,
    XtX: np.ndarray,
    nobs: int,
    fixef_names: tuple[str, ...],
    varcorr: VarCorr,
    theta: np.ndarray,
    theta_lower: np.ndarray,
    x_sums: np.ndarray | None = None,
) -> tuple[Icc | None, R2 | None]:
    """performance::icc and performance::r2_nakagawa for a linear mixed model.

    ``var_fixed`` is var(X beta) from the rows (``variance_fixed``). Without a fixed
    intercept both are None unless X spans the constant (module docstring), which
    needs ``x_sums`` (1'X).
    """
    if "(Intercept)" not in fixef_names:
        if x_sums is None or not spans_constant(XtX, x_sums, nobs):
            return None, None
        XtX, fixef_names = with_intercept_column(XtX, x_sums, nobs, fixef_names)
    residual_variance = varcorr.residual_variance
    vf = var_fixed
    singular = bool(np.any(np.abs(theta[theta_lower == 0.0]) < SINGULAR_TOL_INSIGHT))
    if singular:
        # r2_nakagawa then ignores the random part and reports no conditional R^2.
        return None, R2(marginal=vf / (vf + residual_variance), conditional=float("nan"))
    vr = variance_random(XtX, nobs, fixef_names, varcorr)
    total = vf + vr + residual_variance
    icc = Icc(adjusted=vr / (vr + residual_variance), unadjusted=vr / total)
    return icc, R2(marginal=vf / total, conditional=(vf + vr) / total)
