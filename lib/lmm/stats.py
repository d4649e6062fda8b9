"""The sufficient statistics of a linear mixed model: everything a fit needs of the rows.

lme4's profiled deviance depends on the data only through the blocks of
[Z X y]'[Z X y] (Bates et al. 2015, sec. 3.2-3.6). Per random term k with
levels g, these are per-level sums (a GROUP BY on the term's levels):

    Z_k'Z_k  (q_k x q_k per level)   Z_k'X  (q_k x p per level)   Z_k'y  (q_k per level)

per pair of terms i > j, sums over the (level_i, level_j) pairs that occur
(a GROUP BY on both):

    Z_i'Z_j  (q_i x q_j per pair)

and globally X'X, X'y, y'y and n. Any engine that can run those GROUP BYs
(numpy here; DuckDB or Spark in ``lib.aggregate``) produces a ``ModelStats``,
and the same fitting code takes it from there, so the numbers agree.

Only the residual quantiles and fitted values need a second pass over the rows.
Per-level arrays keep the level axis last, shape (q, q, G), so that the tiny
q x q algebra of the factors runs as a handful of vector operations across all
levels at once (``lib.lmm.smallblocks``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lib.lmm.theta import ThetaLayout
from lib.model.spec import RandomTerm
from lib.table.columns import dense_unique


@dataclass(frozen=True, eq=False)
class TermStats:
    """Per-level sums of one random term.

    Attributes
    ----------
    term : RandomTerm
    levels : tuple of str
        Level labels in R's order (codes 0..G-1).
    counts : ndarray (G,)
        Rows per level.
    ZtZ : ndarray (q, q, G)
    ZtX : ndarray (q, p, G)
    Zty : ndarray (q, G)
    effect_names : tuple of str or None
        Names of the term's effects when they are not the term's own (a
        categorical column on the left of "|", ``lib.model.design.TermDesign``).
    """

    term: RandomTerm
    levels: tuple[str, ...]
    counts: np.ndarray
    ZtZ: np.ndarray
    ZtX: np.ndarray
    Zty: np.ndarray
    effect_names: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.term.name

    @property
    def names(self) -> tuple[str, ...]:
        return self.effect_names if self.effect_names is not None else self.term.names

    @property
    def q(self) -> int:
        return self.ZtZ.shape[0]

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def correlated(self) -> bool:
        return self.term.correlated and self.q > 1

    @property
    def layout(self) -> ThetaLayout:
        """Where the term's theta goes in its block T."""
        return ThetaLayout(q=self.q, correlated=self.correlated)

    @property
    def size(self) -> int:
        """Random effects of the term: levels times effects per level."""
        return self.nlevels * self.q


@dataclass(frozen=True, eq=False)
class PairStats:
    """Z_i'Z_j for two terms, over the (level_i, level_j) pairs that occur.

    Attributes
    ----------
    level_i, level_j : ndarray (m,) of int
        The codes of each occurring pair.
    values : ndarray (q_i, q_j, m)
        Sum over the pair's rows of z_i z_j'.
    """

    level_i: np.ndarray
    level_j: np.ndarray
    values: np.ndarray


@dataclass(frozen=True, eq=False)
class ModelStats:
    """Everything the engine needs of the data (see the module docstring).

    Attributes
    ----------
    fixef_names : tuple of str
        Columns of X, ``(Intercept)`` first.
    terms : tuple of TermStats
        In lme4's order: levels decreasing.
    pairs : mapping (i, j) -> PairStats
        For every i > j (indices into ``terms``).
    XtX : ndarray (p, p)
    Xty : ndarray (p,)
    yty : float
    nobs : int
    n_dropped : int
        Rows left out by the complete-rows rule.
    """

    fixef_names: tuple[str, ...]
    terms: tuple[TermStats, ...]
    pairs: Mapping[tuple[int, int], PairStats]
    XtX: np.ndarray
    Xty: np.ndarray
    yty: float
    nobs: int
    n_dropped: int

    @property
    def p(self) -> int:
        return self.XtX.shape[0]

    @property
    def layouts(self) -> tuple[ThetaLayout, ...]:
        """Each term's theta layout, in ``terms`` order."""
        return tuple(t.layout for t in self.terms)


def group_sums(weights: np.ndarray, group: np.ndarray, ngroups: int) -> np.ndarray:
    """Sum of ``weights`` within each group (np.bincount is a single O(n) pass)."""
    return np.bincount(group, weights=weights, minlength=ngroups)


def level_sums(
    X: np.ndarray, y: np.ndarray, Z: np.ndarray, group: np.ndarray, ngroups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z_g'Z_g (q, q, G), Z_g'X_g (q, p, G) and Z_g'y_g (q, G) of one term, one pass each.

    Parameters
    ----------
    X : ndarray (n, p)
    y : ndarray (n,)
    Z : ndarray (n, q)
        Per-row random-effect covariates (column of ones for an intercept).
    group : ndarray (n,) of int in 0..ngroups-1
    ngroups : int
    """
    q, p = Z.shape[1], X.shape[1]
    z_is_one = [bool(np.all(Z[:, a] == 1.0)) for a in range(q)]
    counts = np.bincount(group, minlength=ngroups).astype(float)

    def zsum(a: int, col: np.ndarray) -> np.ndarray:
        # Skip the multiply by an all-ones intercept column.
        return group_sums(col if z_is_one[a] else Z[:, a] * col, group, ngroups)

    ZtZ = np.empty((q, q, ngroups))
    for a in range(q):
        for b in range(a, q):
            if z_is_one[a] and z_is_one[b]:
                s = counts
            else:
                s = zsum(a, Z[:, b]) if not z_is_one[a] else zsum(b, Z[:, a])
            ZtZ[a, b] = ZtZ[b, a] = s
    ZtX = np.empty((q, p, ngroups))
    x_is_one = [bool(np.all(X[:, j] == 1.0)) for j in range(p)]
    for a in range(q):
        for j in range(p):
            if z_is_one[a] and x_is_one[j]:
                ZtX[a, j] = counts
            elif x_is_one[j]:
                ZtX[a, j] = group_sums(Z[:, a], group, ngroups)
            else:
                ZtX[a, j] = zsum(a, X[:, j])
    Zty = np.empty((q, ngroups))
    for a in range(q):
        Zty[a] = zsum(a, y)
    return ZtZ, ZtX, Zty


def pair_stats(
    codes_i: np.ndarray, Z_i: np.ndarray, codes_j: np.ndarray, Z_j: np.ndarray, nlevels_j: int
) -> PairStats:
    """Z_i'Z_j by (level_i, level_j) pair: one sort of the combined codes, then bincounts."""
    key = codes_i.astype(np.int64) * nlevels_j + codes_j
    pairs, index = dense_unique(key, float(int(codes_i.max()) + 1) * nlevels_j)
    values = np.empty((Z_i.shape[1], Z_j.shape[1], pairs.size))
    for a in range(Z_i.shape[1]):
        for b in range(Z_j.shape[1]):
            values[a, b] = np.bincount(index, weights=Z_i[:, a] * Z_j[:, b], minlength=pairs.size)
    return PairStats(level_i=pairs // nlevels_j, level_j=pairs % nlevels_j, values=values)


def model_stats(design) -> ModelStats:  # noqa: ANN001 - lib.model.design.Design (import cycle)
    """The statistics of a design held in memory (the numpy engine)."""
    X, y = design.X, design.y
    terms = []
    for t in design.terms:
        ZtZ, ZtX, Zty = level_sums(X, y, t.Z, t.codes, t.nlevels)
        counts = np.bincount(t.codes, minlength=t.nlevels)
        terms.append(TermStats(t.term, t.levels, counts, ZtZ, ZtX, Zty, t.names))
    pairs = {}
    for i, ti in enumerate(design.terms):
        for j in range(i):
            tj = design.terms[j]
            pairs[(i, j)] = pair_stats(ti.codes, ti.Z, tj.codes, tj.Z, tj.nlevels)
    return ModelStats(
        fixef_names=design.fixef_names,
        terms=tuple(terms),
        pairs=pairs,
        XtX=X.T @ X,
        Xty=X.T @ y,
        yty=float(y @ y),
        nobs=int(y.shape[0]),
        n_dropped=design.n_dropped,
    )
