"""PIRLS's weighted penalized least-squares solve, with its structure found once.

Every PIRLS iteration solves (docs/glmm-design.md 3.2)

    [Lambda'Z'WZ Lambda + I   Lambda'Z'WX] [u   ]   [Lambda'Z'Wz]
    [X'WZ Lambda              X'WX       ] [beta] = [X'Wz       ]

(the X rows and columns only in the joint, nAGQ = 0 form; with beta in the
offset only the top-left block), at row weights W that change every iteration
while the level codes, Z and X do not. Building the linear engine's
``BlockedModel`` per iteration repeats its pattern analysis and sparse set-up each
time; here the pattern is fixed once (a row plan, as MixedModels.jl's
``GeneralizedLinearMixedModel`` keeps its ``LinearMixedModel`` and only
reweights it) and each iteration is a fixed set of ``np.bincount`` passes plus
small dense algebra.

Arrangement (the first term is the one with most levels, lme4's order):

* term 1 stays block-diagonal: one q_1 x q_1 block per level, factored as a
  batch (``lib.lmm.smallblocks``);
* everything else -- the other terms' G_k q_k effects and, in the joint form,
  the p fixed effects -- is one dense "rest" block of size m, with the Schur
  complement of term 1 subtracted: S = M_rr - M_r1 M_11^{-1} M_1r, L_rr = chol(S).

Then log|L|^2 = 2 sum log diag L_11 + 2 sum log diag L_rr[:m_z] (the X part of
the last factor is R_X', not part of L), beta and u by two triangular sweeps.
This is exactly the blocked factor of ``lib.lmm.blocked`` with all later blocks
merged into one dense block, so it applies when that block is small
(``supports``): one term with any q (the rest is X alone), or crossed/nested
terms whose later levels number a few hundred (VerbAgg's 24 items, a school
level above pupils). Larger later terms keep the linear engine's sparse path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import lapack

from lib.lmm.smallblocks import backward_solve_transposed, batched_cholesky, forward_solve
from lib.model.design import Design

MAX_REST = 400  # dense rest block: m^3 / 3 flops and an (m, G_1 q_1) coupling per iteration
MAX_COUPLING_CELLS = 4_000_000


@dataclass(frozen=True, eq=False)
class WeightedSolve:
    """One solve at one theta and one set of row weights.

    Attributes
    ----------
    ldL2 : float
        log|L|^2 of Lambda'Z'WZ Lambda + I.
    u : list of ndarray (q_k, G_k)
        Spherical modes per term.
    beta : ndarray (p,) or None
        The joint form's fixed effects.
    RXt : ndarray (p, p) or None
        The joint form's R_X' (lower), R_X'R_X = X's Schur complement.
    """

    ldL2: float
    u: list
    beta: np.ndarray | None
    RXt: np.ndarray | None


def _is_ones(v: np.ndarray) -> bool:
    return bool(np.all(v == 1.0))


class ReweightedSystem:
    """The row plan of a design: which sums a weighted solve needs and where they go."""

    def __init__(self, design: Design) -> None:
        self.design = design
        terms = design.terms
        t1 = terms[0]
        self.n = design.nobs
        self.p = design.X.shape[1]
        self.q1, self.G1 = t1.q, t1.nlevels
        self.codes1 = t1.codes.astype(np.intp)
        self.Z1 = [t1.Z[:, a].copy() for a in range(self.q1)]
        self.z1_ones = [_is_ones(z) for z in self.Z1]
        self.X = np.asfortranarray(design.X)
        self.Xcols = [self.X[:, j].copy() for j in range(self.p)]
        # X columns equal to a column of Z_1 (the intercept, a random slope's variable):
        # their sums with Z_1 per level are A_11's, not recomputed in the joint solve.
        self.x_in_z1 = [
            next((a for a in range(self.q1) if np.array_equal(x, self.Z1[a])), None)
            for x in self.Xcols
        ]
        # The later terms: offsets of their effects in the rest block.
        self.rest_terms = []
        self.rest_cols = []  # per later term: its Z columns, whether each is all ones
        at = 0
        for t in terms[1:]:
            self.rest_terms.append((at, t))
            cols = [t.Z[:, a].copy() for a in range(t.q)]
            self.rest_cols.append((cols, [_is_ones(c) for c in cols]))
            at += t.q * t.nlevels
        self.mz = at
        self.rest_diag = np.arange(at)
        self.rest_scalar = all(t.q == 1 for t in terms[1:])
        # Per later term k: its (level_k, level_1) pairs, each row's pair index.
        # The pair's place in A_1r[b] (m, G_1) flattened, for the term's first column.
        self.pairs1 = []
        self.rest_rows = []  # per later term: its levels' first rows in the rest block
        for off, t in self.rest_terms:
            key = t.codes.astype(np.int64) * self.G1 + self.codes1
            uniq, index = np.unique(key, return_inverse=True)
            lk, l1 = uniq // self.G1, uniq % self.G1
            flat = (off + lk * t.q) * self.G1 + l1
            self.pairs1.append((flat, index.ravel(), uniq.size))
            self.rest_rows.append(off + np.arange(t.nlevels) * t.q)
        # Pairs between later terms k > l (both in the rest block).
        self.pairs_rest = []
        for i in range(len(self.rest_terms)):
            for j in range(i):
                oi, ti = self.rest_terms[i]
                oj, tj = self.rest_terms[j]
                key = ti.codes.astype(np.int64) * tj.nlevels + tj.codes
                uniq, index = np.unique(key, return_inverse=True)
                self.pairs_rest.append(
                    (i, j, uniq // tj.nlevels, uniq % tj.nlevels, index.ravel(), uniq.size)
                )

    @staticmethod
    def supports(design: Design) -> bool:
        """Whether the later terms (and X) fit one dense block."""
        terms = design.terms
        mz = sum(t.q * t.nlevels for t in terms[1:])
        m = mz + design.X.shape[1]
        return m <= MAX_REST and m * terms[0].q * terms[0].nlevels <= MAX_COUPLING_CELLS

    # -- the weighted sums --------------------------------------------------------------

    def _sum1(self, values: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes1, weights=values, minlength=self.G1)

    def solve(self, Ts: list, w: np.ndarray, wz: np.ndarray | None, joint: bool) -> WeightedSolve:
        """Factor and solve at row weights ``w`` (= sqrtW^2) and ``wz`` = w * z
        (``wz`` None: the factor only, log|L|^2 and R_X without modes, ``u`` None).

        ``Ts``: each term's T(theta) block, in the design's term order.
        """
        q1, G1, p, mz = self.q1, self.G1, self.p, self.mz
        m = mz + (p if joint else 0)
        # Term 1: A_11 (q1, q1, G1) and its right-hand side, weighted Z_1 columns.
        wZ1 = [w if one else w * z for z, one in zip(self.Z1, self.z1_ones, strict=True)]
        A11 = np.empty((q1, q1, G1))
        for a in range(q1):
            for b in range(a, q1):
                v = wZ1[a] if self.z1_ones[b] else wZ1[a] * self.Z1[b]
                A11[a, b] = A11[b, a] = self._sum1(v)
        r1 = np.zeros((q1, G1))
        for a in range(q1 if wz is not None else 0):
            r1[a] = self._sum1(wz if self.z1_ones[a] else wz * self.Z1[a])
        T1 = Ts[0]
        if q1 == 1:
            t1 = T1[0, 0]
            M11 = (t1 * t1) * A11 + 1.0
            rhs1 = t1 * r1
        else:
            M11 = np.einsum("ca,cdg,db->abg", T1, A11, T1)
            M11[np.arange(q1), np.arange(q1)] += 1.0
            rhs1 = np.einsum("ca,cg->ag", T1, r1)
        L11 = np.sqrt(M11) if q1 == 1 else batched_cholesky(M11)
        ld = 2.0 * float(sum(np.log(L11[a, a]).sum() for a in range(q1)))
        c1 = rhs1 / L11[0] if q1 == 1 else forward_solve(L11, rhs1)  # (q1, G1)
        if m == 0:
            if wz is None:
                return WeightedSolve(ldL2=ld, u=None, beta=None, RXt=None)
            u1 = c1 / L11[0] if q1 == 1 else backward_solve_transposed(L11, c1)
            return WeightedSolve(ldL2=ld, u=[u1], beta=None, RXt=None)
        A1r, Arr, rr = self._rest_sums(w, wz, wZ1, joint, m, A11)
        # Lambda on both sides: term 1's T per level, the later terms' T per level.
        M1r = t1 * A1r if q1 == 1 else np.einsum("ca,cmg->amg", T1, A1r)  # (q1, m, G1)
        if self.rest_scalar:
            lam = np.ones(m)
            for k, (off, t) in enumerate(self.rest_terms):
                lam[off : off + t.nlevels] = Ts[k + 1][0, 0]
            M1r *= lam[None, :, None]
            Mrr = Arr * lam[:, None] * lam[None, :]
            rhsr = rr * lam
        else:
            M1r = self._rest_lambda(M1r, Ts, axis=1)
            Mrr = self._rest_lambda(self._rest_lambda(Arr, Ts, axis=0), Ts, axis=1)
            rhsr = self._rest_lambda(rr, Ts, axis=0)
        Mrr[self.rest_diag, self.rest_diag] += 1.0
        # B = L_11^{-1} M_1r per level; S = M_rr - B'B.
        B = M1r / L11[0, 0] if q1 == 1 else forward_solve(L11, M1r)  # (q1, m, G1)
        Bflat = B[0] if q1 == 1 else B.transpose(1, 0, 2).reshape(m, q1 * G1)
        S = Mrr - Bflat @ Bflat.T
        Lrr, info = lapack.dpotrf(S, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError("the weighted system is not positive definite")
        ld += 2.0 * float(np.log(np.diag(Lrr)[:mz]).sum())
        if wz is None:
            return WeightedSolve(ldL2=ld, u=None, beta=None, RXt=Lrr[mz:, mz:] if joint else None)
        xr, info = lapack.dpotrs(Lrr, rhsr - Bflat @ c1.ravel(), lower=1)
        if q1 == 1:
            u1 = (c1 - xr @ Bflat) / L11[0]
        else:
            u1 = backward_solve_transposed(L11, c1 - np.einsum("amg,m->ag", B, xr))
        u = [u1]
        for off, t in self.rest_terms:
            u.append(xr[off : off + t.q * t.nlevels].reshape(t.nlevels, t.q).T)
        if joint:
            return WeightedSolve(ldL2=ld, u=u, beta=xr[mz:], RXt=Lrr[mz:, mz:])
        return WeightedSolve(ldL2=ld, u=u, beta=None, RXt=None)

    def _rest_sums(self, w, wz, wZ1, joint, m, A11):  # noqa: ANN001, ANN202
        """A_1r (q1, m, G1), A_rr (m, m) and the rest's right-hand side (m,)."""
        q1, G1, mz = self.q1, self.G1, self.mz
        A1r = np.zeros((q1, m, G1))
        A1r_flat = A1r.reshape(q1, m * G1)
        Arr = np.zeros((m, m))
        rr = np.zeros(m)
        for k, (_, t) in enumerate(self.rest_terms):
            flat, index, npairs = self.pairs1[k]
            cols, ones = self.rest_cols[k]
            rows = self.rest_rows[k]
            G = rows.size
            for a in range(t.q):
                if wz is not None:
                    wzk = wz if ones[a] else wz * cols[a]
                    rr[rows + a] = np.bincount(t.codes, weights=wzk, minlength=G)
                wk = w if ones[a] else w * cols[a]
                for b in range(q1):
                    v = wk if self.z1_ones[b] else wk * self.Z1[b]
                    A1r_flat[b, flat + a * G1] = np.bincount(index, weights=v, minlength=npairs)
                for b in range(a, t.q):
                    v = wk if ones[b] else wk * cols[b]
                    s = np.bincount(t.codes, weights=v, minlength=G)
                    Arr[rows + a, rows + b] = s
                    if b != a:
                        Arr[rows + b, rows + a] = s
                if joint:
                    for j, x in enumerate(self.Xcols):
                        s = np.bincount(t.codes, weights=wk * x, minlength=G)
                        Arr[rows + a, mz + j] = s
                        Arr[mz + j, rows + a] = s
        for i, j, li, lj, index, npairs in self.pairs_rest:
            oi, ti = self.rest_terms[i]
            oj, tj = self.rest_terms[j]
            for a in range(ti.q):
                for b in range(tj.q):
                    v = w * ti.Z[:, a] * tj.Z[:, b]
                    s = np.bincount(index, weights=v, minlength=npairs)
                    Arr[oi + li * ti.q + a, oj + lj * tj.q + b] = s
                    Arr[oj + lj * tj.q + b, oi + li * ti.q + a] = s
        if joint:
            wX = self.X * w[:, None]
            Arr[mz:, mz:] = wX.T @ self.X
            if wz is not None:
                rr[mz:] = self.X.T @ wz
            for j in range(self.p):
                for b in range(q1):
                    a = self.x_in_z1[j]
                    A1r[b, mz + j] = (
                        A11[a, b] if a is not None else self._sum1(wZ1[b] * self.Xcols[j])
                    )
        return A1r, Arr, rr

    def _rest_lambda(self, M: np.ndarray, Ts: list, axis: int) -> np.ndarray:
        """Lambda_r' applied along ``axis`` of M (the rest block's index): each later
        term's T' per level; the fixed effects' rows unchanged."""
        M = np.moveaxis(M, axis, 0).copy()
        for k, (off, t) in enumerate(self.rest_terms):
            T = Ts[k + 1]
            part = M[off : off + t.q * t.nlevels]
            if t.q == 1:
                part *= T[0, 0]
            else:
                blocks = part.reshape((t.nlevels, t.q) + part.shape[1:])
                part[...] = np.einsum("ca,gc...->ga...", T, blocks).reshape(part.shape)
        return np.moveaxis(M, 0, axis)
