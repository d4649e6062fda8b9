"""The three storages of the blocked factor's blocks and the operations that mix them.

A block of ``lib.lmm.blocked`` is one of (MixedModels.jl has the same three
in ``src/arraytypes.jl``):

- block-diagonal: one q x q block per level, an array (q, q, G) (a term's own
  diagonal block while it does not fill in);
- sparse (scipy CSR): the pattern of which levels of two terms occur together;
- dense: a block that has filled in (crossed terms).

Rows and columns of a term's blocks are numbered level * q + effect.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from lib.lmm.smallblocks import backward_solve_transposed, lower_inverse
from lib.lmm.stats import PairStats

DENSE_INDEX_CELLS = 50_000_000  # a bool map of this many cells (50 MB) numbers entries


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


def off_block_nonzero(matrix: sp.spmatrix | np.ndarray, q: int) -> bool:
    """Whether any entry outside the diagonal q x q blocks is non-zero (fill-in)."""
    if not sp.issparse(matrix):
        n = matrix.shape[0]
        mask = np.arange(n)[:, None] // q != np.arange(n)[None, :] // q
        return bool(np.any(matrix[mask] != 0))
    coo = matrix.tocoo()
    return bool(np.any((coo.row // q != coo.col // q) & (coo.data != 0)))


def pair_matrix(pair: PairStats, qi: int, size_i: int, qj: int, size_j: int) -> sp.csr_matrix:
    """Z_i'Z_j as a sparse (G_i q_i) x (G_j q_j) matrix from its occurring pairs."""
    rows, cols, data = [], [], []
    for a in range(qi):
        for b in range(qj):
            rows.append(pair.level_i * qi + a)
            cols.append(pair.level_j * qj + b)
            data.append(pair.values[a, b])
    return sp.csr_matrix(
        (np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
        shape=(size_i, size_j),
    )


def mul_t(a: sp.spmatrix | np.ndarray, b: sp.spmatrix | np.ndarray):  # noqa: ANN201
    """a @ b' for any mix of sparse and dense operands."""
    if sp.issparse(a) and sp.issparse(b):
        return (a @ b.T).tocsr()
    if sp.issparse(a):
        return np.asarray(a @ np.asarray(b).T)
    if sp.issparse(b):
        return np.asarray((b @ np.asarray(a).T).T)
    return a @ b.T


def add(a, b):  # noqa: ANN001, ANN201
    """a + b, staying sparse only when both are."""
    if sp.issparse(a) and sp.issparse(b):
        return (a + b).tocsr()
    return (a.toarray() if sp.issparse(a) else a) + (b.toarray() if sp.issparse(b) else b)


def sub(a, b):  # noqa: ANN001, ANN201
    """a - b, staying sparse only when both are."""
    if sp.issparse(a) and sp.issparse(b):
        return (a - b).tocsr()
    return np.asarray(a.toarray() if sp.issparse(a) else a) - (b.toarray() if sp.issparse(b) else b)


def densify_if_full(m):  # noqa: ANN001, ANN201
    """A sparse matrix more than a quarter full, as a dense array."""
    if sp.issparse(m) and m.nnz > 0.25 * m.shape[0] * m.shape[1]:
        return m.toarray()
    return m


def scale(A: sp.csr_matrix, lam_i, lam_j):  # noqa: ANN001, ANN201
    """Lambda_i' A Lambda_j with a scalar or sparse Lambda on either side."""
    if np.isscalar(lam_i) and np.isscalar(lam_j):
        return A * (lam_i * lam_j)
    left = A * lam_i if np.isscalar(lam_i) else lam_i.T @ A
    return (left * lam_j if np.isscalar(lam_j) else left @ lam_j).tocsr()


def right_lambda(M: np.ndarray, lam):  # noqa: ANN001, ANN201
    """M Lambda with a scalar or sparse Lambda."""
    return M * lam if np.isscalar(lam) else np.asarray((lam.T @ M.T).T)


def blockdiag_right_solver(L: np.ndarray):  # noqa: ANN201
    """M -> M L^{-T} for block-diagonal L (keeps M sparse)."""
    q = L.shape[0]
    Linv = lower_inverse(L)  # (q, q, G): L_g^{-1}
    right = blockdiag_matrix(np.transpose(Linv, (1, 0, 2)))  # L^{-T}

    def solve(M):  # noqa: ANN001, ANN202
        if q == 1:
            factor = Linv[0, 0]
            return M.multiply(factor[None, :]).tocsr() if sp.issparse(M) else M * factor[None, :]
        return (M @ right).tocsr() if sp.issparse(M) else np.asarray((right.T @ M.T).T)

    return solve


def dense_right_solver(L: np.ndarray):  # noqa: ANN201
    """M -> M L^{-T} for dense lower-triangular L."""

    def solve(M):  # noqa: ANN001, ANN202
        Md = M.toarray() if sp.issparse(M) else M
        return sla.solve_triangular(L, Md.T, lower=True, check_finite=False).T

    return solve


def _is_dense(L) -> bool:  # noqa: ANN001
    return isinstance(L, np.ndarray) and L.ndim == 2


def left_solve_t(L, r: np.ndarray, q: int, G: int) -> np.ndarray:  # noqa: ANN001
    """Solve L' x = r for one diagonal block (block-diagonal or dense)."""
    if _is_dense(L):
        return sla.solve_triangular(L, r, lower=True, trans="T", check_finite=False)
    return backward_solve_transposed(L, r.reshape(G, q).T).T.ravel()


def block_inverse(L):  # noqa: ANN001, ANN201
    """L^{-1} of a diagonal block: sparse block-diagonal, or dense."""
    if _is_dense(L):
        return sla.solve_triangular(L, np.eye(L.shape[0]), lower=True, check_finite=False)
    return blockdiag_matrix(lower_inverse(L))


def left_solve_matrix(L, S):  # noqa: ANN001, ANN201
    """L^{-1} S for a diagonal block L."""
    if _is_dense(L):
        Sd = S.toarray() if sp.issparse(S) else S
        return sla.solve_triangular(L, Sd, lower=True, check_finite=False)
    out = block_inverse(L) @ S
    return out.tocsr() if sp.issparse(out) else np.asarray(out)


def gram_blocks(W, q: int, G: int) -> np.ndarray:  # noqa: ANN001
    """Diagonal q x q blocks (per level) of W'W, shape (q, q, G)."""
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
