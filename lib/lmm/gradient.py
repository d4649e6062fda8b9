"""The exact gradient of the profiled criterion in theta: one derivation, two evaluations.

The criterion (``lib.lmm.objective``, eqs. 34 and 42 of Bates et al. 2015) is
log det M + dof log(r^2) + constants, with dof = n - p (REML) or n (ML) and

    M = [[A, C], [C', X'X]],   A = Lambda'Z'Z Lambda + I,   C = Lambda'Z'X,

the matrix of the penalized least-squares normal equations: its Cholesky factor
is [[L, 0], [R_ZX', R_X']], so log det M = log|L|^2 + log|R_X|^2 (REML; for ML
log det A = log|L|^2 alone). For the element theta_k, E_k = dLambda/dtheta_k
(a one at (i, j) of T in every level's block of its term), and

    d log det M / d theta_k = tr(M^-1 dM/dtheta_k)
                            = 2 tr(([M^-1]_uu Lambda'Z'Z + [M^-1]_ub X'Z) E_k)        (G)
    [M^-1]_uu = A^-1 + W S^-1 W',   [M^-1]_ub = -W S^-1,   W = A^-1 C,   S = R_X'R_X

(the block inverse of M; ML keeps only the A^-1 term). r^2 is a minimum over
(u, beta), so by the envelope theorem its derivative is the partial one at the
solution:

    d r^2 / d theta_k = -2 (Z'r)' E_k u,   Z'r = Z'y - Z'Z Lambda u - Z'X beta.          (R)

The criterion's derivative is d log det + dof (d r^2 / d theta_k) / r^2
(``criterion_gradient``). It costs a few evaluations of the criterion, against
2k for central differences, and has no truncation error.

(G) and (R) are evaluated in two ways, one per factor:

- one term (``one_term_parts``): [M^-1]_uu is block diagonal, one q x q block
  per level, so (G) is evaluated as it stands, per level and batched across
  thetas: 2 sum_g [(A_g^-1 + W_g S^-1 W_g') T'Z_g'Z_g - W_g S^-1 X_g'Z_g]_ji with
  W_g = L_g^-T R_ZX,g. Defined for every theta, a variance at 0 included.
- several terms (``blocked_parts``): [M^-1]_uu has blocks between terms, which
  (G) would need in full. Where every T is invertible, Lambda'Z'Z = (A - I)
  Lambda^-1 and [M^-1]_uu A + [M^-1]_ub C' = I turn (G) into
  2 tr((I - [M^-1]_uu) Lambda^-1 E_k), which needs only the per-level diagonal
  blocks of [M^-1]_uu (lme4's condVar blocks plus those of W S^-1 W'), and the
  normal equations Lambda'Z'r = u turn (R) into -2 u' Lambda^-1 E_k u. Where
  a T is singular (a variance at 0) there is no exact gradient: the caller
  falls back to differences of the criterion.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla

from lib.lmm.blocked import BlockedModel, BlockedSolution
from lib.lmm.objective import profiled_criterion, residual_dof, unscaled_vcov
from lib.lmm.oneterm import BatchState, OneTermModel, group_slices
from lib.lmm.smallblocks import backward_solve_transposed, lower_inverse

SINGULAR_T = 1e-6  # |T_aa| below this (relative) counts as a variance at 0: no Lambda^-1


def criterion_gradient(dlogdet, dr2, pwrss, nobs: int, p: int, reml: bool):  # noqa: ANN001, ANN201
    """d criterion / d theta from the parts' gradients: d log det + dof d r^2 / r^2."""
    dof = residual_dof(nobs, p, reml)
    with np.errstate(invalid="ignore", divide="ignore"):
        return dlogdet + dof * dr2 / pwrss


@dataclass(frozen=True, eq=False)
class GradientParts:
    """The criterion's parts and their exact theta-gradients at B thetas.

    Attributes
    ----------
    ldL2, ldRX2, pwrss : ndarray (B,)
        log|L|^2, log|R_X|^2, r^2 (NaN where the factor does not exist).
    dlogdet, dr2 : ndarray (B, k)
        Gradients of log|L|^2 (+ log|R_X|^2 for REML) and of r^2 (NaN where not exact).
    unscaled_vcov : ndarray (B, p * p)
        (R_X'R_X)^{-1} flattened.
    exact : ndarray (B,) of bool
        Where the gradient is exact (every T invertible for several terms).
    """

    ldL2: np.ndarray
    ldRX2: np.ndarray
    pwrss: np.ndarray
    dlogdet: np.ndarray
    dr2: np.ndarray
    unscaled_vcov: np.ndarray
    exact: np.ndarray

    def criteria(self, nobs: int, p: int, reml: bool) -> np.ndarray:
        return profiled_criterion(self.ldL2, self.ldRX2, self.pwrss, nobs, p, reml)

    def gradients(self, nobs: int, p: int, reml: bool) -> np.ndarray:
        return criterion_gradient(self.dlogdet, self.dr2, self.pwrss[:, None], nobs, p, reml)


def one_term_parts(model: OneTermModel, thetas: np.ndarray, reml: bool) -> GradientParts:
    """``GradientParts`` at each row of ``thetas`` (B, k), solved in chunks."""
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    out = []
    with np.errstate(all="ignore"):
        for chunk in model.theta_chunks(thetas):
            # Factors kept where they fit in one slice (few levels): the gradient reuses
            # them; with many levels recomputing them is cheaper (see BatchState).
            keep = len(group_slices(model.ngroups, len(chunk))) == 1
            state = model.solve_batch(chunk, keep_factors=keep)
            Sinv = unscaled_vcov(state.RXt)  # (p, p, B)
            dlogdet, dr2 = _one_term_gradients(model, state, Sinv, reml)
            U = Sinv.transpose(2, 0, 1).reshape(len(chunk), -1)
            out.append((state.ldL2, state.ldRX2, state.pwrss, dlogdet, dr2, U))
    parts = [np.concatenate(part) for part in zip(*out, strict=True)]
    return GradientParts(*parts, exact=np.ones(thetas.shape[0], dtype=bool))


def _one_term_gradients(
    model: OneTermModel, state: BatchState, Sinv: np.ndarray, reml: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(G) and (R) evaluated per level, batched across thetas: each (B, k)."""
    layout, term = model.layout, model.term
    q, p, B = layout.q, model.p, state.T.shape[2]
    T, beta = state.T, state.beta
    dlogdet = np.zeros((B, layout.size))
    dr2 = np.zeros((B, layout.size))
    with np.errstate(invalid="ignore", divide="ignore"):
        for s in group_slices(model.ngroups, B):
            if state.factors is None:  # recomputed per slice: cheaper than keeping them
                L, RZX, cu, TtZtZ = model.group_factors(T, s)
            else:
                L, RZX, cu, TtZtZ = state.factors.levels(s)
            ZtZ, ZtX = term.ZtZ[..., s], term.ZtX[..., s]
            g = ZtZ.shape[-1]
            u = backward_solve_transposed(
                L, cu - sum(RZX[:, m] * beta[m][:, None] for m in range(p))
            )  # (q, B, g)
            Tu = np.zeros_like(u)
            for c, a in layout.positions:
                Tu[c] += T[c, a][:, None] * u[a]
            Zr = np.broadcast_to(term.Zty[:, None, s], u.shape).copy()  # Z_g'r_g, (q, B, g)
            for a in range(q):
                for m in range(p):
                    Zr[a] -= ZtX[a, m][None, :] * beta[m][:, None]
                for b in range(q):
                    Zr[a] -= ZtZ[a, b][None, :] * Tu[b]
            Linv = lower_inverse(L)
            if reml:
                W = backward_solve_transposed(L, RZX)  # A_g^-1 T'Z_g'X_g, (q, p, B, g)
            # Rows j of A^-1 = Linv' Linv, of P = W S^-1 and entries of
            # Y = W' T'Z'Z - X'Z that the positions need, each computed once.
            rows = sorted({j for _, j in layout.positions})
            Ainv = {
                j: [sum(Linv[c, j] * Linv[c, d] for c in range(q)) for d in range(q)] for j in rows
            }
            if reml:
                P = {
                    j: [sum(W[j, n] * Sinv[n, m][:, None] for n in range(p)) for m in range(p)]
                    for j in rows
                }
                cols = sorted({i for i, _ in layout.positions})
                Y = {
                    i: [
                        sum(W[a, m] * TtZtZ[a, i] for a in range(q)) - ZtX[i, m][None, :]
                        for m in range(p)
                    ]
                    for i in cols
                }
            for k, (i, j) in enumerate(layout.positions):
                # D_ji = [A^-1 T'Z'Z]_ji (+ [W S^-1 (W' T'Z'Z - X'Z)]_ji for REML)
                D_ji = sum(Ainv[j][d] * TtZtZ[d, i] for d in range(q))
                if reml:
                    D_ji = D_ji + sum(P[j][m] * Y[i][m] for m in range(p))
                dlogdet[:, k] += 2.0 * np.broadcast_to(D_ji, (B, g)).sum(axis=-1)
                dr2[:, k] -= 2.0 * (Zr[i] * u[j]).sum(axis=-1)
    return dlogdet, dr2


def blocked_parts(model: BlockedModel, thetas: np.ndarray, reml: bool) -> GradientParts:
    """``GradientParts`` at each row of ``thetas`` (B, k), one blocked solve each."""
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    B, k, p = thetas.shape[0], thetas.shape[1], model.p
    ldL2, ldRX2, pwrss = np.full(B, np.nan), np.full(B, np.nan), np.full(B, np.nan)
    dlogdet, dr2 = np.full((B, k), np.nan), np.full((B, k), np.nan)
    U = np.full((B, p * p), np.nan)
    exact = np.zeros(B, dtype=bool)
    for b, theta in enumerate(thetas):
        sol = model.solution_parts(theta)
        if sol is None:
            continue
        ldL2[b], ldRX2[b], pwrss[b] = sol.ldL2, sol.ldRX2, sol.pwrss
        Sinv = unscaled_vcov(sol.RXt)
        U[b] = Sinv.ravel()
        got = _blocked_gradients(model, theta, sol, Sinv, reml)
        if got is not None:
            dlogdet[b], dr2[b] = got
            exact[b] = True
    return GradientParts(ldL2, ldRX2, pwrss, dlogdet, dr2, U, exact)


def _blocked_gradients(
    model: BlockedModel, theta: np.ndarray, sol: BlockedSolution, Sinv: np.ndarray, reml: bool
) -> tuple[np.ndarray, np.ndarray] | None:
    """(G) and (R) through 2 tr((I - [M^-1]_uu) Lambda^-1 E_k) and -2 u' Lambda^-1 E_k u;
    None where a T is singular."""
    Ts = model.split(theta)
    T_inv = []
    for T in Ts:
        d = np.abs(np.diag(T))
        if not np.all(d > SINGULAR_T * max(1.0, float(np.abs(T).max()))):
            return None
        T_inv.append(sla.solve_triangular(T, np.eye(T.shape[0]), lower=True))
    u = model.spherical_modes(sol)
    inverse_blocks = model.inverse_diagonal_blocks(sol)
    if reml:
        columns = [model.solve_lt(sol, [xr[m] for xr in sol.xrows]) for m in range(model.p)]
    dg, dr2 = [], []  # per term, in theta's order
    for k, t in enumerate(model.terms):
        q, G = t.q, t.nlevels
        Mi = inverse_blocks[k]  # (q, q, G)
        if reml:
            W = np.stack([c[k] for c in columns], axis=1).reshape(G, q, model.p)
            Mi = Mi + np.einsum("gam,mn,gbn->abg", W, Sinv, W)
        X = np.einsum("abg,bc->acg", np.eye(q)[:, :, None] - Mi, T_inv[k])
        v = np.einsum("ba,bg->ag", T_inv[k], u[k])  # T^-T u
        positions = model.layouts[k].positions
        dg += [2.0 * X[j, i].sum() for i, j in positions]
        dr2 += [-2.0 * float(v[i] @ u[k][j]) for i, j in positions]
    return np.array(dg), np.array(dr2)
