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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from lib.errors import FitError
from lib.lmm.objective import ThetaLayout, batched_cholesky, forward_solve
from lib.lmm.stats import ModelStats, PairStats

SINGULAR_T = 1e-6  # |T_aa| below this (relative) counts as a variance at 0: no Lambda^-1
MAX_DENSE_CELLS = 40_000_000  # a dense block of 320 MB; beyond it the model is refused
DENSE_INDEX_CELLS = 50_000_000  # a bool map of this many cells (50 MB) numbers entries


@dataclass(frozen=True, eq=False)
class TermShape:
    """What the blocked solve needs to know of one term besides its sums."""

    name: str
    nlevels: int
    layout: ThetaLayout

    @property
    def q(self) -> int:
        return self.layout.q

    @property
    def size(self) -> int:
        return self.nlevels * self.q


@dataclass(frozen=True, eq=False)
class BlockedSolution:
    """The solve at one theta.

    Attributes
    ----------
    ldL2, ldRX2, pwrss : float
        log|L_Z|^2, log|R_X|^2 and the penalized RSS r^2.
    beta : ndarray (p,)
    RX : ndarray (p, p)
        Upper triangular, R_X'R_X = Schur complement of X.
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
    RX: np.ndarray
    diag: list
    below: dict
    xrows: list


def _blockdiag_indices(q: int, G: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.arange(G)
    a, b = np.meshgrid(np.arange(q), np.arange(q), indexing="ij")
    rows = (g[None, None, :] * q + a[:, :, None]).ravel()
    cols = (g[None, None, :] * q + b[:, :, None]).ravel()
    return rows, cols


def blockdiag_matrix(blocks: np.ndarray) -> sp.csr_matrix:
    """Sparse block-diagonal matrix from blocks of shape (q, q, G)."""
    q, _, G = blocks.shape
    if q == 1:
        return sp.diags(blocks[0, 0], format="csr")
    rows, cols = _blockdiag_indices(q, G)
    return sp.csr_matrix((blocks.ravel(), (rows, cols)), shape=(G * q, G * q))


def blocks_of(matrix: sp.spmatrix | np.ndarray, q: int, G: int) -> np.ndarray:
    """The diagonal q x q blocks of a (G q) x (G q) matrix, shape (q, q, G)."""
    if q == 1:
        d = matrix.diagonal() if sp.issparse(matrix) else np.diag(matrix)
        return np.asarray(d, float)[None, None, :]
    out = np.zeros((q, q, G))
    if sp.issparse(matrix):
        coo = matrix.tocoo()
        keep = coo.row // q == coo.col // q
        np.add.at(out, (coo.row[keep] % q, coo.col[keep] % q, coo.row[keep] // q), coo.data[keep])
        return out
    for a in range(q):
        for b in range(q):
            out[a, b] = matrix[np.arange(G) * q + a, np.arange(G) * q + b]
    return out


def _off_block_nonzero(matrix: sp.spmatrix | np.ndarray, q: int) -> bool:
    if not sp.issparse(matrix):
        n = matrix.shape[0]
        mask = np.arange(n)[:, None] // q != np.arange(n)[None, :] // q
        return bool(np.any(matrix[mask] != 0))
    coo = matrix.tocoo()
    return bool(np.any((coo.row // q != coo.col // q) & (coo.data != 0)))


def _mul_t(a: sp.spmatrix | np.ndarray, b: sp.spmatrix | np.ndarray):
    """a @ b' for any mix of sparse and dense operands."""
    if sp.issparse(a) and sp.issparse(b):
        return (a @ b.T).tocsr()
    if sp.issparse(a):
        return np.asarray(a @ np.asarray(b).T)
    if sp.issparse(b):
        return np.asarray((b @ np.asarray(a).T).T)
    return a @ b.T


def _sub(a, b):
    """a - b, staying sparse only when both are."""
    if sp.issparse(a) and sp.issparse(b):
        return (a - b).tocsr()
    return np.asarray(a.toarray() if sp.issparse(a) else a) - (b.toarray() if sp.issparse(b) else b)


def _densify_if_full(m):
    if sp.issparse(m) and m.nnz > 0.25 * m.shape[0] * m.shape[1]:
        return m.toarray()
    return m


class BlockedModel:
    """The fixed part of a multi-term model, from its statistics; solves per theta.

    Parameters
    ----------
    stats : ModelStats
        Terms in lme4's order (levels decreasing).
    layouts : sequence of ThetaLayout
        One per term.
    """

    def __init__(self, stats: ModelStats, layouts: list[ThetaLayout]) -> None:
        self.terms = [
            TermShape(name=t.name, nlevels=t.nlevels, layout=lay)
            for t, lay in zip(stats.terms, layouts, strict=True)
        ]
        terms = self.terms
        self.nobs = stats.nobs
        self.p = stats.p
        self.K = len(terms)
        self.offsets = np.cumsum([0] + [t.layout.size for t in terms])
        self.lower_bounds = np.concatenate([t.layout.lower_bounds for t in terms])
        self.start = np.concatenate([t.layout.start for t in terms])
        # A_jj (q, q, G) and [X y]'Z_j as (p + 1, G q), column g*q + a.
        self.diag_A = [t.ZtZ for t in stats.terms]
        self.xA = []
        for t, shape in zip(stats.terms, terms, strict=True):
            xz = np.concatenate([t.ZtX.transpose(1, 2, 0), t.Zty[None].transpose(0, 2, 1)])
            self.xA.append(xz.reshape(self.p + 1, shape.size))
        self.XtX, self.Xty, self.yty = stats.XtX, stats.Xty, stats.yty
        # A_ij for i > j: sparse, rows level_i*q_i + a, columns level_j*q_j + b.
        self.pair_A: dict[tuple[int, int], sp.csr_matrix] = {}
        for (i, j), pair in stats.pairs.items():
            self.pair_A[(i, j)] = _pair_matrix(pair, terms[i], terms[j])
        # With a scalar first term, L_i1 L_j1' = Lambda_i' A_i1 W A_j1' Lambda_j where
        # W = diag(theta_1^2 / L_11^2) is all that changes in the middle: the pattern
        # of A_i1 W A_j1' and the products entering each entry are found once here.
        self.first_products: dict[tuple[int, int], WeightedProduct] = {}
        if self.K > 1 and terms[0].q == 1:
            for i in range(1, self.K):
                for j in range(1, i + 1):
                    self.first_products[(i, j)] = WeightedProduct(
                        self.pair_A[(i, 0)], self.pair_A[(j, 0)]
                    )
        self.dense_diag = [False] * self.K
        self._deciding = False
        self._analyse()

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
        return [
            t.layout.block(theta[self.offsets[k] : self.offsets[k + 1]])
            for k, t in enumerate(self.terms)
        ]

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
                update = prod if update is None else _add(update, prod)
            if update is not None and self._deciding:
                big = _off_block_nonzero(update, t.q)
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
                inv_t.append(_dense_right_solver(Ljj))
            else:
                if update is not None:
                    D = D - blocks_of(update, t.q, t.nlevels)
                Ljj = batched_cholesky(D)
                ldL2 += 2.0 * float(sum(np.log(Ljj[a, a]).sum() for a in range(t.q)))
                diag.append(Ljj)
                inv_t.append(_blockdiag_right_solver(Ljj))
            # Blocks below: terms i > j, then the [X y] rows.
            lam_j = lams[j]
            for i in range(j + 1, self.K):
                S = _scale(self.pair_A[(i, j)], lams[i], lam_j)
                for m in range(j):
                    S = _sub(S, self._product(i, j, m, below, lams, diag))
                below[(i, j)] = _densify_if_full(inv_t[j](S))
            Sx = _right_lambda(self.xA[j], lam_j)
            for m in range(j):
                Sx = Sx - _mul_t(xrows[m], below[(j, m)])
            xrows.append(np.asarray(inv_t[j](Sx)))
        # The [X y] block: chol of the Schur complement.
        XyXy = np.empty((self.p + 1, self.p + 1))
        XyXy[: self.p, : self.p] = self.XtX
        XyXy[: self.p, self.p] = XyXy[self.p, : self.p] = self.Xty
        XyXy[self.p, self.p] = self.yty
        for m in range(self.K):
            XyXy -= xrows[m] @ xrows[m].T
        Lxx = np.linalg.cholesky(XyXy[: self.p, : self.p])  # R_X'
        cb = sla.solve_triangular(Lxx, XyXy[: self.p, self.p], lower=True, check_finite=False)
        pwrss = float(XyXy[self.p, self.p] - cb @ cb)
        beta = sla.solve_triangular(Lxx.T, cb, lower=False, check_finite=False)
        ldRX2 = 2.0 * float(np.log(np.diag(Lxx)).sum())
        return BlockedSolution(
            ldL2=ldL2,
            ldRX2=ldRX2,
            pwrss=pwrss,
            beta=beta,
            RX=Lxx.T.copy(),
            diag=diag,
            below=below,
            xrows=xrows,
        )

    def _product(self, i: int, j: int, m: int, below: dict, lams: list, diag: list):
        """L_im L_jm', from the precomputed pattern when m is the first, scalar term."""
        fast = self.first_products.get((i, j)) if m == 0 else None
        if fast is None:
            return _mul_t(below[(i, m)], below[(j, m)])
        weights = lams[0] ** 2 / diag[0][0, 0] ** 2
        return _scale(fast.evaluate(weights, 1.0), lams[i], lams[j])

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

    # -- after the optimum: conditional modes and variances --------------------------

    def _solve_lt(self, sol: BlockedSolution, rhs: list[np.ndarray]) -> list[np.ndarray]:
        """x with L_Z' x = rhs (block back-substitution), per term as vectors."""
        x: list = [None] * self.K
        for j in reversed(range(self.K)):
            r = rhs[j].copy()
            for i in range(j + 1, self.K):
                r -= np.asarray(sol.below[(i, j)].T @ x[i]).ravel()
            x[j] = _left_solve_t(sol.diag[j], r, self.terms[j])
        return x

    def spherical_modes(self, sol: BlockedSolution) -> list[np.ndarray]:
        """u_k with L_Z' u = c_u - R_ZX beta, per term as (q, G) (b_k = Lambda_k u_k)."""
        u = self._solve_lt(sol, [xr[self.p] - xr[: self.p].T @ sol.beta for xr in sol.xrows])
        return [uj.reshape(t.nlevels, t.q).T for uj, t in zip(u, self.terms, strict=True)]

    def conditional_modes(self, theta: np.ndarray, sol: BlockedSolution) -> list[np.ndarray]:
        """b_k = Lambda_k u_k with L_Z' u = c_u - R_ZX beta, per term as (q, G)."""
        Ts = self.split(theta)
        return [T @ u for T, u in zip(Ts, self.spherical_modes(sol), strict=True)]

    def gradient_parts(
        self, theta: np.ndarray, sol: BlockedSolution, reml: bool
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact theta-gradients of log|L|^2 (+ log|R_X|^2 for REML) and of r^2.

        With A = Lambda'Z'Z Lambda + I, C = Lambda'Z'X and M = [[A, C], [C', X'X]]:
        Lambda'Z'Z = (A - I) Lambda^-1 and M^-1 M = I give
            d log det M / d theta_k = 2 tr((I - [M^-1]_uu) Lambda^-1 dLambda/dtheta_k),
            [M^-1]_uu = A^-1 + A^-1 C S^-1 C' A^-1 (S = R_X'R_X; ML: A^-1 alone),
        and the normal equations Lambda'Z'r = u give (envelope theorem)
            d r^2 / d theta_k = -2 u' Lambda^-1 dLambda/dtheta_k u.
        dLambda/dtheta_k lies in term t's diagonal blocks, so only the per-level
        q x q blocks of [M^-1]_uu are needed: those of A^-1 (as lme4's condVar)
        and of W S^-1 W' with W = A^-1 C = L_Z^-T R_ZX. None where a T_t is
        singular (a variance at 0); the caller falls back to differences.
        """
        Ts = self.split(theta)
        T_inv = []
        for T in Ts:
            d = np.abs(np.diag(T))
            if not np.all(d > SINGULAR_T * max(1.0, float(np.abs(T).max()))):
                return None
            T_inv.append(sla.solve_triangular(T, np.eye(T.shape[0]), lower=True))
        u = self.spherical_modes(sol)
        inverse_blocks = self._inverse_diagonal_blocks(sol)
        if reml:
            columns = [self._solve_lt(sol, [xr[m] for xr in sol.xrows]) for m in range(self.p)]
            RX_inv = np.linalg.inv(sol.RX)
            S_inv = RX_inv @ RX_inv.T
        dg = np.zeros(self.lower_bounds.size)
        dr2 = np.zeros(self.lower_bounds.size)
        for k, t in enumerate(self.terms):
            q, G = t.q, t.nlevels
            Mi = inverse_blocks[k]  # (q, q, G)
            if reml:
                W = np.stack([c[k] for c in columns], axis=1).reshape(G, q, self.p)
                Mi = Mi + np.einsum("gam,mn,gbn->abg", W, S_inv, W)
            X = np.einsum("abg,bc->acg", np.eye(q)[:, :, None] - Mi, T_inv[k])
            v = np.einsum("ba,bg->ag", T_inv[k], u[k])  # T^-T u
            for n, (i, j) in enumerate(t.layout.positions):
                dg[self.offsets[k] + n] = 2.0 * X[j, i].sum()
                dr2[self.offsets[k] + n] = -2.0 * float(v[i] @ u[k][j])
        return dg, dr2

    def _inverse_diagonal_blocks(self, sol: BlockedSolution) -> list[np.ndarray]:
        """Per term, the per-level q x q diagonal blocks of (L_Z L_Z')^{-1}, (q, q, G).

        The k-th block column of L_Z^{-1}: W_k = L_kk^{-1}, W_i = -L_ii^{-1}
        sum_{k<=m<i} L_im W_m; the wanted block is sum_i W_i' W_i.
        """
        out = []
        for k, t in enumerate(self.terms):
            W = {k: _inverse(sol.diag[k], t)}
            acc = _gram_blocks(W[k], t)
            for i in range(k + 1, self.K):
                S = None
                for m in range(k, i):
                    prod = sol.below[(i, m)] @ W[m]
                    S = prod if S is None else _add(S, prod)
                W[i] = -_left_solve_matrix(sol.diag[i], S, self.terms[i])
                acc = acc + _gram_blocks(W[i], t)
            out.append(acc)
        return out

    def conditional_covariances(
        self, theta: np.ndarray, sol: BlockedSolution, sigma: float
    ) -> list[np.ndarray]:
        """sigma^2 Lambda_k [(L_Z L_Z')^{-1}]_kk Lambda_k' per level, shape (q, q, G)
        (lme4's ``condVar``, beta treated as known)."""
        return [
            sigma * sigma * np.einsum("ab,bcg,dc->adg", T, acc, T)
            for T, acc in zip(self.split(theta), self._inverse_diagonal_blocks(sol), strict=True)
        ]


class WeightedProduct:
    """A W B' for fixed sparse A (m x G) and B (k x G) and a diagonal W that varies.

    Every entry (r, c) of the product is sum_s A[r, s] B[c, s] w_s over the columns s
    where both have a non-zero: those index triples are listed once, so each
    evaluation is one sparse matrix-vector product P w (P: entries x G) instead
    of a sparse-sparse product that rediscovers the pattern every time.
    """

    def __init__(self, A: sp.csr_matrix, B: sp.csr_matrix) -> None:
        Ac, Bc = A.tocsc(), B.tocsc()
        Ac.sort_indices()
        Bc.sort_indices()
        na, nb = np.diff(Ac.indptr), np.diff(Bc.indptr)
        per_column = na * nb
        column = np.repeat(np.arange(A.shape[1]), per_column)
        k = np.arange(per_column.sum()) - np.repeat(np.cumsum(per_column) - per_column, per_column)
        nb_rep = np.repeat(nb, per_column)
        ia = Ac.indptr[column] + k // nb_rep
        ib = Bc.indptr[column] + k % nb_rep
        rows, cols = Ac.indices[ia], Bc.indices[ib]
        key = rows.astype(np.int64) * B.shape[0] + cols
        cells = A.shape[0] * B.shape[0]
        if cells <= DENSE_INDEX_CELLS:
            # A presence map over all cells numbers the entries without sorting the
            # (often millions of) triples.
            present = np.zeros(cells, dtype=bool)
            present[key] = True
            entries = np.flatnonzero(present)
            number = np.cumsum(present) - 1
            index = number[key]
        else:
            entries, index = np.unique(key, return_inverse=True)
        # The triples come column by column, so P' is already in CSC order by s.
        indptr = np.concatenate([[0], np.cumsum(per_column)])
        self.P = sp.csc_matrix(
            (Ac.data[ia] * Bc.data[ib], index, indptr), shape=(entries.size, A.shape[1])
        )
        entry_rows = entries // B.shape[0]
        self.indptr = np.searchsorted(entry_rows, np.arange(A.shape[0] + 1)).astype(np.int32)
        self.indices = (entries % B.shape[0]).astype(np.int32)
        self.shape = (A.shape[0], B.shape[0])

    def evaluate(self, weights: np.ndarray, scale: float) -> sp.csr_matrix:
        values = scale * (self.P @ weights)
        return sp.csr_matrix((values, self.indices, self.indptr), shape=self.shape)


def _pair_matrix(pair: PairStats, ti: TermShape, tj: TermShape) -> sp.csr_matrix:
    rows, cols, data = [], [], []
    for a in range(ti.q):
        for b in range(tj.q):
            rows.append(pair.level_i * ti.q + a)
            cols.append(pair.level_j * tj.q + b)
            data.append(pair.values[a, b])
    return sp.csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(ti.size, tj.size),
    )


def _add(a, b):
    if sp.issparse(a) and sp.issparse(b):
        return (a + b).tocsr()
    return (a.toarray() if sp.issparse(a) else a) + (b.toarray() if sp.issparse(b) else b)


def _scale(A: sp.csr_matrix, lam_i, lam_j):
    """Lambda_i' A Lambda_j with a scalar or sparse Lambda on either side."""
    if np.isscalar(lam_i) and np.isscalar(lam_j):
        return A * (lam_i * lam_j)
    left = A * lam_i if np.isscalar(lam_i) else lam_i.T @ A
    return (left * lam_j if np.isscalar(lam_j) else left @ lam_j).tocsr()


def _right_lambda(M: np.ndarray, lam):
    return M * lam if np.isscalar(lam) else np.asarray((lam.T @ M.T).T)


def _blockdiag_right_solver(L: np.ndarray):
    """M -> M L^{-T} for block-diagonal L (keeps M sparse)."""
    q, _, G = L.shape
    eye = np.broadcast_to(np.eye(q)[:, :, None], (q, q, G)).copy()
    Linv = forward_solve(L, eye)  # (q, q, G): L_g^{-1}
    right = blockdiag_matrix(np.transpose(Linv, (1, 0, 2)))  # L^{-T}

    def solve(M):
        if q == 1:
            scale = Linv[0, 0]
            return M.multiply(scale[None, :]).tocsr() if sp.issparse(M) else M * scale[None, :]
        return (M @ right).tocsr() if sp.issparse(M) else np.asarray((right.T @ M.T).T)

    return solve


def _dense_right_solver(L: np.ndarray):
    def solve(M):
        Md = M.toarray() if sp.issparse(M) else M
        return sla.solve_triangular(L, Md.T, lower=True, check_finite=False).T

    return solve


def _left_solve_t(L, r: np.ndarray, t: TermShape) -> np.ndarray:
    """Solve L' x = r for one diagonal block (block-diagonal or dense)."""
    if isinstance(L, np.ndarray) and L.ndim == 2:
        return sla.solve_triangular(L, r, lower=True, trans="T", check_finite=False)
    q, G = t.q, t.nlevels
    x = r.reshape(G, q).T.copy()  # (q, G)
    for i in reversed(range(q)):
        acc = x[i].copy()
        for k in range(i + 1, q):
            acc -= L[k, i] * x[k]
        x[i] = acc / L[i, i]
    return x.T.ravel()


def _inverse(L, t: TermShape):
    """L^{-1} of a diagonal block: sparse block-diagonal, or dense."""
    if isinstance(L, np.ndarray) and L.ndim == 2:
        return sla.solve_triangular(L, np.eye(L.shape[0]), lower=True, check_finite=False)
    eye = np.broadcast_to(np.eye(t.q)[:, :, None], L.shape).copy()
    return blockdiag_matrix(forward_solve(L, eye))


def _left_solve_matrix(L, S, t: TermShape):
    """L^{-1} S for a diagonal block L."""
    if isinstance(L, np.ndarray) and L.ndim == 2:
        Sd = S.toarray() if sp.issparse(S) else S
        return sla.solve_triangular(L, Sd, lower=True, check_finite=False)
    inv = _inverse(L, t)
    out = inv @ S
    return out.tocsr() if sp.issparse(out) else np.asarray(out)


def _gram_blocks(W, t: TermShape) -> np.ndarray:
    """Diagonal q x q blocks (per level of term t) of W'W, shape (q, q, G)."""
    q, G = t.q, t.nlevels
    if sp.issparse(W):
        W = W.tocsc()
        out = np.zeros((q, q, G))
        for a in range(q):
            for b in range(a, q):
                Wa, Wb = W[:, a::q], W[:, b::q]
                val = np.asarray(Wa.multiply(Wb).sum(axis=0)).ravel()
                out[a, b] = out[b, a] = val
        return out
    out = np.empty((q, q, G))
    for a in range(q):
        for b in range(a, q):
            val = np.einsum("ig,ig->g", W[:, a::q], W[:, b::q])
            out[a, b] = out[b, a] = val
    return out
