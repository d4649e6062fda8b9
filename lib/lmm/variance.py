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
        # insight adds an intercept column if the fixed part lacks one; ours always has it.
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
) -> tuple[Icc | None, R2]:
    """performance::icc and performance::r2_nakagawa for a linear mixed model.

    ``var_fixed`` is var(X beta) from the rows (``variance_fixed``).
    """
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
