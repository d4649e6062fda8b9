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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from lib.lmm.crossprod import CrossProducts, cross_products
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
    """

    term: RandomTerm
    levels: tuple[str, ...]
    counts: np.ndarray
    ZtZ: np.ndarray
    ZtX: np.ndarray
    Zty: np.ndarray

    @property
    def name(self) -> str:
        return self.term.name

    @property
    def names(self) -> tuple[str, ...]:
        return self.term.names

    @property
    def q(self) -> int:
        return self.ZtZ.shape[0]

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def correlated(self) -> bool:
        return self.term.is_correlated


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

    def one_term(self) -> CrossProducts:
        """The single term's statistics in the form of the fast one-term solver."""
        t = self.terms[0]
        return CrossProducts(
            ZtZ=t.ZtZ,
            ZtX=t.ZtX,
            Zty=t.Zty,
            XtX=self.XtX,
            Xty=self.Xty,
            yty=self.yty,
            nobs=self.nobs,
        )


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
    base: CrossProducts | None = None
    for t in design.terms:
        cp = cross_products(X, y, t.Z, t.codes, t.nlevels)
        base = cp
        terms.append(
            TermStats(
                term=t.term,
                levels=t.levels,
                counts=np.bincount(t.codes, minlength=t.nlevels),
                ZtZ=cp.ZtZ,
                ZtX=cp.ZtX,
                Zty=cp.Zty,
            )
        )
    pairs = {}
    for i, ti in enumerate(design.terms):
        for j in range(i):
            tj = design.terms[j]
            pairs[(i, j)] = pair_stats(ti.codes, ti.Z, tj.codes, tj.Z, tj.nlevels)
    assert base is not None
    return ModelStats(
        fixef_names=design.fixef_names,
        terms=tuple(terms),
        pairs=pairs,
        XtX=base.XtX,
        Xty=base.Xty,
        yty=base.yty,
        nobs=base.nobs,
        n_dropped=design.n_dropped,
    )
