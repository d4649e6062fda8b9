"""Satterthwaite degrees of freedom for fixed effects, as lmerTest computes them.

Kuznetsova, Brockhoff & Christensen (2017), "lmerTest Package: Tests in Linear
Mixed Effects Models", J. Stat. Softw. 82(13), sec. 3: with variance parameters
phi = (theta, sigma), A = 2 H^{-1} (H the Hessian of the deviance in phi,
inverted on its positive eigenvalues), and for a contrast l,
    df = 2 (l' C l)^2 / (g' A g),   g_k = l' (dC/dphi_k) l,   C = vcov(beta).
Derivatives in theta are numerical: central differences of the exact gradients
(``lib.lmm.gradient``), or numDeriv's schemes on the criterion's parts
(``lib.lmm.numderiv``) where there is no exact gradient; the sigma direction is
analytic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lib.lmm import numderiv
from lib.lmm.objective import residual_dof

EIGEN_TOL = 1e-8


@dataclass(frozen=True, eq=False)
class SatterthwaiteInputs:
    """The two derivative objects lmerTest stores on a fit.

    Attributes
    ----------
    vcov_varpar : ndarray (k, k)
        Asymptotic covariance of (theta, sigma): 2 H^{-1}.
    jacobian : ndarray (p, p, k)
        d vcov(beta) / d phi_k.
    negative_eigenvalues : int
        Count of Hessian eigenvalues below -1e-8 (lmerTest warns "failed to converge").
    """

    vcov_varpar: np.ndarray
    jacobian: np.ndarray
    negative_eigenvalues: int


def satterthwaite_inputs(
    gradient_parts: Callable,
    criterion_parts: numderiv.BatchedFunction,
    theta: np.ndarray,
    sigma: float,
    nobs: int,
    p: int,
    reml: bool,
) -> SatterthwaiteInputs:
    """lmerTest's derivative objects at the optimum: from differences of exact gradients
    (``gradient_derivative_inputs``) where every point has one, else from numDeriv's
    schemes on the criterion's parts (``profiled_derivative_inputs``).

    ``gradient_parts`` maps points (B, k) to ``lib.lmm.gradient.GradientParts``;
    ``criterion_parts`` maps them to rows [g, r^2, U.ravel()].
    """
    return gradient_derivative_inputs(
        gradient_parts, theta, sigma, nobs, p, reml
    ) or profiled_derivative_inputs(criterion_parts, theta, sigma, nobs, p, reml)


def gradient_derivative_inputs(
    gradient_parts: Callable,
    theta: np.ndarray,
    sigma: float,
    nobs: int,
    p: int,
    reml: bool,
) -> SatterthwaiteInputs | None:
    """lmerTest's derivative objects where g = log|L|^2 (+ log|R_X|^2) and r^2 have exact
    theta-gradients (``lib.lmm.gradient``); None where some point has none (a
    variance at 0 with several terms).

    Their Hessians are central differences of the gradients, and d U / d theta
    central differences of U = vcov(beta) / sigma^2, all from the 2k + 1 solves
    of ``numderiv.gradient_stencil`` (lmerTest's numDeriv needs ~110 at k = 3;
    the df agree with it to ~2e-7, lmerTest itself agrees with us to 1e-3 only).
    The sigma direction is analytic as in ``profiled_derivative_inputs``.
    """
    stencil, h = numderiv.gradient_stencil(theta)
    with np.errstate(all="ignore"):
        got = gradient_parts(stencil)
    if not got.exact.all():
        return None
    g_grad, r2_grad, r2, U = got.dlogdet, got.dr2, got.pwrss, got.unscaled_vcov

    def central(values: np.ndarray) -> np.ndarray:
        return numderiv.stencil_derivative(values, h)

    h_g, h_r2 = central(g_grad), central(r2_grad)
    return _profiled_inputs(
        0.5 * (h_g + h_g.T),
        0.5 * (h_r2 + h_r2.T),
        r2_grad[0],
        float(r2[0]),
        U[0],
        central(U),
        sigma,
        nobs,
        p,
        reml,
    )


def profiled_derivative_inputs(
    parts: numderiv.BatchedFunction,
    theta: np.ndarray,
    sigma: float,
    nobs: int,
    p: int,
    reml: bool,
) -> SatterthwaiteInputs:
    """lmerTest's derivative objects with the sigma direction done analytically.

    With phi = (theta, sigma), lmerTest's deviance is
        f(theta, sigma) = g(theta) + r^2(theta) / sigma^2 + d log(2 pi sigma^2),
    g = log|L|^2 (+ log|R_X|^2 for REML), d = n - p (REML) or n (ML), and
    vcov(beta) = sigma^2 U(theta). So
        f_ss = 6 r^2 / sigma^4 - 2 d / sigma^2,   f_s,theta = -2 / sigma^3 dr^2/dtheta,
        f_theta,theta = g'' + (r^2)'' / sigma^2,  dvcov/dsigma = 2 sigma U,
    and only derivatives in theta are numerical (numDeriv's schemes, as lmerTest):
    about 2/3 of the solves of differentiating in (theta, sigma), which matters
    where one solve is a large blocked factorisation. ``parts`` maps thetas (B, k)
    to rows [g, r^2, U.ravel()] of shape (B, 2 + p * p).
    """
    with np.errstate(all="ignore"):
        (h_g, h_r2), grads = numderiv.hessians_and_gradients(lambda t: parts(t)[:, :2], theta)
        base = parts(theta[None, :])[0]
        jac_theta = numderiv.jacobian(lambda t: parts(t)[:, 2:], theta)  # (p*p, k)
    return _profiled_inputs(h_g, h_r2, grads[1], base[1], base[2:], jac_theta, sigma, nobs, p, reml)


def _profiled_inputs(
    h_g: np.ndarray,
    h_r2: np.ndarray,
    grad_r2: np.ndarray,
    r2: float,
    U: np.ndarray,
    jac_U: np.ndarray,
    sigma: float,
    nobs: int,
    p: int,
    reml: bool,
) -> SatterthwaiteInputs:
    """lmerTest's two objects from theta-derivatives of g, r^2 and U = vcov(beta) / sigma^2
    (formulas in ``profiled_derivative_inputs``); U flattened to (p*p,), jac_U (p*p, k)."""
    k = h_g.shape[0]
    d = residual_dof(nobs, p, reml)
    H = np.empty((k + 1, k + 1))
    H[:k, :k] = h_g + h_r2 / sigma**2
    H[:k, k] = H[k, :k] = -2.0 / sigma**3 * grad_r2
    H[k, k] = 6.0 * r2 / sigma**4 - 2.0 * d / sigma**2
    J = np.empty((p * p, k + 1))
    J[:, :k] = sigma**2 * jac_U
    J[:, k] = 2.0 * sigma * U
    return _inputs(H, J, p, k + 1)


def _inputs(H: np.ndarray, J: np.ndarray, p: int, size: int) -> SatterthwaiteInputs:
    values, vectors = np.linalg.eigh(H)
    positive = values > EIGEN_TOL
    V = vectors[:, positive]
    h_inv = V @ np.diag(1.0 / values[positive]) @ V.T
    # R fills arrays column-major: Jac[, i] reshaped to p x p; vcov is symmetric
    # so the order does not change the numbers.
    return SatterthwaiteInputs(
        vcov_varpar=2.0 * h_inv,
        jacobian=J.reshape(p, p, size),
        negative_eigenvalues=int(np.sum(values < -EIGEN_TOL)),
    )


def satterthwaite_df(inputs: SatterthwaiteInputs, vcov_beta: np.ndarray) -> np.ndarray:
    """Denominator df for each single coefficient (lmerTest's ``contest1D``)."""
    p = vcov_beta.shape[0]
    df = np.empty(p)
    for j in range(p):
        var_con = vcov_beta[j, j]
        grad = inputs.jacobian[j, j, :]
        denom = float(grad @ inputs.vcov_varpar @ grad)
        df[j] = 2.0 * var_con**2 / denom if denom > 0 else np.inf
    return df
