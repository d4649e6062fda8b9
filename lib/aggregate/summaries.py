"""Group means and histograms of data held by DuckDB, for uploads too large for pandas.

The same results (``lib.explore.groups.GroupSummary``, ``lib.explore.groups.Histogram``)
and the same numbers as ``lib.explore.groups.group_summary`` /
``lib.explore.groups.histogram``: the complete-rows rule, R's level order and the bin
edges are lib's; only the counting and the sums run in DuckDB, so the rows never become a
pandas frame. Bins are counted exactly:
a first guess ``floor(x / width)`` is corrected against the edges (the doubles
nearest to k * width, as lib.explore.groups chooses them), which are sent as a table.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa

from lib.aggregate.engines import NUMERIC, DuckDBEngine
from lib.errors import DataError, SpecError
from lib.explore.groups import TARGET_BINS, GroupSummary, Histogram, _edges, _fit_edges, _nice
from lib.table.columns import factor_codes, not_numeric_error, require_columns

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, text: str) -> None:
    return None


def _clean(
    engine: DuckDBEngine, columns: list[str], numeric: str, role: str
) -> tuple[str, int, int]:
    """A view of the complete rows (lib.table.columns.complete_rows); counts before and after.

    ``numeric`` must be a numeric column; ``role`` names it in the message if not (as
    ``lib.explore.groups`` names it)."""
    kinds = engine.schema()
    require_columns(list(kinds), columns)
    if kinds[numeric] != NUMERIC:
        got = engine.run(f"SELECT {engine.quote(numeric)} FROM {engine.source} LIMIT 1")
        example = repr(str(got.column(0)[0].as_py())) if got.num_rows else "no values"
        raise not_numeric_error(role, numeric, example)
    cols, conds = [], []
    for i, c in enumerate(dict.fromkeys(columns)):
        q = engine.quote(c)
        cols.append(f"{q} AS c{i}")
        conds.append(
            f"{q} IS NOT NULL" + (f" AND {engine.finite(q)}" if kinds[c] == NUMERIC else "")
        )
    view = engine.prefix + "sclean"
    engine.view(view, f"SELECT {', '.join(cols)} FROM {engine.source} WHERE {' AND '.join(conds)}")
    counts = engine.run(
        f"SELECT (SELECT COUNT(*) FROM {engine.source}) AS total, COUNT(*) AS n FROM {view}"
    ).to_pylist()[0]
    return view, int(counts["total"]), int(counts["n"])


def _levels(got: pa.Table, name: str) -> tuple[np.ndarray, tuple[str, ...]]:
    return factor_codes(pd.Series(got.column("v").to_pandas(), name=name))


def group_summary(
    engine: DuckDBEngine, outcome: str, group: str, progress: Progress = _no_progress
) -> GroupSummary:
    """``lib.explore.groups.group_summary`` computed by DuckDB."""
    progress(0.1, "Finding complete rows")
    view, total, n = _clean(engine, [outcome, group], outcome, "outcome")
    if n == 0:
        raise DataError(f"'{outcome}' has no complete rows (every value is missing).")
    progress(0.4, "Averaging by group")
    got = engine.run(
        f"SELECT c1 AS v, COUNT(*) AS n, AVG(CAST(c0 AS DOUBLE)) AS mean, "
        f"STDDEV_SAMP(CAST(c0 AS DOUBLE)) AS sd FROM {view} GROUP BY c1"
    )
    codes, levels = _levels(got, group)
    G = len(levels)
    sizes, mean, sd = np.empty(G, np.int64), np.empty(G), np.full(G, np.nan)
    sizes[codes] = got.column("n").to_numpy()
    mean[codes] = got.column("mean").to_numpy()
    sd_values = got.column("sd").to_numpy(zero_copy_only=False).astype(float)
    sd[codes] = np.where(sizes[codes] > 1, sd_values, np.nan)
    progress(1.0, "Done")
    return GroupSummary(
        outcome=outcome, group=group, levels=levels, n=sizes, mean=mean, sd=sd, n_dropped=total - n
    )


def histogram(
    engine: DuckDBEngine,
    column: str,
    group: str | None = None,
    binwidth: float | None = None,
    max_bins: int = 60,
    progress: Progress = _no_progress,
) -> Histogram:
    """``lib.explore.groups.histogram`` computed by DuckDB (bins counted in SQL)."""
    if max_bins < 1:
        raise SpecError(f"max_bins must be at least 1, got {max_bins}.")
    if binwidth is not None and not (math.isfinite(binwidth) and binwidth > 0):
        raise SpecError(f"The bin width must be a positive number, got {binwidth}.")
    progress(0.1, "Finding complete rows")
    view, total, n = _clean(
        engine, [column] if group is None else [column, group], column, "histogram column"
    )
    if n == 0:
        raise DataError(f"'{column}' has no complete rows (every value is missing).")
    progress(0.3, "Finding the range")
    lo, hi = (
        engine.run(f"SELECT MIN(CAST(c0 AS DOUBLE)), MAX(CAST(c0 AS DOUBLE)) FROM {view}")
        .to_pylist()[0]
        .values()
    )
    if not math.isfinite(hi - lo):
        raise DataError(
            f"The values of '{column}' span too wide a range to bin ({lo:g} to {hi:g}). "
            "Check the column for wrong values."
        )
    clamped = False
    if binwidth is None:
        edges, width = _fit_edges(lo, hi, _nice((hi - lo) / min(TARGET_BINS, max_bins)), max_bins)
    else:
        width = Decimal(repr(float(binwidth)))
        edges = _edges(lo, hi, width, max_bins)
        if edges is None:
            clamped = True
            edges, width = _fit_edges(lo, hi, _nice((hi - lo) / max_bins), max_bins)
    nbins = len(edges) - 1
    w = float(width)
    k_first = int(math.floor(edges[0] / w))
    # Guesses k = floor(x / w) - k_first, corrected against the exact edges; the table
    # covers one bin beyond each end so every guess finds its row.
    ks = np.arange(-1, nbins + 1)
    padded = np.concatenate([[-np.inf], edges, [np.inf]])
    table = engine.prefix + "edges"
    engine.register(
        table,
        pa.table({"k": ks, "lo": padded[:-1], "hi": padded[1:], "w": np.full(ks.size, w)}),
    )
    progress(0.5, "Counting bins")
    key = "" if group is None else ", c1 AS v"
    guess = (
        f"SELECT CAST(c0 AS DOUBLE) AS x{key}, "
        f"CAST(floor(CAST(c0 AS DOUBLE) / (SELECT MAX(w) FROM {table})) AS BIGINT) "
        f"- {k_first} AS k "
        f"FROM {view}"
    )
    # A guess off by more than one bin would need a wider table; floor(x / w) is off by
    # at most one from the edge comparison (the edges are within an ulp of k * w).
    binned = (
        "SELECT CASE WHEN g.x < e.lo THEN g.k - 1 WHEN g.x >= e.hi THEN g.k + 1 ELSE g.k END "
        f"AS bin{'' if group is None else ', g.v AS v'} FROM ({guess}) g "
        f"JOIN {table} e ON LEAST(GREATEST(g.k, -1), {nbins}) = e.k"
    )
    by = "bin" if group is None else "bin, v"
    got = engine.run(f"SELECT {by}, COUNT(*) AS n FROM ({binned}) b GROUP BY {by}")
    bins = got.column("bin").to_numpy()
    counts_n = got.column("n").to_numpy()
    if np.any((bins < 0) | (bins >= nbins)):
        raise DataError(f"Could not bin '{column}' consistently; please report this data set.")
    total_counts = np.bincount(bins, weights=counts_n, minlength=nbins).astype(np.int64)
    if group is None:
        levels: tuple[str, ...] = ()
        counts = np.zeros((0, nbins), dtype=np.int64)
    else:
        distinct = engine.run(f"SELECT DISTINCT c1 AS v FROM {view}")
        codes, levels = _levels(distinct, group)
        code_of = pd.Series(codes, index=distinct.column("v").to_pandas())
        row_codes = code_of.loc[got.column("v").to_pandas()].to_numpy()
        counts = (
            np.bincount(row_codes * nbins + bins, weights=counts_n, minlength=len(levels) * nbins)
            .astype(np.int64)
            .reshape(len(levels), nbins)
        )
    progress(1.0, "Done")
    return Histogram(
        column=column,
        group=group,
        levels=levels,
        edges=edges,
        counts=counts,
        total=total_counts,
        binwidth=float(width),
        requested_binwidth=float("nan") if binwidth is None else float(binwidth),
        clamped=clamped,
        n=n,
        n_dropped=total - n,
    )
