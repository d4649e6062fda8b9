"""Design arrays from column roles: y, X, Z columns and a group index.

No formula is parsed or evaluated: a numeric column becomes one column of X,
a categorical one becomes treatment-coded dummies named as R names them
(``trt`` with levels A < B < C gives ``trtB`` and ``trtC``). Factor levels are
sorted in code-point order, as R sorts them under ``LC_COLLATE=C``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.spec import ModelSpec, RandomTerm

MIN_ROWS = 3


def is_numeric_column(series: pd.Series) -> bool:
    """True for real-valued columns (bool counts as categorical, as in R)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def factor_levels(series: pd.Series) -> tuple[str, ...]:
    """Sorted distinct labels of a column as strings (R's factor levels, C collation).

    Numeric group codes sort numerically (1, 2, 10) and logicals FALSE < TRUE,
    as R's ``factor`` does; text sorts by code point.
    """
    return factor_codes(series.dropna())[1]


def _label(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"  # R's spelling, so dummies read flagTRUE
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def factor_codes(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes 0..G-1 in ``factor_levels`` order (-1 for missing), and the levels.

    The rows are factorised once; only the (few) distinct values are labelled
    and sorted. For a categorical column pandas reuses its stored codes, which
    is what keeps 10^6 rows cheap (shared FACTS).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Reuse the stored codes; unused categories are dropped, as lme4 drops
        # unused factor levels.
        codes = series.cat.codes.to_numpy().astype(np.int64)
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(series.cat.categories)))
        compact = np.full(len(series.cat.categories) + 1, -1, dtype=np.int64)
        compact[used] = np.arange(used.size)
        codes = compact[codes]
        uniques = series.cat.categories[used]
    else:
        codes, uniques = pd.factorize(series, sort=False)
    kind = uniques.dtype
    if pd.api.types.is_bool_dtype(kind) or (
        pd.api.types.is_numeric_dtype(kind) and not isinstance(kind, pd.CategoricalDtype)
    ):
        values = list(uniques)
        labels = [_label(v) for v in values]
        order = sorted(range(len(values)), key=lambda k: values[k])
    else:
        # Text (or mixed) labels: convert the distinct values in one vectorised step.
        labels = (
            [_label(v) for v in uniques]
            if pd.api.types.is_object_dtype(kind)
            else uniques.astype(str).tolist()
        )
        order = sorted(range(len(labels)), key=lambda k: labels[k])
    remap = np.empty(len(labels) + 1, dtype=np.int64)
    remap[-1] = -1  # pd.factorize marks missing values with -1
    for new, old in enumerate(order):
        remap[old] = new
    return remap[codes], tuple(labels[k] for k in order)


def fixed_matrix(
    frame: pd.DataFrame, predictors: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Fixed-effects model matrix with an intercept, and R's column names.

    Parameters
    ----------
    frame : DataFrame
        Rows already free of missing values in ``predictors``.
    predictors : sequence of str
        Numeric columns enter as they are; others are treatment-coded with the
        first sorted level as reference.
    """
    n = len(frame)
    columns = [np.ones(n)]
    names = ["(Intercept)"]
    for name in predictors:
        series = frame[name]
        if is_numeric_column(series):
            columns.append(series.to_numpy(dtype=float))
            names.append(name)
            continue
        codes, levels = factor_codes(series)
        check_factor(name, levels)
        for k, level in enumerate(levels[1:], start=1):
            columns.append((codes == k).astype(float))
            names.append(f"{name}{level}")
    # Column-major: every later pass reads one column at a time (bincount weights).
    return np.asfortranarray(np.column_stack(columns)), tuple(names)


def dense_unique(keys: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in [0, bound).

    With a bound not far above n a presence map numbers the distinct keys in O(n)
    passes instead of an O(n log n) sort of all n keys (0.2 s at 10^6 rows); a
    sparse key space is sorted as usual.
    """
    if bound > max(2.0 * keys.size, 1e6):
        return np.unique(keys, return_inverse=True)
    present = np.zeros(int(bound), dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    number = np.cumsum(present, dtype=np.int64) - 1
    return distinct, number[keys]


def interaction_codes(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and levels of the interaction of several columns, as R's ``a:b``.

    R's ``:`` on factors orders levels with the first factor varying slowest and
    lme4 drops unused combinations, so the levels are the combinations present,
    sorted by each column's own level order (numeric labels numerically), and
    named by joining the labels with ":".
    """
    if len(columns) == 1:
        return factor_codes(frame[columns[0]])
    parts = [factor_codes(frame[c]) for c in columns]
    sizes = [max(len(levels), 1) for _, levels in parts]
    combined = np.zeros(len(frame), dtype=np.int64)
    # Mixed radix, first column most significant: sorting the integer sorts the tuple.
    for (codes, _), size in zip(parts, sizes, strict=True):
        combined = combined * size + codes
    present, codes = dense_unique(combined, int(np.prod(sizes, dtype=float)))
    labels = []
    for value in present:
        digits = []
        for size in reversed(sizes):
            digits.append(int(value % size))
            value //= size
        digits.reverse()
        labels.append(":".join(levels[d] for d, (_, levels) in zip(digits, parts, strict=True)))
    return codes.astype(np.int64), tuple(labels)


@dataclass(frozen=True, eq=False)
class TermDesign:
    """The arrays of one random term (MixedModels.jl's ``ReMat``).

    Attributes
    ----------
    term : RandomTerm
    codes : ndarray (n,) of int
        Level index 0..G-1 of each row, in ``levels`` order.
    levels : tuple of str
    Z : ndarray (n, q)
        Per-row covariates of the term's effects (1 for the intercept, then slopes).
    """

    term: RandomTerm
    codes: np.ndarray
    levels: tuple[str, ...]
    Z: np.ndarray

    @property
    def name(self) -> str:
        return self.term.name

    @property
    def names(self) -> tuple[str, ...]:
        return self.term.names

    @property
    def nlevels(self) -> int:
        return len(self.levels)

    @property
    def q(self) -> int:
        return self.Z.shape[1]

    @property
    def correlated(self) -> bool:
        return self.term.is_correlated


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
    """

    y: np.ndarray
    X: np.ndarray
    terms: tuple[TermDesign, ...]
    fixef_names: tuple[str, ...]
    n_dropped: int
    outcome_name: str = "y"

    @property
    def nobs(self) -> int:
        return int(self.y.shape[0])


_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars", ",": "commas"}


def missing_column_message(column: str, available: Sequence[object]) -> str:
    """'Column not found', naming the separator when the header was not split.

    A semicolon- or tab-separated file read as comma-separated has one column
    whose name is the whole header line ("g;x;y"); saying so beats a bare
    "not in the data".
    """
    names = [str(c) for c in available]
    shown = ", ".join(repr(c) for c in names[:20])
    message = f"Column {column!r} is not in the data. Available columns: {shown}."
    if len(names) == 1:
        seen = [word for mark, word in _DELIMITERS.items() if mark in names[0]]
        if seen:
            message += (
                f" The header was read as one column, but it contains {seen[0]}: save the "
                "file with commas between fields, or upload it in the app, which detects "
                "the separator."
            )
    return message


def non_numeric_example(series: pd.Series) -> str:
    """The first value of a column that is not a number, quoted for a message.

    For a mostly numeric column with one stray word this shows the word ('abc'),
    not the first value of the column.
    """
    present = series.dropna()
    if not len(present):
        return "no values"
    if pd.api.types.is_bool_dtype(present):
        return repr(_label(present.iloc[0]))
    as_number = pd.to_numeric(present.astype(str), errors="coerce")
    bad = present[as_number.isna().to_numpy()]
    value = bad.iloc[0] if len(bad) else present.iloc[0]
    return repr(str(value)[:60])


def require_columns(available: Sequence[str], columns: Sequence[str]) -> None:
    """DataError naming the first of ``columns`` that is not ``available``."""
    missing = [c for c in columns if c not in available]
    if missing:
        raise DataError(missing_column_message(missing[0], available))


def complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Rows with a usable value in every column (NaN, None and +-inf removed)."""
    require_columns(frame.columns, columns)
    # Column by column: frame.loc[:, columns] copies a sub-frame, which alone cost
    # 1.5 ms of a 10 ms tutorial-sized fit.
    keep = np.ones(len(frame), dtype=bool)
    for c in dict.fromkeys(columns):
        column = frame[c]
        if is_numeric_column(column):
            keep &= np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
        else:
            keep &= column.notna().to_numpy(dtype=bool)
    n_dropped = int((~keep).sum())
    return (frame if n_dropped == 0 else frame.loc[keep]), n_dropped


def finite_range(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    """Smallest and largest usable value of a numeric column (the complete-rows rule).

    Raises
    ------
    DataError
        When the column has no usable value.
    """
    clean, _ = complete_rows(frame, [column])
    values = clean[column].to_numpy(dtype=float)
    if values.size == 0:
        raise DataError(f"Column {column!r} has no usable (finite) value.")
    return float(values.min()), float(values.max())


def common_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The rows every model of a comparison uses: complete in the union of their columns.

    lme4's ``anova()`` refuses models fitted to different numbers of rows; fitting
    each model to these rows instead makes the comparison honest (same as
    ``complete_rows``; named for what the callers mean by it).
    """
    return complete_rows(frame, list(dict.fromkeys(columns)))


def build_design(frame: pd.DataFrame, spec: ModelSpec) -> Design:
    """Check the data against the spec and build the model's arrays.

    Raises
    ------
    DataError
        With a message naming the column and the fix.
    """
    clean, n_dropped = complete_rows(frame, spec.columns)
    if not is_numeric_column(clean[spec.outcome]):
        raise not_numeric_outcome(spec.outcome, _example(clean[spec.outcome]))
    for name in spec.slope_columns:
        if not is_numeric_column(clean[name]):
            raise not_numeric_slope(name, _example(clean[name]))
    check_rows(spec, len(clean), n_dropped)
    terms = tuple(_term_design(clean, term) for term in spec.random)
    # lme4's mkReTrms orders terms by rev(order(nlevels)): decreasing number of
    # levels, and terms with equal numbers of levels in reverse order of the formula.
    terms = tuple(reversed(sorted(terms, key=lambda t: t.nlevels)))
    for name in spec.fixed:
        _check_not_stray_text(clean[name], name)
    X, fixef_names = fixed_matrix(clean, spec.fixed)
    check_fixed(len(clean), fixef_names, unit_gram(X))
    return Design(
        y=clean[spec.outcome].to_numpy(dtype=float),
        X=X,
        terms=terms,
        fixef_names=fixef_names,
        n_dropped=n_dropped,
        outcome_name=spec.outcome,
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


def _term_design(clean: pd.DataFrame, term: RandomTerm) -> TermDesign:
    codes, levels = interaction_codes(clean, term.group)
    check_groups(term, len(levels))
    z_cols = ([np.ones(len(clean))] if term.intercept else []) + [
        clean[c].to_numpy(dtype=float) for c in term.slopes
    ]
    return TermDesign(
        term=term, codes=codes, levels=levels, Z=np.asfortranarray(np.column_stack(z_cols))
    )


# The checks of build_design, written once for every engine (lib.aggregate runs them
# on statistics computed in SQL).


def not_numeric_outcome(name: str, example: str) -> DataError:
    return DataError(
        f"The outcome '{name}' must be numeric, but it holds text or categories "
        f"(for example {example}). Choose a numeric outcome."
    )


def not_numeric_slope(name: str, example: str) -> DataError:
    return DataError(
        f"A random slope needs a numeric column, but '{name}' is categorical "
        f"(for example {example}). Use it as a fixed predictor only."
    )


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
    """More rows than fixed effects, and no exact collinearity (judged on X'X)."""
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
    if np.all(peak > 0) and np.all(np.isfinite(peak)):
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


def _example(series: pd.Series) -> str:
    return non_numeric_example(series)
