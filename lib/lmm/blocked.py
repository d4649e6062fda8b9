"""lme4's penalized least squares for several random terms, with a blocked Cholesky factor.

Bates, Maechler, Bolker & Walker (2015), J. Stat. Softw. 67(1), eqs. (18),
(49)-(50) and (34)/(42), arranged as MixedModels.jl does it (Bates et al.,
``src/linalg/cholUnblocked.jl``, ``src/arraytypes.jl``): the terms are ordered
by number of levels, largest first, and [X y] is appended as a last block, so

    A = [Z_1 .. Z_K X y]' [Z_1 .. Z_K X y]          (symmetric, blocks A_ij)
    L L' = Lambda' A Lambda + diag(I, .., I, 0)     (Lambda = diag(Lambda_1 .. Lambda_K, I))

and the factor L is computed block column by block column:

    L_jj = chol(Lambda_j' A_jj Lambda_j + I - sum_{m<j} L_jm L_jm')
    L_ij = (Lambda_i' A_ij Lambda_j - sum_{m<j} L_im L_jm') L_jj^{-T}     (i > j)

The last diagonal block is chol of the [X y] Schur complement,
[[R_X', 0], [c_b', r]], so log|R_X|^2, beta = R_X^{-1} c_b and the penalized
residual sum of squares r^2 come out of it directly (eq. 50).

Storage follows the sparsity: L_11 is block-diagonal (one q_1 x q_1 block per
level), the blocks below it keep the sparsity of Z_i'Z_1; a later diagonal
block stays block-diagonal when the terms are nested (every level of the
finer factor lies in one level of the coarser one) and becomes dense only when
it fills in (crossed factors). No matrix of size (total random effects)^2 is
ever formed.

The factor takes its numbers from ``ModelStats`` alone (sums over rows of
products of [Z X y]) and gives log|L|^2, log|R_X|^2, r^2, beta and the modes;
the criterion made from them is ``lib.lmm.objective``'s, the exact gradient
``lib.lmm.gradient``'s. A family with weights per row (a GLMM's penalized
iteratively reweighted least squares) would hand it the weighted sums (Z'WZ,
Z'WX, X'WX, Z'Wz) in the same ``ModelStats`` and read the same numbers off it.
Which levels occur together (the sparsity pattern, the fill-in decided in
``_analyse``) does not change with the weights, but ``pair_A`` and the
products in ``WeightedProduct`` carry the sums' values: a reweighting loop
would want the pattern analysis split from them rather than a new
``BlockedModel`` per iteration.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from lib.errors import FitError
from lib.lmm.blocksparse import (
    WeightedProduct,
    add,
    block_inverse,
    blockdiag_matrix,
    blockdiag_right_solver,
    blocks_of,
    dense_right_solver,
    densify_if_full,
    gram_blocks,
    left_solve_matrix,
    left_solve_t,
    mul_t,
    off_block_nonzero,
    pair_matrix,
    right_lambda,
    scale,
    sub,
)
from lib.lmm.objective import fixed_effects_block, profiled_criterion, unscaled_vcov
from lib.lmm.smallblocks import batched_cholesky
from lib.lmm.stats import ModelStats
from lib.lmm.theta import split_theta

MAX_DENSE_CELLS = 40_000_000  # a dense block of 320 MB; beyond it the model is refused


@dataclass(frozen=True, eq=False)
class BlockedSolution:
    """The solve at one theta.

    Attributes
    ----------
    ldL2, ldRX2, pwrss : float
        log|L_Z|^2, log|R_X|^2 and the penalized RSS r^2.
    beta : ndarray (p,)
    RXt : ndarray (p, p)
        Lower triangular, R_X'R_X = Schur complement of X.
    diag : list
        L_jj per term: (q, q, G) blocks or a dense lower-triangular array.
    below : dict
        L_ij for i > j (terms; key (i, j)), sparse or dense.
    xrows : list of ndarray (p + 1, G_j q_j)
        The [X y] rows of L below each term.
    """

    ldL2: float
    ldRX2: float
    pwrss: float
    beta: np.ndarray
    RXt: np.ndarray
    diag: list
    below: dict
    xrows: list


class BlockedModel:
    """A model with any number of random terms, from its statistics; solves per theta.

    ``lib.lmm.oneterm.OneTermModel`` has the same interface (``solve``,
    ``criteria``, ``criterion_parts``, ``conditional_modes``,
    ``conditional_covariances``) for one term, batched across thetas.

    Parameters
    ----------
    stats : ModelStats
        Terms in lme4's order (levels decreasing).
    fill : list of bool, optional
        Which diagonal blocks fill in (``dense_diag`` of a model with the same
        levels): a reweighting loop passes its first model's, skipping the
        analysing solve, since weights do not change which levels occur together.
    fast_products : bool
        Whether to precompute the ``WeightedProduct`` patterns of a scalar first
        term; they pay off over the many solves of one model, not for a model
        solved once (a reweighting loop), where the plain products are used.
    """

    def __init__(
        self, stats: ModelStats, fill: list[bool] | None = None, fast_products: bool = True
    ) -> None:
        self.terms = terms = stats.terms
        self.layouts = stats.layouts
        self.nobs = stats.nobs
        self.p = stats.p
        self.K = len(terms)
        self.lower_bounds = np.concatenate([lay.lower_bounds for lay in self.layouts])
        self.start = np.concatenate([lay.start for lay in self.layouts])
        # A_jj (q, q, G) and [X y]'Z_j as (p + 1, G q), column g*q + a.
        self.diag_A = [t.ZtZ for t in terms]
        self.xA = []
        for t in terms:
            xz = np.concatenate([t.ZtX.transpose(1, 2, 0), t.Zty[None].transpose(0, 2, 1)])
            self.xA.append(xz.reshape(self.p + 1, t.size))
        self.XtX, self.Xty, self.yty = stats.XtX, stats.Xty, stats.yty
        # A_ij for i > j: sparse, rows level_i*q_i + a, columns level_j*q_j + b.
        self.pair_A: dict[tuple[int, int], sp.csr_matrix] = {}
        for (i, j), pair in stats.pairs.items():
            ti, tj = terms[i], terms[j]
            self.pair_A[(i, j)] = pair_matrix(pair, ti.q, ti.size, tj.q, tj.size)
        # With a scalar first term, L_i1 L_j1' = Lambda_i' A_i1 W A_j1' Lambda_j where
        # W = diag(theta_1^2 / L_11^2) is all that changes in the middle: the pattern
        # of A_i1 W A_j1' and the products entering each entry are found once here.
        self.first_products: dict[tuple[int, int], WeightedProduct] = {}
        if fast_products and self.K > 1 and terms[0].q == 1:
            for i in range(1, self.K):
                for j in range(1, i + 1):
                    self.first_products[(i, j)] = WeightedProduct(
                        self.pair_A[(i, 0)], self.pair_A[(j, 0)]
                    )
        self.dense_diag = [False] * self.K
        self._deciding = False
        if fill is None:
            self._analyse()
        else:
            self.dense_diag = list(fill)

    def _analyse(self) -> None:
        """Decide once which diagonal blocks fill in, from a solve at lme4's start.

        At theta = identity nothing cancels, so the pattern seen there is the
        structural one; keeping it fixed makes every later solve take the same path.
        """
        self._deciding = True
        try:
            self.solve(self.start)
        finally:
            self._deciding = False

    def split(self, theta: np.ndarray) -> list[np.ndarray]:
        """Each term's T block (q x q) from the concatenated theta."""
        parts = split_theta(theta, self.layouts)
        return [lay.block(part) for lay, part in zip(self.layouts, parts, strict=True)]

    def _lambda(self, k: int, T: np.ndarray):
        t = self.terms[k]
        if t.q == 1:
            return float(T[0, 0])
        return blockdiag_matrix(np.broadcast_to(T[:, :, None], (t.q, t.q, t.nlevels)))

    def solve(self, theta: np.ndarray) -> BlockedSolution:
        """The blocked Cholesky factor at ``theta`` and everything read off it."""
        theta = np.asarray(theta, dtype=float)
        Ts = self.split(theta)
        lams = [self._lambda(k, T) for k, T in enumerate(Ts)]
        diag: list = []
        inv_t: list = []  # per term: a function M -> M L_jj^{-T}
        below: dict = {}
        xrows: list = []
        ldL2 = 0.0
        for j, t in enumerate(self.terms):
            T = Ts[j]
            # Lambda_j' A_jj Lambda_j + I, blockwise: T' A_g T + I.
            A = self.diag_A[j]
            D = np.einsum("ca,cdg,db->abg", T, A, T)
            D[np.arange(t.q), np.arange(t.q)] += 1.0
            update = None
            for m in range(j):
                prod = self._product(j, j, m, below, lams, diag)
                update = prod if update is None else add(update, prod)
            if update is not None and self._deciding:
                big = off_block_nonzero(update, t.q)
                self.dense_diag[j] = bool(big)
                if big and t.size**2 > MAX_DENSE_CELLS:
                    raise FitError(
                        f"The grouping factors are crossed and '{t.name}' has {t.nlevels} "
                        "levels: "
                        "the model needs a dense matrix too large for this server. "
                        "Use fewer levels or fewer crossed factors."
                    )
            if self.dense_diag[j]:
                if update is None:
                    full = blockdiag_matrix(D).toarray()
                else:
                    full = -(update.toarray() if sp.issparse(update) else update)
                    for a in range(t.q):
                        for b in range(t.q):
                            full[
                                np.arange(t.nlevels) * t.q + a, np.arange(t.nlevels) * t.q + b
                            ] += D[a, b]
                Ljj = sla.cholesky(full, lower=True, check_finite=False)
                ldL2 += 2.0 * float(np.log(np.diag(Ljj)).sum())
                diag.append(Ljj)
                inv_t.append(dense_right_solver(Ljj))
            else:
                if update is not None:
                    D = D - blocks_of(update, t.q, t.nlevels)
                Ljj = batched_cholesky(D)
                ldL2 += 2.0 * float(sum(np.log(Ljj[a, a]).sum() for a in range(t.q)))
                diag.append(Ljj)
                inv_t.append(blockdiag_right_solver(Ljj))
            # Blocks below: terms i > j, then the [X y] rows.
            lam_j = lams[j]
            for i in range(j + 1, self.K):
                S = scale(self.pair_A[(i, j)], lams[i], lam_j)
                for m in range(j):
                    S = sub(S, self._product(i, j, m, below, lams, diag))
                below[(i, j)] = densify_if_full(inv_t[j](S))
            Sx = right_lambda(self.xA[j], lam_j)
            for m in range(j):
                Sx = Sx - mul_t(xrows[m], below[(j, m)])
            xrows.append(np.asarray(inv_t[j](Sx)))
        # The [X y] block: chol of the Schur complement.
        XyXy = np.empty((self.p + 1, self.p + 1))
        XyXy[: self.p, : self.p] = self.XtX
        XyXy[: self.p, self.p] = XyXy[self.p, : self.p] = self.Xty
        XyXy[self.p, self.p] = self.yty
        for m in range(self.K):
            XyXy -= xrows[m] @ xrows[m].T
        p = self.p
        RXt, beta, pwrss, ldRX2 = fixed_effects_block(XyXy[:p, :p], XyXy[:p, p], XyXy[p, p])
        return BlockedSolution(
            ldL2=ldL2,
            ldRX2=float(ldRX2),
            pwrss=float(pwrss),
            beta=beta,
            RXt=RXt,
            diag=diag,
            below=below,
            xrows=xrows,
        )

    def _product(self, i: int, j: int, m: int, below: dict, lams: list, diag: list):
        """L_im L_jm', from the precomputed pattern when m is the first, scalar term."""
        fast = self.first_products.get((i, j)) if m == 0 else None
        if fast is None:
            return mul_t(below[(i, m)], below[(j, m)])
        weights = lams[0] ** 2 / diag[0][0, 0] ** 2
        return scale(fast.evaluate(weights, 1.0), lams[i], lams[j])

    def solution_parts(self, theta: np.ndarray) -> BlockedSolution | None:
        """``solve`` with a non-positive-definite factor reported as None."""
        try:
            with np.errstate(all="ignore"):
                sol = self.solve(theta)
        except (np.linalg.LinAlgError, sla.LinAlgError, ValueError):
            return None
        if not (np.isfinite(sol.ldL2) and np.isfinite(sol.ldRX2) and sol.pwrss > 0):
            return None
        return sol

    def criteria(self, thetas: np.ndarray, reml: bool) -> np.ndarray:
        """The profiled criterion at each row of ``thetas`` (B, k); inf where the factor
        does not exist."""
        out = np.full(thetas.shape[0], np.inf)
        for b, theta in enumerate(thetas):
            sol = self.solution_parts(theta)
            if sol is not None:
                out[b] = profiled_criterion(sol.ldL2, sol.ldRX2, sol.pwrss, self.nobs, self.p, reml)
        return out

    def criterion_parts(self, thetas: np.ndarray, reml: bool) -> np.ndarray:
        """Rows [log|L|^2 (+ log|R_X|^2 for REML), r^2, (R_X'R_X)^{-1} flattened] at each
        theta (NaN where the factor does not exist): what lmerTest's numerical
        derivatives take (``satterthwaite``)."""
        out = np.full((thetas.shape[0], 2 + self.p * self.p), np.nan)
        for b, theta in enumerate(thetas):
            s = self.solution_parts(theta)
            if s is not None:
                out[b, 0] = s.ldL2 + (s.ldRX2 if reml else 0.0)
                out[b, 1] = s.pwrss
                out[b, 2:] = unscaled_vcov(s.RXt).ravel()
        return out

    # -- the modes and the inverse's diagonal blocks -----------------------------------

    def solve_lt(self, sol: BlockedSolution, rhs: list[np.ndarray]) -> list[np.ndarray]:
        """x with L_Z' x = rhs (block back-substitution), per term as vectors."""
        x: list = [None] * self.K
        for j in reversed(range(self.K)):
            r = rhs[j].copy()
            for i in range(j + 1, self.K):
                r -= np.asarray(sol.below[(i, j)].T @ x[i]).ravel()
            t = self.terms[j]
            x[j] = left_solve_t(sol.diag[j], r, t.q, t.nlevels)
        return x

    def spherical_modes(self, sol: BlockedSolution) -> list[np.ndarray]:
        """u_k with L_Z' u = c_u - R_ZX beta, per term as (q, G) (b_k = Lambda_k u_k)."""
        u = self.solve_lt(sol, [xr[self.p] - xr[: self.p].T @ sol.beta for xr in sol.xrows])
        return [uj.reshape(t.nlevels, t.q).T for uj, t in zip(u, self.terms, strict=True)]

    def conditional_modes(self, theta: np.ndarray, sol: BlockedSolution) -> list[np.ndarray]:
        """b_k = Lambda_k u_k with L_Z' u = c_u - R_ZX beta, per term as (q, G)."""
        Ts = self.split(theta)
        return [T @ u for T, u in zip(Ts, self.spherical_modes(sol), strict=True)]

    def inverse_diagonal_blocks(self, sol: BlockedSolution) -> list[np.ndarray]:
        """Per term, the per-level q x q diagonal blocks of (L_Z L_Z')^{-1}, (q, q, G).

        The k-th block column of L_Z^{-1}: W_k = L_kk^{-1}, W_i = -L_ii^{-1}
        sum_{k<=m<i} L_im W_m; the wanted block is sum_i W_i' W_i.
        """
        out = []
        for k, t in enumerate(self.terms):
            W = {k: block_inverse(sol.diag[k])}
            acc = gram_blocks(W[k], t.q, t.nlevels)
            for i in range(k + 1, self.K):
                S = None
                for m in range(k, i):
                    prod = sol.below[(i, m)] @ W[m]
                    S = prod if S is None else add(S, prod)
                W[i] = -left_solve_matrix(sol.diag[i], S)
                acc = acc + gram_blocks(W[i], t.q, t.nlevels)
            out.append(acc)
        return out

    def conditional_covariances(
        self, theta: np.ndarray, sol: BlockedSolution, sigma: float
    ) -> list[np.ndarray]:
        """sigma^2 Lambda_k [(L_Z L_Z')^{-1}]_kk Lambda_k' per level, shape (q, q, G)
        (lme4's ``condVar``, beta treated as known)."""
        return [
            sigma * sigma * np.einsum("ab,bcg,dc->adg", T, acc, T)
            for T, acc in zip(self.split(theta), self.inverse_diagonal_blocks(sol), strict=True)
        ]
