"""The Hessian of the Laplace deviance by central differences, all points evaluated in one batch.

glmer's default ``vcov`` is 2 H^{-1}[beta, beta] with H from ``deriv12``
(``R/deriv.R``): plain central differences, step 1e-4, of a deviance whose PIRLS
lags one iterate (docs/glmm-design.md 1.6). Here the deviance is PIRLS converged
to 1e-13 with the factor at the final weights, a smooth function, so central
differences are accurate with steps scaled to each parameter's curvature:

    H_ii = (f(x + h_i e_i) - 2 f(x) + f(x - h_i e_i)) / h_i^2
    H_ij = (f(x + h_i e_i + h_j e_j) - 2 f(x) + f(x - h_i e_i - h_j e_j)
            - H_ii h_i^2 - H_jj h_j^2) / (2 h_i h_j)

(numDeriv's ``genD`` stencil with one step, no Richardson levels): 1 + k + k^2
evaluations instead of numDeriv's 1 + 4 k (k + 1) at its default r = 4. The steps
``h`` come from the caller (a fraction of each parameter's standard-error scale):
truncation error is then (h / SE)^2 times the deviance's relative fourth
derivative, which is O(1/n) for a nearly quadratic likelihood, and rounding
(PIRLS's 1e-13 relative) enters as eps / h^2.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def stencil(x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The points: x, x + h_i e_i (i = 1..k), x - h_i e_i, then x + h_i e_i + h_j e_j
    and x - h_i e_i - h_j e_j for each pair i > j (in ``pairs`` order)."""
    k = x.size
    eye = np.diag(h)
    pairs = [(i, j) for i in range(k) for j in range(i)]
    points = [x[None, :], x + eye, x - eye]
    if pairs:
        both = np.array([eye[i] + eye[j] for i, j in pairs])
        points += [x + both, x - both]
    return np.vstack(points), pairs


def hessian_from_values(
    values: np.ndarray, h: np.ndarray, pairs: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, float]:
    """H, the central gradient and f(x) from f at ``stencil``'s points."""
    k = h.size
    values = np.asarray(values, dtype=float).ravel()
    f0, plus, minus = values[0], values[1 : k + 1], values[k + 1 : 2 * k + 1]
    H = np.diag((plus - 2.0 * f0 + minus) / (h * h))
    gradient = (plus - minus) / (2.0 * h)
    m = len(pairs)
    pp, mm = values[2 * k + 1 : 2 * k + 1 + m], values[2 * k + 1 + m :]
    for n, (i, j) in enumerate(pairs):
        off = (pp[n] - 2.0 * f0 + mm[n] - H[i, i] * h[i] ** 2 - H[j, j] * h[j] ** 2) / (
            2.0 * h[i] * h[j]
        )
        H[i, j] = H[j, i] = off
    return H, gradient, float(f0)


def central_hessian(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, h: np.ndarray
) -> tuple[np.ndarray, np.ndarray, float]:
    """H, the gradient (f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i) and f(x);
    ``f`` maps points (B, k) to values (B,)."""
    points, pairs = stencil(x, h)
    return hessian_from_values(f(points), h, pairs)
