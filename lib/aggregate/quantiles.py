"""Exact type-7 quantiles of a column too large to sort: count by bin, then fetch.

An engine's exact quantile (DuckDB ``quantile_cont``, Spark ``percentile``) holds
every value of the column: at 10^8 residuals that is 0.8 GB before sorting, and
it was the peak of a 10^8-row fit (3.1 GB, measured). The quantiles need only
two order statistics each (type 7: x_(lo) and x_(lo+1), lo = floor((n - 1) p),
0-based), so:

1. a GROUP BY on a bin of the value gives each bin's count, minimum and
   maximum; their running counts say exactly which bin holds each needed order
   statistic, and at which rank inside it;
2. one more pass fetches the values of those bins only (a few hundred
   thousand at 10^8 rows), where the answer is not already known: the first or
   last value of a bin is its minimum or maximum, and a bin whose minimum
   equals its maximum (ties) needs no values at all.

Bins are 1/``BINS_PER_UNIT`` wide on [-``BIN_RANGE``, ``BIN_RANGE``], values
beyond falling in the two end bins: made for scaled residuals (unit scale by
construction), at most ~8,200 bins whatever the data, and at 10^8 normal
residuals ~600k values in the bin of the median. (Logarithmic bins, bounded
for any scale, made the pass 40% slower: LN per row.) The second pass selects
a bin's values by its minimum and maximum (the bin is increasing in the value)
and checks their count against the first pass. If a check fails, or the bins
to fetch hold more than ``FETCH_LIMIT`` values (most values in one bin yet
distinct), the engine's exact quantile is used instead. Below ``EXACT_ROWS``
rows (per engine) the exact quantile is cheap and used directly.

The result equals the exact quantile: the same order statistics, interpolated
as ``lib.lmm.fit.type7_quantiles`` does (tested against it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

# Up to these row counts the engine's exact quantile is used. DuckDB's quantile_cont
# holds 8 bytes a value (<= 160 MB); Spark's exact percentile keeps a hash map of
# value counts per partition (~60 bytes a value) and took 162 s at 10^7 rows in
# local mode (measured), so Spark bins from 10^6 rows.
EXACT_ROWS = {"duckdb": 20_000_000, "spark": 1_000_000}
BINS_PER_UNIT = 64
BIN_RANGE = 64
FETCH_LIMIT = 20_000_000  # values fetched in the second pass at most (160 MB)


def bin_sql(expr: str) -> str:
    """The bin of ``expr`` in portable SQL: floor(clip(x, -64, 64) x 64).

    Non-decreasing in the value, so bins sorted by index are sorted by value.
    """
    return (
        f"CAST(FLOOR(LEAST(GREATEST({expr}, -{BIN_RANGE}), {BIN_RANGE}) * {BINS_PER_UNIT})"
        " AS BIGINT)"
    )


@dataclass(frozen=True)
class Bins:
    """Per occupied bin, sorted by index: count, minimum and maximum value."""

    index: np.ndarray
    count: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def n(self) -> int:
        return int(self.count.sum())

    @functools.cached_property
    def starts(self) -> np.ndarray:
        """The rank (0-based) of each bin's first value."""
        return np.concatenate([[0], np.cumsum(self.count)[:-1]])

    def sorted(self) -> Bins:
        order = np.argsort(self.index)
        return Bins(self.index[order], self.count[order], self.low[order], self.high[order])


def order_statistics(n: int, p: float) -> tuple[int, int, float]:
    """(lo, hi, weight of hi) for R's type 7 at n values: h = (n - 1) p."""
    h = (n - 1) * p
    lo = int(np.floor(h))
    return lo, min(lo + 1, n - 1), h - lo


def _place(bins: Bins, rank: int) -> tuple[int, int]:
    """(position of the bin holding order statistic ``rank``, rank inside that bin)."""
    k = int(np.searchsorted(bins.starts, rank, side="right")) - 1
    return k, rank - int(bins.starts[k])


def _known_value(bins: Bins, k: int, inside: int) -> float | None:
    """The value at rank ``inside`` of bin ``k`` if the counts give it: the first is the
    bin's minimum, the last its maximum, and a bin of ties holds one value."""
    if inside == 0 or bins.low[k] == bins.high[k]:
        return float(bins.low[k])
    if inside == bins.count[k] - 1:
        return float(bins.high[k])
    return None


def bins_to_fetch(bins: Bins, probs: Sequence[float]) -> list[int]:
    """Indices of the bins whose values are needed for the quantiles at ``probs``."""
    needed = set()
    for p in probs:
        for rank in order_statistics(bins.n, p)[:2]:
            k, inside = _place(bins, rank)
            if _known_value(bins, k, inside) is None:
                needed.add(int(bins.index[k]))
    return sorted(needed)


def _value(bins: Bins, rank: int, values: dict[int, np.ndarray]) -> float:
    k, inside = _place(bins, rank)
    known = _known_value(bins, k, inside)
    return known if known is not None else float(values[int(bins.index[k])][inside])


def quantiles_from_bins(
    bins: Bins,
    probs: Sequence[float],
    fetch: Callable[[list[tuple[float, float]]], list[np.ndarray]],
    exact: Callable[[], np.ndarray],
) -> np.ndarray:
    """Type-7 quantiles at ``probs`` from the bins of the first pass.

    ``fetch(ranges)`` returns, for each (low, high), the values in [low, high] (any
    order); ``exact()`` the engine's exact quantiles at ``probs`` (the fallback).
    """
    bins = bins.sorted()
    wanted = bins_to_fetch(bins, probs)
    at = np.searchsorted(bins.index, wanted)
    if int(bins.count[at].sum()) > FETCH_LIMIT:
        return np.asarray(exact(), dtype=float)
    fetched = fetch([(float(bins.low[k]), float(bins.high[k])) for k in at])
    values = {}
    for b, k, got in zip(wanted, at, fetched, strict=True):
        if got.size != bins.count[k]:  # the passes disagree on a bin: do not guess
            return np.asarray(exact(), dtype=float)
        values[b] = np.sort(np.asarray(got, dtype=float))
    out = np.empty(len(probs))
    for m, p in enumerate(probs):
        lo, hi, w = order_statistics(bins.n, p)
        x_lo, x_hi = _value(bins, lo, values), _value(bins, hi, values)
        out[m] = x_lo + w * (x_hi - x_lo)
    return out
