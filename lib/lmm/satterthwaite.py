"""Satterthwaite degrees of freedom for fixed effects, as lmerTest computes them.

Kuznetsova, Brockhoff & Christensen (2017), "lmerTest Package: Tests in Linear
Mixed Effects Models", J. Stat. Softw. 82(13), sec. 3: with variance parameters
phi = (theta, sigma), A = 2 H^{-1} (H the Hessian of the deviance in phi,
inverted on its positive eigenvalues), and for a contrast l,
    df = 2 (l' C l)^2 / (g' A g),   g_k = l' (dC/dphi_k) l,   C = vcov(beta).
Derivatives are numerical, with numDeriv's settings (``lib.lmm.numderiv``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lib.lmm import numderiv
from lib.lmm.crossprod import CrossProducts
from lib.lmm.objective import (
    ThetaLayout,
    batch_deviance_at_sigma,
    batch_unscaled_vcov_beta,
    solve_batch,
)

EIGEN_TOL = 1e-8
CHUNK_CELLS = 200_000  # batch members x groups per solve: keeps temporaries in cache


def _chunks(points: np.ndarray, ngroups: int) -> list[np.ndarray]:
    size = max(1, CHUNK_CELLS // max(1, ngroups))
    return [points[i : i + size] for i in range(0, points.shape[0], size)]


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
    cp: CrossProducts, layout: ThetaLayout, theta: np.ndarray, sigma: float, reml: bool
) -> SatterthwaiteInputs:
    """Hessian of the (theta, sigma) deviance and Jacobian of vcov(beta) at the optimum."""

    def devfun_vp(points: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [
                batch_deviance_at_sigma(
                    solve_batch(chunk[:, :-1], cp, layout), chunk[:, -1], cp.nobs, reml
                )
                for chunk in _chunks(points, cp.ngroups)
            ]
        )

    def covbeta(points: np.ndarray) -> np.ndarray:
        out = []
        for chunk in _chunks(points, cp.ngroups):
            vcov = batch_unscaled_vcov_beta(solve_batch(chunk[:, :-1], cp, layout))
            out.append((chunk[:, -1] ** 2 * vcov).transpose(2, 0, 1).reshape(chunk.shape[0], -1))
        return np.vstack(out)

    return derivative_inputs(devfun_vp, covbeta, np.append(theta, sigma), cp.p)


def derivative_inputs(
    devfun_vp: numderiv.BatchedFunction,
    covbeta: numderiv.BatchedFunction,
    varpar: np.ndarray,
    p: int,
) -> SatterthwaiteInputs:
    """lmerTest's two derivative objects from batched callables of phi = (theta, sigma).

    ``devfun_vp`` maps points (B, k) to the deviance at each (theta, sigma);
    ``covbeta`` maps them to vcov(beta) flattened to (B, p * p).
    """
    with np.errstate(all="ignore"):
        H = numderiv.hessian(devfun_vp, varpar)
        J = numderiv.jacobian(covbeta, varpar)
    return _inputs(H, J, p, varpar.size)


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
    k = theta.size
    d = nobs - p if reml else nobs
    with np.errstate(all="ignore"):
        (h_g, h_r2), grads = numderiv.hessians_and_gradients(lambda t: parts(t)[:, :2], theta)
        base = parts(theta[None, :])[0]
        jac_theta = numderiv.jacobian(lambda t: parts(t)[:, 2:], theta)  # (p*p, k)
    r2 = base[1]
    H = np.empty((k + 1, k + 1))
    H[:k, :k] = h_g + h_r2 / sigma**2
    H[:k, k] = H[k, :k] = -2.0 / sigma**3 * grads[1]
    H[k, k] = 6.0 * r2 / sigma**4 - 2.0 * d / sigma**2
    J = np.empty((p * p, k + 1))
    J[:, :k] = sigma**2 * jac_theta
    J[:, k] = 2.0 * sigma * base[2:]
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
