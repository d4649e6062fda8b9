"""lme4's profiled deviance for one grouping factor, evaluated from cross-products.

Notation follows Bates, Maechler, Bolker & Walker (2015), "Fitting Linear
Mixed-Effects Models Using lme4", J. Stat. Softw. 67(1) (equation numbers below
refer to it). With b = Lambda(theta) u, u ~ N(0, sigma^2 I) and Lambda block
diagonal with one lower-triangular q x q block T per group:

    L_g L_g' = T' Z_g'Z_g T + I                       (eq. 18, per block)
    R_ZX,g   = L_g^{-1} T' Z_g'X_g                    (eq. 49)
    c_u,g    = L_g^{-1} T' Z_g'y_g
    R_X'R_X  = X'X - sum_g R_ZX,g' R_ZX,g             (eq. 50)
    R_X' c_b = X'y - sum_g R_ZX,g' c_u,g
    beta     = R_X^{-1} c_b
    r^2      = y'y - sum_g |c_u,g|^2 - |c_b|^2        (penalized RSS at beta-hat)

    ML   deviance  = log|L|^2 + n (1 + log(2 pi r^2 / n))                 (eq. 34)
    REML criterion = log|L|^2 + log|R_X|^2
                     + (n - p) (1 + log(2 pi r^2 / (n - p)))              (eq. 42)

The q x q algebra is written out as loops over q (tiny) with vector operations
across all G groups: a batched np.linalg call per group block is several times
slower for q <= 3 (measured, see shared FACTS).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from lib.lmm.crossprod import CrossProducts

LOG_2PI = float(np.log(2.0 * np.pi))


@cache
def _positions(q: int, correlated: bool) -> tuple[tuple[int, int], ...]:
    # Cached: this sits inside the objective's innermost loops.
    if not correlated:
        return tuple((i, i) for i in range(q))
    return tuple((i, j) for j in range(q) for i in range(j, q))


@dataclass(frozen=True)
class ThetaLayout:
    """Where each element of theta goes in the q x q block T.

    lme4 stores the lower triangle column by column; an uncorrelated model
    (separate terms ``(1|g) + (0+x|g)``) has only the diagonal.
    """

    q: int
    correlated: bool

    @property
    def positions(self) -> tuple[tuple[int, int], ...]:
        return _positions(self.q, self.correlated)

    @property
    def size(self) -> int:
        return len(self.positions)

    @property
    def lower_bounds(self) -> np.ndarray:
        """0 on the diagonal (standard deviations), -inf elsewhere, as lme4."""
        return np.array([0.0 if i == j else -np.inf for i, j in self.positions])

    @property
    def start(self) -> np.ndarray:
        """lme4's default start: identity block."""
        return np.array([1.0 if i == j else 0.0 for i, j in self.positions])

    def block(self, theta: np.ndarray) -> np.ndarray:
        """The relative covariance factor T(theta) (lower triangular)."""
        T = np.zeros((self.q, self.q))
        for value, (i, j) in zip(theta, self.positions, strict=True):
            T[i, j] = value
        return T


def batched_cholesky(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of G symmetric positive-definite q x q blocks, shape (q, q, G)."""
    q = A.shape[0]
    L = np.zeros_like(A)
    for j in range(q):
        d = A[j, j] - sum(L[j, k] * L[j, k] for k in range(j))
        L[j, j] = np.sqrt(d)
        for i in range(j + 1, q):
            L[i, j] = (A[i, j] - sum(L[i, k] * L[j, k] for k in range(j))) / L[j, j]
    return L


def forward_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L_g X_g = B_g for all groups; B has shape (q, ..., G)."""
    q = L.shape[0]
    X = np.empty_like(B)
    for i in range(q):
        acc = B[i].copy()
        for k in range(i):
            acc -= L[i, k] * X[k]
        X[i] = acc / L[i, i]
    return X


def backward_solve_transposed(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve L_g' X_g = B_g for all groups; B has shape (q, ..., G)."""
    q = L.shape[0]
    X = np.empty_like(B)
    for i in reversed(range(q)):
        acc = B[i].copy()
        for k in range(i + 1, q):
            acc -= L[k, i] * X[k]
        X[i] = acc / L[i, i]
    return X


@dataclass(frozen=True, eq=False)
class BatchState:
    """The penalized least-squares solve at B values of theta at once.

    Batching over theta lets finite-difference gradients and lmerTest's
    Hessian be computed in one vectorised pass instead of dozens of calls.
    Axes: k indexes the batch (B), g the groups (G).

    Attributes
    ----------
    T : ndarray (q, q, B)
    L : ndarray (q, q, B, G)
        Per-group lower Cholesky factors of T'Z_g'Z_g T + I.
    RZX : ndarray (q, p, B, G)
    cu : ndarray (q, B, G)
    RXt : ndarray (p, p, B)
        Lower Cholesky factor of the Schur complement R_X'R_X (R_X = RXt').
    beta : ndarray (p, B)
    pwrss, ldL2, ldRX2 : ndarray (B,)
    """

    T: np.ndarray
    L: np.ndarray
    RZX: np.ndarray
    cu: np.ndarray
    RXt: np.ndarray
    beta: np.ndarray
    pwrss: np.ndarray
    ldL2: np.ndarray
    ldRX2: np.ndarray


def _lambda_t_times(T: np.ndarray, M: np.ndarray, layout: ThetaLayout) -> np.ndarray:
    """T' M for every batch member: M has shape (q, *rest, G), result (q, *rest, B, G).

    Written as a loop over the structural non-zeros of T (lower triangle, or
    the diagonal for an uncorrelated model) because np.einsum over these tiny
    leading axes was the single largest cost at 10^6 rows (profiled).
    """
    B = T.shape[2]
    out = np.zeros((layout.q, *M.shape[1:-1], B, M.shape[-1]))
    for c, a in layout.positions:  # T[c, a] != 0 only here
        out[a] += T[c, a][:, None] * M[c][..., None, :]
    return out


def solve_batch(thetas: np.ndarray, cp: CrossProducts, layout: ThetaLayout) -> BatchState:
    """Penalized least squares (eqs. 18, 49-50 above) at each row of ``thetas`` (B, k)."""
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    q, B = layout.q, thetas.shape[0]
    p = cp.p
    T = np.zeros((q, q, B))
    for col, (i, j) in enumerate(layout.positions):
        T[i, j] = thetas[:, col]
    with np.errstate(invalid="ignore", divide="ignore"):
        # A_g = T' (Z_g'Z_g T) + I, using the symmetry of Z_g'Z_g.
        ZtZT = _lambda_t_times(T, cp.ZtZ, layout)  # (T' ZtZ)[a, d] = (ZtZ T)[d, a]
        A = np.zeros((q, q, B, cp.ngroups))
        for c, a in layout.positions:
            for b in range(q):
                A[b, a] += T[c, a][:, None] * ZtZT[b, c]
        for a in range(q):
            A[a, a] += 1.0
        L = batched_cholesky(A)
        RZX = forward_solve(L, _lambda_t_times(T, cp.ZtX, layout))  # (q, p, B, G)
        cu = forward_solve(L, _lambda_t_times(T, cp.Zty, layout))  # (q, B, G)
        schur = np.empty((p, p, B))
        rhs = np.empty((p, B))
        for i in range(p):
            rhs[i] = cp.Xty[i] - (RZX[:, i] * cu).sum(axis=(0, 2))
            for j in range(i + 1):
                schur[i, j] = schur[j, i] = cp.XtX[i, j] - (RZX[:, i] * RZX[:, j]).sum(axis=(0, 2))
        RXt = batched_cholesky(schur)
        cb = forward_solve(RXt, rhs)
        beta = backward_solve_transposed(RXt, cb)
        pwrss = cp.yty - (cu * cu).sum(axis=(0, 2)) - (cb * cb).sum(axis=0)
        ldL2 = 2.0 * sum(np.log(L[a, a]).sum(axis=-1) for a in range(q))
        ldRX2 = 2.0 * sum(np.log(RXt[j, j]) for j in range(p))
    return BatchState(T, L, RZX, cu, RXt, beta, pwrss, ldL2, ldRX2)


def batch_deviance(state: BatchState, nobs: int, reml: bool) -> np.ndarray:
    """REML criterion (eq. 42) or ML deviance (eq. 34) for each batch member; NaN -> inf."""
    p = state.beta.shape[0]
    dof = nobs - p if reml else nobs
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = state.ldL2 + dof * (1.0 + LOG_2PI + np.log(state.pwrss / dof))
        if reml:
            dev = dev + state.ldRX2
    return np.where(np.isfinite(dev), dev, np.inf)


def batch_deviance_at_sigma(
    state: BatchState, sigma: np.ndarray, nobs: int, reml: bool
) -> np.ndarray:
    """lmerTest's ``devfun_vp`` (deviance at given theta and sigma, not profiled).

    -2 log L(theta, sigma) = log|L|^2 + r^2 / sigma^2 + n log(2 pi sigma^2); for
    REML add log|R_X|^2 - p log(2 pi sigma^2) (Kuznetsova et al. 2017).
    """
    sigma2 = sigma * sigma
    dev = state.ldL2 + state.pwrss / sigma2 + nobs * (LOG_2PI + np.log(sigma2))
    if not reml:
        return dev
    p = state.beta.shape[0]
    return dev + state.ldRX2 - p * (LOG_2PI + np.log(sigma2))


def batch_unscaled_vcov_beta(state: BatchState) -> np.ndarray:
    """(R_X'R_X)^{-1} for each batch member, shape (p, p, B)."""
    p, _, B = state.RXt.shape
    eye = np.broadcast_to(np.eye(p)[:, :, None], (p, p, B)).copy()
    inv = forward_solve(state.RXt, eye)  # RXt^{-1}
    return np.einsum("cak,cbk->abk", inv, inv)


@dataclass(frozen=True, eq=False)
class ProfiledState:
    """The solve at one theta (a batch of one, with the batch axis removed).

    Attributes
    ----------
    theta : ndarray
    T : ndarray (q, q)
    L : ndarray (q, q, G)
    RZX : ndarray (q, p, G)
    cu : ndarray (q, G)
    RX : ndarray (p, p)
        Upper-triangular factor with R_X'R_X the Schur complement.
    beta : ndarray (p,)
    pwrss, ldL2, ldRX2 : float
    """

    theta: np.ndarray
    T: np.ndarray
    L: np.ndarray
    RZX: np.ndarray
    cu: np.ndarray
    RX: np.ndarray
    beta: np.ndarray
    pwrss: float
    ldL2: float
    ldRX2: float


def solve_at(theta: np.ndarray, cp: CrossProducts, layout: ThetaLayout) -> ProfiledState:
    """``solve_batch`` at a single theta."""
    s = solve_batch(np.asarray(theta, dtype=float)[None, :], cp, layout)
    return ProfiledState(
        theta=np.asarray(theta, dtype=float),
        T=s.T[:, :, 0],
        L=s.L[:, :, 0, :],
        RZX=s.RZX[:, :, 0, :],
        cu=s.cu[:, 0, :],
        RX=s.RXt[:, :, 0].T,
        beta=s.beta[:, 0],
        pwrss=float(s.pwrss[0]),
        ldL2=float(s.ldL2[0]),
        ldRX2=float(s.ldRX2[0]),
    )


def profiled_deviance(state: ProfiledState, nobs: int, reml: bool) -> float:
    """REML criterion (eq. 42) or ML deviance (eq. 34), sigma profiled out."""
    p = state.beta.shape[0]
    dof = nobs - p if reml else nobs
    dev = state.ldL2 + dof * (1.0 + LOG_2PI + np.log(state.pwrss / dof))
    return float(dev + state.ldRX2) if reml else float(dev)


def sigma_hat(state: ProfiledState, nobs: int, reml: bool) -> float:
    """Residual SD at the profiled optimum: r^2 / (n - p) for REML, r^2 / n for ML."""
    p = state.beta.shape[0]
    return float(np.sqrt(state.pwrss / (nobs - p if reml else nobs)))


def unscaled_vcov_beta(state: ProfiledState) -> np.ndarray:
    """(R_X'R_X)^{-1}; vcov(beta) = sigma^2 times this."""
    RX_inv = np.linalg.inv(state.RX)
    return RX_inv @ RX_inv.T


def conditional_modes(state: ProfiledState) -> np.ndarray:
    """Random effects b_g = T u_g with u_g = L_g^{-T}(c_u,g - R_ZX,g beta), shape (q, G)."""
    rhs = state.cu - np.einsum("apg,p->ag", state.RZX, state.beta)
    u = backward_solve_transposed(state.L, rhs)
    return np.einsum("ab,bg->ag", state.T, u)


def conditional_covariances(state: ProfiledState, sigma: float) -> np.ndarray:
    """Var(b_g | y) at the estimates: sigma^2 T (L_g L_g')^{-1} T', shape (q, q, G).

    This is what lme4's ``ranef(condVar = TRUE)`` reports (beta treated as known).
    """
    q, _, G = state.L.shape
    eye = np.broadcast_to(np.eye(q)[:, :, None], (q, q, G)).copy()
    Linv = forward_solve(state.L, eye)  # L^{-1}, shape (q, q, G)
    M = np.einsum("ab,cbg->acg", state.T, Linv)  # T L^{-T}: M[a, c] = sum_b T[a, b] Linv[c, b]
    return sigma * sigma * np.einsum("acg,bcg->abg", M, M)
