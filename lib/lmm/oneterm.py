"""The penalized least-squares factor of a one-term model, batched across levels and thetas.

Bates et al. (2015), J. Stat. Softw. 67(1), eqs. (18), (49)-(50). With one
random term Lambda is block diagonal with one q x q block T per level g, so
the factor splits into per-level pieces and one p x p block:

    L_g L_g' = T' Z_g'Z_g T + I                       (eq. 18, per level)
    R_ZX,g   = L_g^{-1} T' Z_g'X_g                    (eq. 49)
    c_u,g    = L_g^{-1} T' Z_g'y_g
    R_X'R_X  = X'X - sum_g R_ZX,g' R_ZX,g             (eq. 50)
    R_X' c_b = X'y - sum_g R_ZX,g' c_u,g
    beta     = R_X^{-1} c_b
    r^2      = y'y - sum_g |c_u,g|^2 - |c_b|^2        (penalized RSS at beta-hat)

from which ``lib.lmm.objective`` makes the criterion. Every q x q step is one
vector operation across all levels (``lib.lmm.smallblocks``), and across a
batch of thetas at once: finite differences, line searches and grids cost
about one solve where the levels are few. ``lib.lmm.blocked`` is the same
factor for several terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from lib.lmm.objective import fixed_effects_block, profiled_criterion, unscaled_vcov
from lib.lmm.smallblocks import (
    backward_solve_transposed,
    batched_cholesky,
    forward_solve,
    lower_inverse,
)
from lib.lmm.stats import ModelStats
from lib.lmm.theta import ThetaLayout

GROUP_CHUNK_CELLS = 32_768  # (theta, level) cells per vectorised step
CHUNK_CELLS = 200_000  # thetas x levels per solve: keeps temporaries in cache


class LevelFactors(NamedTuple):
    """The per-level pieces of the factor at B thetas (axes: k the batch, g the levels).

    Attributes
    ----------
    L : ndarray (q, q, B, G)
        Lower Cholesky factors of A_g = T'Z_g'Z_g T + I.
    RZX : ndarray (q, p, B, G)
    cu : ndarray (q, B, G)
    TtZtZ : ndarray (q, q, B, G)
        T'Z_g'Z_g, which A_g is made from and the gradient needs again.
    """

    L: np.ndarray
    RZX: np.ndarray
    cu: np.ndarray
    TtZtZ: np.ndarray

    def levels(self, s: slice) -> LevelFactors:
        return LevelFactors(*(a[..., s] for a in self))


@dataclass(frozen=True, eq=False)
class BatchState:
    """The solve at B values of theta at once.

    Attributes
    ----------
    T : ndarray (q, q, B)
    factors : LevelFactors or None
        None when the solve was asked for the global quantities only
        (``keep_factors``): at 10^6 levels, allocating and first touching these
        arrays cost as much as the solve itself (page faults on fresh memory,
        measured 50 ms).
    RXt : ndarray (p, p, B)
        Lower Cholesky factor of the Schur complement R_X'R_X (R_X = RXt').
    beta : ndarray (p, B)
    pwrss, ldL2, ldRX2 : ndarray (B,)
    """

    T: np.ndarray
    factors: LevelFactors | None
    RXt: np.ndarray
    beta: np.ndarray
    pwrss: np.ndarray
    ldL2: np.ndarray
    ldRX2: np.ndarray


@dataclass(frozen=True, eq=False)
class OneTermSolution:
    """The solve at one theta: ``BatchState`` with the batch axis removed.

    Attributes
    ----------
    T : ndarray (q, q)
    L : ndarray (q, q, G)
    RZX : ndarray (q, p, G)
    cu : ndarray (q, G)
    RXt : ndarray (p, p)
    beta : ndarray (p,)
    pwrss, ldL2, ldRX2 : float
    """

    T: np.ndarray
    L: np.ndarray
    RZX: np.ndarray
    cu: np.ndarray
    RXt: np.ndarray
    beta: np.ndarray
    pwrss: float
    ldL2: float
    ldRX2: float


def group_slices(ngroups: int, batch: int) -> list[slice]:
    """Slices of the level axis for one vectorised step each.

    Every q x q operation makes a temporary over the whole (batch x levels) axis;
    at 10^6 levels those are 8 MB arrays, allocated and page-faulted afresh by
    each of ~200 numpy operations. Steps of ~32k cells keep them in cache:
    a solve at 10^6 levels went from 0.38 s to 0.04 s (measured, q = p = 2).
    """
    size = max(256, GROUP_CHUNK_CELLS // max(1, batch))
    return [slice(i, min(i + size, ngroups)) for i in range(0, ngroups, size)]


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


class OneTermModel:
    """A model with one random term, from its statistics; solves at batches of thetas.

    The statistics are sums over rows (Z'Z, Z'X, Z'y per level, X'X, X'y, y'y);
    a family with weights per row would give the weighted sums and reuse this
    factor unchanged. ``lib.lmm.blocked.BlockedModel`` has the same interface.

    Parameters
    ----------
    stats : ModelStats
        With exactly one term.
    """

    def __init__(self, stats: ModelStats) -> None:
        (self.term,) = stats.terms
        self.stats = stats
        self.layout = self.term.layout
        self.layouts = (self.layout,)
        self.nobs, self.p, self.ngroups = stats.nobs, stats.p, self.term.nlevels
        self.lower_bounds = self.layout.lower_bounds
        self.start = self.layout.start

    def theta_chunks(self, thetas: np.ndarray) -> list[np.ndarray]:
        """``thetas`` split so that each solve holds at most CHUNK_CELLS (theta, level)
        cells: with 10^6 levels a batch of 13 thetas would otherwise need temporaries
        of q*q*13*10^6 doubles (400 MB each)."""
        size = max(1, CHUNK_CELLS // max(1, self.ngroups))
        return [thetas[i : i + size] for i in range(0, thetas.shape[0], size)]

    def group_factors(self, T: np.ndarray, s: slice) -> LevelFactors:
        """L_g, R_ZX,g and c_u,g (eqs. 18, 49) for the levels in slice ``s``."""
        layout, t = self.layout, self.term
        q = layout.q
        ZtZ, ZtX, Zty = t.ZtZ[..., s], t.ZtX[..., s], t.Zty[..., s]
        # A_g = T' (Z_g'Z_g T) + I, using the symmetry of Z_g'Z_g.
        TtZtZ = _lambda_t_times(T, ZtZ, layout)  # (T' ZtZ)[a, d] = (ZtZ T)[d, a]
        A = np.zeros((q, q, T.shape[2], ZtZ.shape[-1]))
        for c, a in layout.positions:
            for b in range(q):
                A[b, a] += T[c, a][:, None] * TtZtZ[b, c]
        for a in range(q):
            A[a, a] += 1.0
        L = batched_cholesky(A)
        RZX = forward_solve(L, _lambda_t_times(T, ZtX, layout))  # (q, p, B, g)
        cu = forward_solve(L, _lambda_t_times(T, Zty, layout))  # (q, B, g)
        return LevelFactors(L, RZX, cu, TtZtZ)

    def solve_batch(self, thetas: np.ndarray, keep_factors: bool = True) -> BatchState:
        """The factor (eqs. 18, 49-50 above) at each row of ``thetas`` (B, k).

        ``keep_factors=False``: only the global quantities (criterion, beta, R_X).
        """
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        stats, q, B = self.stats, self.layout.q, thetas.shape[0]
        p, G = self.p, self.ngroups
        T = self.layout.blocks(thetas)
        kept = None
        slices = group_slices(G, B)
        if keep_factors and len(slices) > 1:
            kept = LevelFactors(
                np.empty((q, q, B, G)),
                np.empty((q, p, B, G)),
                np.empty((q, B, G)),
                np.empty((q, q, B, G)),
            )
        cross = np.zeros((p, p, B))  # sum_g R_ZX,g' R_ZX,g
        cross_y = np.zeros((p, B))  # sum_g R_ZX,g' c_u,g
        cucu = np.zeros(B)
        ldL2 = np.zeros(B)
        with np.errstate(invalid="ignore", divide="ignore"):
            for s in slices:
                factors = self.group_factors(T, s)
                Ls, RZXs, cus = factors.L, factors.RZX, factors.cu
                if keep_factors and len(slices) == 1:
                    kept = factors
                elif keep_factors:
                    for whole, part in zip(kept, factors, strict=True):
                        whole[..., s] = part
                for i in range(p):
                    cross_y[i] += (RZXs[:, i] * cus).sum(axis=(0, 2))
                    for j in range(i + 1):
                        cross[i, j] += (RZXs[:, i] * RZXs[:, j]).sum(axis=(0, 2))
                cucu += (cus * cus).sum(axis=(0, 2))
                ldL2 += 2.0 * sum(np.log(Ls[a, a]).sum(axis=-1) for a in range(q))
            schur = np.empty((p, p, B))
            for i in range(p):
                for j in range(i + 1):
                    schur[i, j] = schur[j, i] = stats.XtX[i, j] - cross[i, j]
            rhs = stats.Xty[:, None] - cross_y
            RXt, beta, pwrss, ldRX2 = fixed_effects_block(schur, rhs, stats.yty - cucu)
        return BatchState(T, kept, RXt, beta, pwrss, ldL2, ldRX2)

    def criteria(self, thetas: np.ndarray, reml: bool) -> np.ndarray:
        """The profiled criterion at each row of ``thetas`` (B, k), solved in chunks."""
        thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
        values = []
        for chunk in self.theta_chunks(thetas):
            s = self.solve_batch(chunk, keep_factors=False)
            values.append(profiled_criterion(s.ldL2, s.ldRX2, s.pwrss, self.nobs, self.p, reml))
        return np.concatenate(values)

    def criterion_parts(self, thetas: np.ndarray, reml: bool) -> np.ndarray:
        """Rows [log|L|^2 (+ log|R_X|^2 for REML), r^2, (R_X'R_X)^{-1} flattened] at each
        theta: what lmerTest's numerical derivatives take (``satterthwaite``)."""
        state = self.solve_batch(thetas, keep_factors=False)
        U = unscaled_vcov(state.RXt).transpose(2, 0, 1).reshape(len(state.pwrss), -1)
        logdet = state.ldL2 + state.ldRX2 if reml else state.ldL2
        return np.column_stack([logdet, state.pwrss, U])

    def solve(self, theta: np.ndarray) -> OneTermSolution:
        """``solve_batch`` at a single theta."""
        s = self.solve_batch(np.asarray(theta, dtype=float)[None, :])
        return OneTermSolution(
            T=s.T[:, :, 0],
            L=s.factors.L[:, :, 0, :],
            RZX=s.factors.RZX[:, :, 0, :],
            cu=s.factors.cu[:, 0, :],
            RXt=s.RXt[:, :, 0],
            beta=s.beta[:, 0],
            pwrss=float(s.pwrss[0]),
            ldL2=float(s.ldL2[0]),
            ldRX2=float(s.ldRX2[0]),
        )

    def conditional_modes(self, theta: np.ndarray, sol: OneTermSolution) -> list[np.ndarray]:
        """[b] with b_g = T u_g, u_g = L_g^{-T}(c_u,g - R_ZX,g beta), shape (q, G)."""
        rhs = sol.cu - np.einsum("apg,p->ag", sol.RZX, sol.beta)
        u = backward_solve_transposed(sol.L, rhs)
        return [np.einsum("ab,bg->ag", sol.T, u)]

    def conditional_covariances(
        self, theta: np.ndarray, sol: OneTermSolution, sigma: float
    ) -> list[np.ndarray]:
        """[Var(b_g | y)] = [sigma^2 T (L_g L_g')^{-1} T'], shape (q, q, G): lme4's
        ``ranef(condVar = TRUE)`` (beta treated as known)."""
        Linv = lower_inverse(sol.L)  # L^{-1}, shape (q, q, G)
        M = np.einsum("ab,cbg->acg", sol.T, Linv)  # T L^{-T}: M[a, c] = sum_b T[a, b] Linv[c, b]
        return [sigma * sigma * np.einsum("acg,bcg->abg", M, M)]
