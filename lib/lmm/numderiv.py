"""Richardson-extrapolated numerical derivatives, as R's numDeriv computes them.

lmerTest's Satterthwaite degrees of freedom use ``numDeriv::hessian`` and
``numDeriv::jacobian`` with their default settings; reproducing the same step
sizes and extrapolation (Richardson, r = 4 halvings of the step, v = 2) gives
the same df to many digits rather than merely "a" numerical derivative.
Step: h = |d x| + eps * (|x| < zero_tol), with d = 0.1 for the Hessian
(``genD`` as called by ``hessian``) and d = 1e-4 for the Jacobian.

The functions take a *batched* callable, points of shape (B, n) -> values of
shape (B,) or (B, m): every evaluation point is known in advance, so all of
them are computed in one vectorised pass.

Where the gradient is exact (``lib.lmm.gradient``), second derivatives are
central differences of it instead, on one stencil (``gradient_stencil``) shared
by the Newton steps and by Satterthwaite's df: the last Newton step's gradients
at the optimum are then the ones the df need.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EPS = 1e-4
ZERO_TOL = float(np.sqrt(np.finfo(float).eps / 7e-7))
R_STEPS = 4

BatchedFunction = Callable[[np.ndarray], np.ndarray]

# Relative step (above 1) of the central differences of exact gradients: leaves
# ~2e-6 of truncation error against numDeriv's Richardson extrapolation in the
# Hessian's smallest entries (Satterthwaite df agree with it to ~2e-7); smaller
# steps trade that for rounding: at 1e-5 the df of the same data summed in
# another order (DuckDB) differ by 9e-9 instead of 1.5e-9.
GRADIENT_DIFFERENCE_STEP = 1e-4


def gradient_stencil(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points x, x + h_i e_i (i = 1..n), x - h_i e_i, shape (2n + 1, n), and the steps h."""
    h = GRADIENT_DIFFERENCE_STEP * np.maximum(1.0, np.abs(x))
    eye = np.diag(h)
    return np.vstack([x, x + eye, x - eye]), h


def stencil_derivative(values: np.ndarray, h: np.ndarray) -> np.ndarray:
    """d values / d x from values at ``gradient_stencil``'s points, (2n + 1, m) -> (m, n)."""
    n = h.size
    return ((values[1 : n + 1] - values[n + 1 :]) / (2.0 * h[:, None])).T


def _initial_step(x: np.ndarray, d: float) -> np.ndarray:
    return np.abs(d * x) + EPS * (np.abs(x) < ZERO_TOL)


def _richardson(approx: np.ndarray) -> np.ndarray:
    """numDeriv's extrapolation along axis 0: a_k <- (4^m a_{k+1} - a_k) / (4^m - 1)."""
    a = list(approx)
    r = len(a)
    for m in range(1, r):
        for k in range(r - m):
            a[k] = (a[k + 1] * 4.0**m - a[k]) / (4.0**m - 1.0)
    return a[0]


def hessians_and_gradients(
    func: BatchedFunction, x: np.ndarray, d: float = 0.1
) -> tuple[list[np.ndarray], np.ndarray]:
    """Hessians and gradients of m scalar functions evaluated together, func: (B, n) -> (B, m).

    numDeriv's ``genD`` points serve both: the gradient is Richardson's limit of
    the central differences along each axis (as ``genD`` returns it in ``D``).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    h0 = _initial_step(x, d)
    scales = h0[None, :] / 2.0 ** np.arange(R_STEPS)[:, None]  # (r, n): h at each halving
    pairs = [(i, j) for i in range(n) for j in range(i)]
    points = [x[None, :]]
    for i in range(n):
        step = np.zeros((R_STEPS, n))
        step[:, i] = scales[:, i]
        points += [x + step, x - step]
    for i, j in pairs:
        step = np.zeros((R_STEPS, n))
        step[:, i] = scales[:, i]
        step[:, j] = scales[:, j]
        points += [x + step, x - step]
    all_values = np.asarray(func(np.vstack(points)), dtype=float)
    hessians, gradients = [], []
    for values in all_values.T:
        f0 = values[0]
        pos = 1
        hdiag, grad = np.empty(n), np.empty(n)
        for i in range(n):
            f1, f2 = values[pos : pos + R_STEPS], values[pos + R_STEPS : pos + 2 * R_STEPS]
            pos += 2 * R_STEPS
            hdiag[i] = _richardson((f1 - 2.0 * f0 + f2) / scales[:, i] ** 2)
            grad[i] = _richardson((f1 - f2) / (2.0 * scales[:, i]))
        H = np.diag(hdiag)
        for i, j in pairs:
            f1, f2 = values[pos : pos + R_STEPS], values[pos + R_STEPS : pos + 2 * R_STEPS]
            pos += 2 * R_STEPS
            hi, hj = scales[:, i], scales[:, j]
            approx = (f1 - 2.0 * f0 + f2 - hdiag[i] * hi**2 - hdiag[j] * hj**2) / (2.0 * hi * hj)
            H[i, j] = H[j, i] = _richardson(approx)
        hessians.append(H)
        gradients.append(grad)
    return hessians, np.array(gradients)


def jacobian(func: BatchedFunction, x: np.ndarray, d: float = 1e-4) -> np.ndarray:
    """Jacobian of a vector function, shape (m, n) (``numDeriv::jacobian``)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    scales = _initial_step(x, d)[None, :] / 2.0 ** np.arange(R_STEPS)[:, None]
    points = []
    for i in range(n):
        step = np.zeros((R_STEPS, n))
        step[:, i] = scales[:, i]
        points += [x + step, x - step]
    values = np.asarray(func(np.vstack(points)), dtype=float).reshape(2 * n * R_STEPS, -1)
    columns = []
    for i in range(n):
        base = 2 * R_STEPS * i
        f1, f2 = values[base : base + R_STEPS], values[base + R_STEPS : base + 2 * R_STEPS]
        columns.append(_richardson((f1 - f2) / (2.0 * scales[:, i, None])))
    return np.column_stack(columns)
