"""Descriptive views of grouped data for the tutorial's first steps.

Group means and SDs (R's ``tapply(y, g, mean)`` / ``sd``), histograms binned
here so the browser never receives raw rows, the dummy-coding table, the
comparison of raw mean differences with the dummy model's coefficients, and a
deterministic stratified sample that keeps scatter plots to a few thousand
marks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from lib.errors import DataError, SpecError
from lib.ols.regressions import OlsFit, fit_ols
from lib.table.columns import (
    complete_rows,
    factor_codes,
    is_numeric_column,
    not_numeric_error,
)

TARGET_BINS = 25
_NICE = (1, 2, 5)


@dataclass(frozen=True, eq=False)
class GroupSummary:
    """Size, mean and SD of the outcome per group.

    Attributes
    ----------
    outcome, group : str
    levels : tuple of str
        Sorted group levels (R factor order).
    n : ndarray (G,) of int
    mean : ndarray (G,)
    sd : ndarray (G,)
        Sample SD with n-1 in the denominator, as R's ``sd``; NaN when n = 1.
    n_dropped : int
        Rows removed because the outcome or group was missing.
    """

    outcome: str
    group: str
    levels: tuple[str, ...]
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    n_dropped: int


@dataclass(frozen=True, eq=False)
class Histogram:
    """Bin counts of one numeric column, overall and per group.

    Bins are ``[edges[i], edges[i+1])``, closed on the left, with edges at
    whole multiples of ``binwidth`` (ggplot2's
    ``geom_histogram(binwidth = w, boundary = 0, closed = "left")``).

    Attributes
    ----------
    column : str
    group : str or None
    levels : tuple of str
        Group levels (empty without a group).
    edges : ndarray (bins + 1,)
    counts : ndarray (G, bins) of int
        Counts per group level (shape (0, bins) without a group).
    total : ndarray (bins,) of int
        Counts over all rows; sums to ``n``.
    binwidth : float
        The width used.
    requested_binwidth : float
        The width asked for; NaN when the default rule chose it.
    clamped : bool
        True when the requested width would give more than ``max_bins`` bins
        and a wider "nice" width was used instead.
    n : int
        Rows binned.
    n_dropped : int
        Rows removed because the column (or group) was missing or not finite.
    """

    column: str
    group: str | None
    levels: tuple[str, ...]
    edges: np.ndarray
    counts: np.ndarray
    total: np.ndarray
    binwidth: float
    requested_binwidth: float
    clamped: bool
    n: int
    n_dropped: int

    @property
    def centers(self) -> np.ndarray:
        """Bin midpoints."""
        return (self.edges[:-1] + self.edges[1:]) / 2.0


@dataclass(frozen=True, eq=False)
class DummyCoding:
    """The treatment (dummy) coding of a factor, as a table.

    Attributes
    ----------
    levels : tuple of str
        Rows; the first level is the reference (all zeros).
    names : tuple of str
        Columns, ``<name><level>`` for levels 2..G, as R names them.
    values : ndarray (G, G-1) of int
        1 where the row's level is the column's level, else 0.
    """

    levels: tuple[str, ...]
    names: tuple[str, ...]
    values: np.ndarray

    @property
    def reference(self) -> str:
        """The reference level (first level)."""
        return self.levels[0]


@dataclass(frozen=True, eq=False)
class MeanDifferences:
    """Raw group-mean differences next to the dummy model's group coefficients.

    Attributes
    ----------
    outcome, group : str
    predictor : str or None
        The numeric predictor of the dummy model (None: ``outcome ~ group``).
    levels : tuple of str
        The first level is the reference.
    n : ndarray (G,) of int
    mean : ndarray (G,)
        Raw mean of the outcome per level.
    raw_diff : ndarray (G,)
        ``mean - mean[0]`` (0 for the reference).
    coef : ndarray (G,)
        The dummy model's coefficient of each level (0 for the reference):
        the difference from the reference *at equal predictor values*.
    slope : float
        Coefficient of the predictor (NaN without one).
    fit : OlsFit
        The whole dummy-variable model.
    n_dropped : int
        Rows removed because a used column was missing; means and model use the
        same rows.
    """

    outcome: str
    predictor: str | None
    group: str
    levels: tuple[str, ...]
    n: np.ndarray
    mean: np.ndarray
    raw_diff: np.ndarray
    coef: np.ndarray
    slope: float
    fit: OlsFit
    n_dropped: int


def group_summary(frame: pd.DataFrame, outcome: str, group: str) -> GroupSummary:
    """Per-group n, mean and SD of ``outcome`` (R's ``tapply`` with ``mean`` / ``sd``).

    Raises
    ------
    DataError
        Missing column, non-numeric outcome, or no complete rows.
    """
    clean, n_dropped = complete_rows(frame, [outcome, group])
    y = _numeric(clean, outcome, "outcome")
    codes, levels = factor_codes(clean[group])
    n, mean, sd = _grouped_moments(y, codes, len(levels))
    return GroupSummary(
        outcome=outcome, group=group, levels=levels, n=n, mean=mean, sd=sd, n_dropped=n_dropped
    )


def histogram(
    frame: pd.DataFrame,
    column: str,
    group: str | None = None,
    binwidth: float | None = None,
    max_bins: int = 60,
) -> Histogram:
    """Bin a numeric column into bins aligned at multiples of ``binwidth``.

    Parameters
    ----------
    frame : DataFrame
    column : str
        Numeric column to bin.
    group : str, optional
        Also count per level of this column.
    binwidth : float, optional
        Bin width; by default a 1/2/5 x 10^k width giving about 25 bins.
    max_bins : int
        Upper limit on the number of bins; a narrower requested width is
        replaced by the narrowest "nice" width that fits (``clamped`` is True).

    Raises
    ------
    DataError
        Missing or non-numeric column, or no complete rows.
    SpecError
        ``binwidth`` not a positive finite number, or ``max_bins`` < 1.
    """
    if max_bins < 1:
        raise SpecError(f"max_bins must be at least 1, got {max_bins}.")
    if binwidth is not None and not (math.isfinite(binwidth) and binwidth > 0):
        raise SpecError(f"The bin width must be a positive number, got {binwidth}.")
    clean, n_dropped = complete_rows(frame, [column] if group is None else [column, group])
    x = _numeric(clean, column, "histogram column")
    lo, hi = float(x.min()), float(x.max())
    if not math.isfinite(hi - lo):
        raise DataError(
            f"The values of '{column}' span too wide a range to bin ({lo:g} to {hi:g}). "
            "Check the column for wrong values."
        )
    clamped = False
    if binwidth is None:
        edges, width = _fit_edges(lo, hi, _nice((hi - lo) / min(TARGET_BINS, max_bins)), max_bins)
    else:
        width = Decimal(repr(float(binwidth)))  # the decimal the user typed, e.g. 0.1
        edges = _edges(lo, hi, width, max_bins)
        if edges is None:
            clamped = True
            edges, width = _fit_edges(lo, hi, _nice((hi - lo) / max_bins), max_bins)
    nbins = len(edges) - 1
    idx = np.searchsorted(edges, x, side="right") - 1
    total = np.bincount(idx, minlength=nbins)
    if group is None:
        levels: tuple[str, ...] = ()
        counts = np.zeros((0, nbins), dtype=np.int64)
    else:
        codes, levels = factor_codes(clean[group])
        counts = np.bincount(codes * nbins + idx, minlength=len(levels) * nbins)
        counts = counts.reshape(len(levels), nbins)
    return Histogram(
        column=column,
        group=group,
        levels=levels,
        edges=edges,
        counts=counts,
        total=total,
        binwidth=float(width),
        requested_binwidth=float("nan") if binwidth is None else float(binwidth),
        clamped=clamped,
        n=int(len(x)),
        n_dropped=n_dropped,
    )


def dummy_coding(levels: Sequence[str], name: str = "group") -> DummyCoding:
    """The dummy-variable table of a factor: one 0/1 column per non-reference level.

    Parameters
    ----------
    levels : sequence of str
        Levels in factor order; the first is the reference.
    name : str
        The factor's column name, used as the prefix of the column names.

    Raises
    ------
    DataError
        Fewer than two levels, or a repeated level.
    """
    levels = tuple(str(lev) for lev in levels)
    if len(levels) < 2:
        raise DataError(
            f"'{name}' has {len(levels)} level(s); dummy coding needs at least 2. "
            "Choose a column with several groups."
        )
    if len(set(levels)) != len(levels):
        raise DataError(f"The levels of '{name}' repeat a value; each level must be listed once.")
    values = np.eye(len(levels), dtype=np.int64)[:, 1:]
    return DummyCoding(
        levels=levels, names=tuple(f"{name}{lev}" for lev in levels[1:]), values=values
    )


def mean_differences(
    frame: pd.DataFrame, outcome: str, predictor: str | None, group: str
) -> MeanDifferences:
    """Raw differences of group means from the reference vs the dummy model's coefficients.

    Fits ``lm(outcome ~ predictor + group)`` with ``group`` dummy-coded (even
    when it holds numeric IDs) on the rows complete in all three columns, and
    computes the raw group means on the same rows.

    Raises
    ------
    DataError, SpecError
        As ``fit_ols``; also when the group has fewer than two levels.
    """
    predictors = [group] if predictor is None else [predictor, group]
    if predictor is not None and predictor == group:
        raise SpecError(
            f"'{group}' cannot be both the predictor and the group. Choose another predictor."
        )
    clean, n_dropped = complete_rows(frame, [outcome, *predictors])
    y = _numeric(clean, outcome, "outcome")
    if predictor is not None:
        _numeric(clean, predictor, "predictor")
    codes, levels = factor_codes(clean[group])
    if len(levels) < 2:
        raise DataError(
            f"The group column '{group}' has {len(levels)} distinct value(s) after removing "
            "missing rows; comparing groups needs at least 2."
        )
    fit = fit_ols(clean, outcome, predictors, categorical=[group])
    n, mean, _ = _grouped_moments(y, codes, len(levels))
    # The group's dummies are the last G-1 columns, in level order (see fixed_matrix).
    coef = np.concatenate([[0.0], fit.coef[len(fit.coef) - (len(levels) - 1) :]])
    return MeanDifferences(
        outcome=outcome,
        predictor=predictor,
        group=group,
        levels=levels,
        n=n,
        mean=mean,
        raw_diff=mean - mean[0],
        coef=coef,
        slope=float(fit.coef[1]) if predictor is not None else float("nan"),
        fit=fit,
        n_dropped=n_dropped,
    )


def sample_rows(
    frame: pd.DataFrame, max_rows: int = 5000, seed: int = 0, group: str | None = None
) -> tuple[pd.DataFrame, bool]:
    """At most ``max_rows`` rows for a scatter plot, stratified by ``group``.

    Each group (missing values form their own stratum) gets a share
    proportional to its size (largest-remainder rounding) and at least one row
    when there are no more groups than ``max_rows``. The same frame, cap and
    seed always give the same rows, kept in their original order.

    Returns
    -------
    sample : DataFrame
        ``frame`` itself when it has at most ``max_rows`` rows.
    sampled : bool
        True when rows were left out.

    Raises
    ------
    SpecError
        ``max_rows`` < 1.
    DataError
        ``group`` is not a column.
    """
    if max_rows < 1:
        raise SpecError(f"max_rows must be at least 1, got {max_rows}.")
    n = len(frame)
    if n <= max_rows:
        return frame, False
    rng = np.random.default_rng(seed)
    if group is None:
        chosen = rng.choice(n, size=max_rows, replace=False)
        return frame.iloc[np.sort(chosen)], True
    if group not in frame.columns:
        raise DataError(f"Column {group!r} is not in the data; choose an existing group column.")
    codes, _ = pd.factorize(frame[group], sort=False, use_na_sentinel=False)
    sizes = np.bincount(codes)
    quota = _allocate(sizes, max_rows)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    parts = [
        rng.choice(order[starts[g] : starts[g + 1]], size=int(quota[g]), replace=False)
        for g in range(len(sizes))
    ]
    return frame.iloc[np.sort(np.concatenate(parts))], True


def _allocate(sizes: np.ndarray, total: int) -> np.ndarray:
    """Proportional quotas summing to ``total`` (largest remainder), >= 1 where possible."""
    exact = sizes * (total / sizes.sum())
    quota = np.floor(exact).astype(np.int64)
    extra = total - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:extra]] += 1
    if len(sizes) <= total:
        # Move single rows from the largest quotas to the groups left empty.
        for g in np.flatnonzero(quota == 0):
            donor = int(np.argmax(quota))
            quota[donor] -= 1
            quota[g] = 1
    return quota


def _numeric(clean: pd.DataFrame, column: str, role: str) -> np.ndarray:
    series = clean[column]
    if not is_numeric_column(series):
        example = repr(str(series.iloc[0])) if len(series) else "no values"
        raise not_numeric_error(role, column, example)
    if len(series) == 0:
        raise DataError(f"'{column}' has no complete rows (every value is missing).")
    return series.to_numpy(dtype=float)


def _grouped_moments(
    y: np.ndarray, codes: np.ndarray, ngroups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = np.bincount(codes, minlength=ngroups)
    mean = np.empty(ngroups)
    sd = np.full(ngroups, np.nan)
    order = np.argsort(codes, kind="stable")  # rows of each group contiguous, in row order
    starts = np.concatenate([[0], np.cumsum(n)])
    for g in range(ngroups):
        # Two passes per group, as R's mean/var, rather than sums of squares.
        values = y[order[starts[g] : starts[g + 1]]]
        mean[g] = values.mean()
        if n[g] > 1:
            sd[g] = values.std(ddof=1)
    return n, mean, sd


def _nice(raw: float) -> Decimal:
    """The 1, 2 or 5 x 10^k nearest to ``raw`` on a log scale (1 for raw <= 0)."""
    if not raw > 0:
        return Decimal(1)
    exponent = math.floor(math.log10(raw))
    mantissa = raw / 10.0**exponent
    # Cut points between 1, 2, 5 and 10 are the geometric means sqrt(2), sqrt(10), sqrt(50).
    if mantissa < math.sqrt(2):
        step = 1
    elif mantissa < math.sqrt(10):
        step = 2
    elif mantissa < math.sqrt(50):
        step = 5
    else:
        step, exponent = 1, exponent + 1
    return Decimal(f"{step}E{exponent}")


def _next_nice(width: Decimal) -> Decimal:
    _, digits, exponent = width.normalize().as_tuple()
    lead = digits[0]
    if lead == 1:
        return Decimal(f"2E{exponent}")
    if lead == 2:
        return Decimal(f"5E{exponent}")
    return Decimal(f"1E{exponent + 1}")


def _fit_edges(lo: float, hi: float, width: Decimal, max_bins: int) -> tuple[np.ndarray, Decimal]:
    """Edges for ``width``, widened along 1-2-5 until they fit in ``max_bins``."""
    while (edges := _edges(lo, hi, width, max_bins)) is None:
        width = _next_nice(width)
    return edges, width


def _edges(lo: float, hi: float, width: Decimal, max_bins: int) -> np.ndarray | None:
    """Edges k*width covering [lo, hi] with hi inside the last bin; None if too many.

    Each edge is the double nearest to the exact decimal k*width, so 0.3 is an
    edge of width 0.1 and the value 0.3 falls in [0.3, 0.4), not [0.2, 0.3).
    """
    w = float(width)
    with np.errstate(all="ignore"):
        k0f, k1f = np.floor(lo / w), np.floor(hi / w)
    # +2: the float estimate may be off by one at each end.
    if not (np.isfinite(k0f) and np.isfinite(k1f)) or k1f - k0f + 1 > max_bins + 2:
        return None

    def edge(k: int) -> float:
        return float(Decimal(k) * width)

    k0, k1 = int(k0f), int(k1f)
    while edge(k0) > lo:
        k0 -= 1
    while edge(k0 + 1) <= lo:
        k0 += 1
    while edge(k1 + 1) <= hi:
        k1 += 1
    while k1 > k0 and edge(k1) > hi:
        k1 -= 1
    if k1 - k0 + 1 > max_bins:
        return None
    return np.array([edge(k) for k in range(k0, k1 + 2)])
