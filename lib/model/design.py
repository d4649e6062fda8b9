"""Design arrays from column roles: y, X, Z columns and a group index.

No formula is evaluated: a numeric column becomes one column of X, a
categorical one becomes treatment-coded dummies named as R names them (``trt``
with levels A < B < C gives ``trtB`` and ``trtC``), and interactions are
products of those, as R's ``model.matrix`` (``lib.model.fixed``). Factor levels
are sorted in code-point order, as R sorts them under ``LC_COLLATE=C``.
Columns that are combinations of earlier ones are dropped with lme4's message.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.fixed import (
    column_values,
    fixed_layout,
    independent_columns,
    rank_message,
)
from lib.model.random_effects import slope_levels, term_pieces
from lib.model.spec import FixedTerm, ModelSpec, RandomTerm
from lib.model.transforms import with_derived
from lib.table.columns import (
    complete_rows,
    factor_codes,
    interaction_codes,
    is_numeric_column,
    non_numeric_example,
    not_numeric_error,
)

MIN_ROWS = 3
T = TypeVar("T")


def _nlevels(term: object) -> int:
    return term.nlevels  # type: ignore[attr-defined]


class RankDeficiencyWarning(UserWarning):
    """lme4's message when columns of X are dropped (it is a message in R, not an error)."""


def fixed_matrix(
    frame: pd.DataFrame, predictors: Sequence[str | FixedTerm], intercept: bool = True
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Fixed-effects model matrix and R's column names (nothing dropped).

    Parameters
    ----------
    frame : DataFrame
        Rows already free of missing values in the columns used.
    predictors : sequence of str or FixedTerm
        Main effects (column names) and interactions, in R's term order. Numeric
        columns enter as they are; others are treatment-coded with the first
        sorted level as reference, or by all levels where R's rule says so
        (``lib.model.fixed``).
    intercept : bool
        Whether X starts with the intercept column.
    """
    terms = [t if isinstance(t, FixedTerm) else FixedTerm((t,)) for t in predictors]
    columns = tuple(dict.fromkeys(c for t in terms for c in t.columns))
    numeric: dict[str, np.ndarray] = {}
    codes: dict[str, np.ndarray] = {}
    levels: dict[str, tuple[str, ...] | None] = {}
    for name in columns:
        series = frame[name]
        if is_numeric_column(series):
            numeric[name] = series.to_numpy(dtype=float)
            levels[name] = None
            continue
        codes[name], levels[name] = factor_codes(series)
        check_factor(name, levels[name])
    layout = fixed_layout(terms, intercept, levels)
    X = column_values(layout, numeric, codes, len(frame))
    # Column-major: every later pass reads one column at a time (bincount weights).
    return X, tuple(c.name for c in layout)


def drop_dependent(
    X: np.ndarray, names: tuple[str, ...], intercept: bool
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """X without the columns lme4 drops, the kept names and the dropped names.

    With an intercept the other columns are judged centred, which keeps the
    Gram matrix well conditioned for a column such as a year near 2000 (R's QR
    works on X itself and needs no such care).
    """
    if X.shape[1] == 0:
        return X, names, ()
    # Columns are scaled to a largest |value| of 1 first: the rank decision is
    # scale-invariant per column (R's dqrdc2 compares each column with its own
    # norm), and the mean of values near 1e308 would overflow.
    scale = np.max(np.abs(X), axis=0)
    scale[~np.isfinite(scale) | (scale == 0)] = 1.0
    scaled = X / scale
    rows = scaled - scaled.mean(axis=0) if intercept else scaled
    kept = independent_columns(unit_gram(rows), first_kept=int(intercept), X=rows)
    if len(kept) == X.shape[1]:
        return X, names, ()
    dropped = tuple(n for j, n in enumerate(names) if j not in kept)
    return np.asfortranarray(X[:, kept]), tuple(names[j] for j in kept), dropped


@dataclass(frozen=True, eq=False)
class TermDesign:
    """The arrays of one random term (MixedModels.jl's ``ReMat``).

    Attributes
    ----------
    term : RandomTerm
        The term as lme4 fits it (one piece of an uncorrelated term with a
        categorical slope is a term of its own, ``lib.model.random_effects``).
    codes : ndarray (n,) of int
        Level index 0..G-1 of each row, in ``levels`` order.
    levels : tuple of str
    Z : ndarray (n, q)
        Per-row covariates of the term's effects (1 for the intercept, then slopes;
        a categorical slope as its dummy columns).
    effect_names : tuple of str or None
        The names of Z's columns (lme4's ``cnms``, e.g. ``urbanY``); None: the
        term's own names (numeric slopes).
    """

    term: RandomTerm
    codes: np.ndarray
    levels: tuple[str, ...]
    Z: np.ndarray
    effect_names: tuple[str, ...] | None = None

    @property
    def name(self) -> str:
        return self.term.name

    @property
    def names(self) -> tuple[str, ...]:
        return self.effect_names if self.effect_names is not None else self.term.names

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def correlated(self) -> bool:
        return self.term.correlated and self.q > 1


@dataclass(frozen=True, eq=False)
class Design:
    """Arrays for one model.

    Attributes
    ----------
    y : ndarray (n,)
    X : ndarray (n, p)
    terms : tuple of TermDesign
        One per random term, in lme4's order: sorted by number of levels,
        largest first, ties in reverse formula order, as ``lme4::mkReTrms`` does.
    fixef_names : tuple of str
    n_dropped : int
        Rows removed because a used column was missing or not finite.
    outcome_name : str
        The outcome column (for messages).
    fixef_dropped : tuple of str
        Columns of the full model matrix dropped as linear combinations of
        earlier ones (lme4's "rank deficient so dropping N columns").
    """

    y: np.ndarray
    X: np.ndarray
    terms: tuple[TermDesign, ...]
    fixef_names: tuple[str, ...]
    n_dropped: int
    outcome_name: str = "y"
    fixef_dropped: tuple[str, ...] = ()

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])


def build_design(frame: pd.DataFrame, spec: ModelSpec) -> Design:
    """Check the data against the spec and build the model's arrays.

    Raises
    ------
    DataError
        With a message naming the column and the fix.
    """
    # Columns the formula computes (log(x), I(x^2), scale(x)): lib.model.transforms.
    frame = with_derived(frame, spec.columns)
    clean, n_dropped = complete_rows(frame, spec.columns)
    if not is_numeric_column(clean[spec.outcome]):
        raise not_numeric_error("outcome", spec.outcome, non_numeric_example(clean[spec.outcome]))
    check_rows(spec, len(clean), n_dropped)
    for name in dict.fromkeys((*spec.fixed_columns, *spec.slope_columns)):
        _check_not_stray_text(clean[name], name)
    terms = lme4_term_order([d for term in spec.random for d in _term_designs(clean, term)])
    X, full_names = fixed_matrix(clean, spec.fixed_terms, spec.intercept)
    X, fixef_names, dropped = drop_dependent(X, full_names, spec.intercept)
    if dropped:
        warnings.warn(rank_message(len(dropped)), RankDeficiencyWarning, stacklevel=2)
    check_fixed(len(clean), fixef_names, unit_gram(X))
    return Design(
        y=clean[spec.outcome].to_numpy(dtype=float),
        X=X,
        terms=terms,
        fixef_names=fixef_names,
        n_dropped=n_dropped,
        outcome_name=spec.outcome,
        fixef_dropped=dropped,
    )


def _check_not_stray_text(series: pd.Series, name: str) -> None:
    """A predictor of numbers with a few words in it is a typo, not a categorical one.

    Read as categorical it would get one dummy per distinct number; say which
    value made it text instead.
    """
    if is_numeric_column(series) or isinstance(series.dtype, pd.CategoricalDtype):
        return
    values = series.astype(str)
    as_number = pd.to_numeric(values, errors="coerce")
    numeric = int(as_number.notna().sum())
    if numeric >= 0.5 * len(values) and numeric < len(values):
        raise DataError(
            f"The predictor {name!r} holds numbers but also text (for example "
            f"{non_numeric_example(series)}), so it would become a categorical predictor with "
            f"{series.nunique()} levels. Correct or remove that value."
        )


def lme4_term_order(terms: Sequence[T], nlevels: Callable[[T], int] = _nlevels) -> tuple[T, ...]:
    """lme4's ``mkReTrms`` order: unless the numbers of levels already never increase,
    ``rev(order(nl))`` (decreasing, terms with equal numbers in reverse formula order).
    ``lib.aggregate.sqlfit`` orders its terms by the same rule."""
    nl = [nlevels(t) for t in terms]
    if any(b > a for a, b in zip(nl, nl[1:], strict=False)):
        return tuple(reversed(sorted(terms, key=nlevels)))
    return tuple(terms)


def _term_designs(clean: pd.DataFrame, term: RandomTerm) -> list[TermDesign]:
    """The term's arrays: one TermDesign per lme4 term (``lib.model.random_effects``)."""
    codes, levels = interaction_codes(clean, term.group)
    check_groups(term, len(levels))
    slopes = slope_levels(clean, term)
    numeric = {s: clean[s].to_numpy(dtype=float) for s, lv in slopes.items() if lv is None}
    factors = {s: factor_codes(clean[s])[0] for s, lv in slopes.items() if lv is not None}
    return [
        TermDesign(
            term=piece.term,
            codes=codes,
            levels=levels,
            Z=column_values(piece.layout, numeric, factors, len(clean)),
            effect_names=piece.names,
        )
        for piece in term_pieces(term, slopes)
    ]


def check_rows(spec: ModelSpec, n: int, n_dropped: int) -> None:
    """Enough complete rows for any model."""
    if n < MIN_ROWS:
        raise DataError(
            f"Only {n} complete rows remain after dropping {n_dropped} with missing "
            f"values in {list(spec.columns)}; a mixed model needs many more."
        )


def check_groups(term: RandomTerm, nlevels: int) -> None:
    """At least two levels of a grouping factor."""
    if nlevels < 2:
        raise DataError(
            f"The grouping factor '{term.name}' has {nlevels} distinct value(s) "
            "after removing missing rows; a multilevel model needs at least 2 groups."
        )


def check_factor(name: str, levels: Sequence[str]) -> None:
    """At least two levels of a categorical fixed predictor."""
    if len(levels) < 2:
        raise DataError(
            f"Categorical predictor '{name}' has only one value ({levels[0]!r} if any) "
            "after removing missing rows; it cannot explain anything. Remove it."
        )


def check_fixed(n: int, fixef_names: Sequence[str], gram: np.ndarray) -> None:
    """More rows than fixed effects, and no exact collinearity (judged on X'X).

    Dependent columns are dropped before (``drop_dependent``); what is left to
    refuse here is a matrix that is singular in a way that dropping by the QR
    rule did not resolve (values too extreme to judge).
    """
    p = len(fixef_names)
    if n <= p:
        raise DataError(
            f"{n} rows cannot estimate {p} fixed effects; add data or remove predictors."
        )
    if rank_deficient(gram):
        raise DataError(
            "The fixed-effect predictors are collinear (one is a combination of the others): "
            f"{list(fixef_names)}. Remove one of them."
        )


def unit_gram(X: np.ndarray) -> np.ndarray:
    """X'X, with columns first divided by their largest |value| where values are extreme.

    A predictor measured in units of 1e-300 or 1e300 then neither underflows to
    a zero column nor overflows the Gram matrix: the rank does not depend on units.
    """
    peak = np.maximum(X.max(axis=0), -X.min(axis=0))  # max |x| without an n x p copy
    peak = np.where(peak > 0, peak, 1.0)  # an all-zero column (a centred intercept) stays
    if np.all(np.isfinite(peak)):
        if peak.min() < 1e-100 or peak.max() > 1e100:  # rescaling copies X: only when needed
            X = X / peak
    return X.T @ X


def rank_deficient(gram: np.ndarray) -> bool:
    """Exact collinearity among X's columns, judged on the p x p Gram matrix X'X.

    An SVD of the n x p matrix cost 28 ms at 10^6 rows; the Gram matrix scaled
    to unit diagonal has eigenvalues = squared singular values of the column-
    normalised X, so 1e-14 here is a singular-value ratio of 1e-7 (R's lm tol).
    ``unit_gram`` makes the Gram matrix of extreme columns safe to form.
    """
    scale = np.sqrt(np.diag(gram))
    if np.any(scale == 0):
        return True
    eig = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    return bool(eig[0] < 1e-14 * eig[-1])
