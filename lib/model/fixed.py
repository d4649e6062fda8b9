"""The fixed-effects model matrix of main effects and interactions, as R's ``model.matrix``.

Which columns a term gets, their order and their names follow R
(``src/library/stats/src/model.c``):

* Terms come in the spec's order, which is R's ``terms()`` order (by degree,
  stable; ``lib.model.spec.canonical_fixed``).
* A numeric column multiplies. A categorical column enters a term either by
  treatment contrasts (its levels after the first) or by all its levels. R's
  ``TermCode`` decides: a factor ``f`` in term ``T`` is coded by contrasts when
  ``T`` without ``f`` is empty or is contained in an earlier term (its
  "margin" is in the model), else by all levels. Without an intercept the
  first factor of the first term that has one gets all its levels (R's
  ``modelmatrix``). So ``x:f`` alone gives ``x:fA x:fB x:fC``, ``f + x + f:x``
  gives ``fB:x fC:x`` and ``0 + f`` gives ``fA fB fC``.
* A term's columns vary its first column fastest: ``a:b`` with contrasts gives
  ``aq:bv ar:bv aq:bw ar:bw``; names join the parts with ":".

The layout (``XColumn``) is described once and computed by numpy here and by SQL
in ``lib.aggregate`` (products of numeric columns and dummies).

Rank: lme4's ``chkRank.X`` ("message+drop.cols") keeps the columns a QR with
R's limited pivoting keeps (``qr()``, LINPACK ``dqrdc2``, tolerance 1e-7):
each column in order is kept unless it is, to that tolerance, a combination of
the columns kept before it. ``independent_columns`` applies the same rule to the
Gram matrix.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_triangular

from lib.model.spec import INTERCEPT, FixedTerm

#: R's qr() tolerance: a column is dropped when the norm of its residual (after
#: projection on the columns kept before it) is below this fraction of its norm.
QR_TOL = 1e-7
#: The same judged on the Gram matrix, where round-off is ~1e-14 of a squared norm
#: (an exact dependence among dummies showed 1.2e-14): between SUSPECT and
#: GRAM_TOL a column is judged on the rows when they are at hand (R's rule
#: exactly), else dropped below GRAM_TOL (a norm ratio of 3e-6).
SUSPECT = 1e-9
GRAM_TOL = 1e-11


@dataclass(frozen=True)
class XColumn:
    """One column of X: the product of its parts.

    Attributes
    ----------
    name : str
        R's coefficient name (``(Intercept)``, ``x``, ``sectorPublic:cses``).
    parts : tuple of (str, int or None)
        ``(column, None)`` multiplies by a numeric column; ``(column, k)`` by the
        indicator of level ``k`` (R's level order) of a categorical column. No
        parts: the intercept.
    """

    name: str
    parts: tuple[tuple[str, int | None], ...]


def all_levels_coding(
    terms: Sequence[FixedTerm], intercept: bool, is_factor: Mapping[str, bool]
) -> list[tuple[bool, ...]]:
    """Per term and column: True where a factor gets all its levels (R's code 2)."""
    coding = []
    for j, term in enumerate(terms):
        flags = []
        for column in term.columns:
            margin = frozenset(term.columns) - {column}
            contained = not margin or any(margin <= set(t.columns) for t in terms[:j])
            flags.append(bool(is_factor[column]) and not contained)
        coding.append(flags)
    if not intercept:
        # R: the first factor of the first term that has one is coded by dummies.
        for term, flags in zip(terms, coding, strict=True):
            factors = [k for k, c in enumerate(term.columns) if is_factor[c]]
            if factors:
                flags[factors[0]] = True
                break
    return [tuple(flags) for flags in coding]


def fixed_layout(
    terms: Sequence[FixedTerm],
    intercept: bool,
    levels: Mapping[str, tuple[str, ...] | None],
) -> tuple[XColumn, ...]:
    """The columns of X in R's order, named as R names them.

    ``levels[c]`` is the levels of categorical column ``c`` in R's order, or None
    for a numeric column.
    """
    is_factor = {c: levels[c] is not None for t in terms for c in t.columns}
    columns = [XColumn(INTERCEPT, ())] if intercept else []
    for term, flags in zip(terms, all_levels_coding(terms, intercept, is_factor), strict=True):
        options = []
        for column, full in zip(term.columns, flags, strict=True):
            labels = levels[column]
            if labels is None:
                options.append([(column, (column, None))])
            else:
                first = 0 if full else 1
                options.append(
                    [(f"{column}{labels[k]}", (column, k)) for k in range(first, len(labels))]
                )
        # itertools.product varies its last factor fastest; R varies the first fastest.
        for combo in itertools.product(*reversed(options)):
            combo = combo[::-1]
            columns.append(
                XColumn(":".join(name for name, _ in combo), tuple(part for _, part in combo))
            )
    return tuple(columns)


def column_values(
    layout: Sequence[XColumn],
    numeric: Mapping[str, np.ndarray],
    codes: Mapping[str, np.ndarray],
    n: int,
) -> np.ndarray:
    """X (n x p, column-major) from numeric columns and factor codes."""
    X = np.empty((n, len(layout)), order="F")
    for j, column in enumerate(layout):
        values = np.ones(n)
        for name, level in column.parts:
            if level is None:
                values = values * numeric[name]
            else:
                values = values * (codes[name] == level)
        X[:, j] = values
    return X


def independent_columns(
    gram: np.ndarray, first_kept: int = 0, X: np.ndarray | None = None
) -> tuple[int, ...]:
    """Indices of the columns R's pivoted QR keeps.

    Greedy in column order, as LINPACK's ``dqrdc2``: a column is kept when its
    residual after projection on the kept columns is not negligible. Judged on
    the unit-scaled Gram matrix X'X (a Cholesky factor grown one column at a
    time); a column whose squared residual ratio is below ``SUSPECT`` is judged
    again on the rows ``X`` (least squares, R's ``QR_TOL`` on norms) when given,
    else dropped below ``GRAM_TOL``. An all-zero column is dropped. The first
    ``first_kept`` columns are kept unchecked (the intercept, when ``gram`` and
    ``X`` are those of centred columns).
    """
    p = gram.shape[0]
    diag = np.diag(gram).copy()
    kept: list[int] = list(range(first_kept))
    checked: list[int] = []
    L = np.zeros((p, p))  # Cholesky factor of the kept columns' unit-scaled Gram matrix
    for j in range(first_kept, p):
        if not np.isfinite(diag[j]) or diag[j] <= 0.0:
            continue
        m = len(checked)
        if m:
            g = gram[checked, j] / np.sqrt(diag[j] * diag[checked])
            ell = solve_triangular(L[:m, :m], g, lower=True)
            residual = 1.0 - float(ell @ ell)
        else:
            ell, residual = np.zeros(0), 1.0
        if residual < SUSPECT:
            if X is not None:
                if _residual_ratio(X[:, checked], X[:, j]) < QR_TOL:
                    continue
            elif residual < GRAM_TOL:
                continue
        L[m, :m] = ell
        L[m, m] = np.sqrt(max(residual, 0.0))
        checked.append(j)
        kept.append(j)
    return tuple(sorted(kept))


def _residual_ratio(basis: np.ndarray, column: np.ndarray) -> float:
    """||column - its projection on basis|| / ||column|| (least squares on the rows)."""
    norm = float(np.linalg.norm(column))
    if norm == 0.0:
        return 0.0
    coef = np.linalg.lstsq(basis, column, rcond=None)[0]
    return float(np.linalg.norm(column - basis @ coef)) / norm


def rank_message(n_dropped: int) -> str:
    """lme4's message, word for word (``lme4:::chkRank.X``)."""
    if n_dropped == 1:
        return "fixed-effect model matrix is rank deficient so dropping 1 column / coefficient"
    return (
        f"fixed-effect model matrix is rank deficient so dropping {n_dropped} columns / "
        "coefficients"
    )
