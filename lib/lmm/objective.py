"""lme4's profiled criterion, written once: the deviance from a factor's three numbers.

Bates, Maechler, Bolker & Walker (2015), "Fitting Linear Mixed-Effects Models
Using lme4", J. Stat. Softw. 67(1) (equation numbers below refer to it).
Whatever the factor (one term, ``lib.lmm.oneterm``; several, ``lib.lmm.blocked``),
the penalized least-squares solve at theta gives

    log|L|^2    the log-determinant of the random-effects factor  (eq. 18)
    log|R_X|^2  that of the fixed-effects factor                  (eq. 50)
    r^2         the penalized residual sum of squares at beta-hat

and with sigma profiled out

    ML   deviance  = log|L|^2 + n (1 + log(2 pi r^2 / n))                 (eq. 34)
    REML criterion = log|L|^2 + log|R_X|^2
                     + (n - p) (1 + log(2 pi r^2 / (n - p)))              (eq. 42)
    sigma-hat^2    = r^2 / (n - p)  (REML)   or   r^2 / n  (ML)
    vcov(beta)     = sigma^2 (R_X'R_X)^{-1}

(MixedModels.jl writes the same once, in ``objective`` of
``src/linearmixedmodel.jl``.) Both factors end with the same last block, the
fixed effects' (``fixed_effects_block``). Every function here works elementwise
on arrays (a batch of thetas) as on scalars.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla

from lib.lmm.smallblocks import (
    backward_solve_transposed,
    batched_cholesky,
    forward_solve,
    lower_inverse,
)

LOG_2PI = float(np.log(2.0 * np.pi))


def fixed_effects_block(schur: np.ndarray, rhs: np.ndarray, yy):  # noqa: ANN001, ANN201
    """The factor's last block (eq. 50): from the Schur complements of the random
    effects in [X y]'[X y] (``schur`` = R_X'R_X, ``rhs`` = R_X'c_b, ``yy`` = y'y less
    |c_u|^2), R_X' (lower), beta = R_X^-1 c_b, r^2 = yy - |c_b|^2 and log|R_X|^2.

    Shapes (p, p), (p,), float for one theta (LAPACK; a LinAlgError where R_X'R_X
    is not positive definite) or with batch axes after them (``smallblocks``; NaN).
    """
    if schur.ndim == 2:
        RXt = np.linalg.cholesky(schur)
        cb = sla.solve_triangular(RXt, rhs, lower=True, check_finite=False)
        beta = sla.solve_triangular(RXt.T, cb, lower=False, check_finite=False)
    else:
        RXt = batched_cholesky(schur)
        cb = forward_solve(RXt, rhs)
        beta = backward_solve_transposed(RXt, cb)
    pwrss = yy - (cb * cb).sum(axis=0)
    ldRX2 = 2.0 * np.log(np.diagonal(RXt, axis1=0, axis2=1)).sum(axis=-1)
    return RXt, beta, pwrss, ldRX2


def residual_dof(nobs: int, p: int, reml: bool) -> int:
    """The criterion's denominator: n - p for REML, n for ML."""
    return nobs - p if reml else nobs


def profiled_criterion(ldL2, ldRX2, pwrss, nobs: int, p: int, reml: bool):  # noqa: ANN001, ANN201
    """REML criterion (eq. 42) or ML deviance (eq. 34); inf where it is not defined
    (r^2 <= 0, a factor that did not exist). Arrays in, array out; floats in, float out."""
    dof = residual_dof(nobs, p, reml)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = ldL2 + dof * (1.0 + LOG_2PI + np.log(pwrss / dof))
        if reml:
            dev = dev + ldRX2
    if np.ndim(dev) == 0:
        return float(dev) if np.isfinite(dev) else np.inf
    return np.where(np.isfinite(dev), dev, np.inf)


def sigma_hat(pwrss: float, nobs: int, p: int, reml: bool) -> float:
    """Residual SD at the profiled optimum: sqrt(r^2 / (n - p)) or sqrt(r^2 / n)."""
    return float(np.sqrt(pwrss / residual_dof(nobs, p, reml)))


def unscaled_vcov(RXt: np.ndarray) -> np.ndarray:
    """(R_X'R_X)^{-1} from the lower factor R_X' (p, p, ...); vcov(beta) is sigma^2 times it."""
    inv = lower_inverse(RXt)  # R_X'^{-1}
    return np.einsum("ca...,cb...->ab...", inv, inv)
