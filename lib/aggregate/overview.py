"""The Data page's numbers for data held by DuckDB: the validation report and the column
overview counted over every row, with ``lib.data``'s rules and messages.

``lib.table.validate.validate`` and ``lib.table.validate.column_overview`` on a pandas frame give
the same
numbers; here only the counting runs in SQL. What is judged from values rather than
counted (which columns are numeric, the report's cautions about a constant predictor
or a two-valued outcome, an example value) comes from the upload's sample.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd

from lib.aggregate.engines import NUMERIC, DuckDBEngine
from lib.errors import DataError
from lib.model.spec import ModelSpec
from lib.table.columns import complete_rows, factor_codes
from lib.table.roles import Roles, check_roles, check_usable
from lib.table.validate import ValidationReport, column_overview, report_warnings


def _usable(engine: DuckDBEngine, column: str, kind: str) -> str:
    """SQL: the value counts as present (lib.table.columns.complete_rows: not missing, finite)."""
    q = engine.quote(column)
    return f"({q} IS NOT NULL" + (f" AND {engine.finite(q)})" if kind == NUMERIC else ")")


def validate(engine: DuckDBEngine, roles: Roles, sample: pd.DataFrame) -> ValidationReport:
    """``lib.table.validate.validate`` over every row of ``engine`` (cautions judged on ``sample``).

    Raises
    ------
    DataError
        The same refusals as ``lib.table.validate.validate``.
    """
    check_roles(sample, roles)
    kinds = engine.schema()
    columns = list(roles.columns)
    ok = [_usable(engine, c, kinds[c]) for c in columns]
    counts = ", ".join(f"COUNT(*) FILTER (WHERE NOT {cond}) AS m{i}" for i, cond in enumerate(ok))
    every = " AND ".join(ok)
    got = engine.run(
        f"SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE {every}) AS used, {counts} "
        f"FROM {engine.source}"
    ).to_pylist()[0]
    n_used = int(got["used"])
    check_usable(roles, n_used, 0)
    sizes = engine.run(
        f"SELECT {engine.quote(roles.group)} AS v, COUNT(*) AS n FROM {engine.source} "
        f"WHERE {every} GROUP BY 1"
    )
    codes, levels = factor_codes(pd.Series(sizes.column("v").to_pandas(), name=roles.group))
    check_usable(roles, n_used, len(levels))
    n = np.empty(len(levels), dtype=np.int64)
    n[codes] = sizes.column("n").to_numpy()
    report = ValidationReport(
        n_rows=int(got["n"]),
        n_used=n_used,
        missing_by_column=tuple(
            (c, int(got[f"m{i}"])) for i, c in enumerate(columns) if got[f"m{i}"]
        ),
        group_levels=levels,
        group_sizes=tuple(int(k) for k in n),
    )
    clean, _ = complete_rows(sample, columns)
    return replace(report, warnings=tuple(report_warnings(clean, roles, report)))


def overview(engine: DuckDBEngine, sample: pd.DataFrame) -> pd.DataFrame:
    """``lib.table.validate.column_overview`` with the missing and distinct counts of every row
    (kind and example from ``sample``)."""
    table = column_overview(sample)
    parts = []
    for i, column in enumerate(table["column"]):
        q = engine.quote(column)
        parts.append(f"COUNT(*) - COUNT({q}) AS m{i}, COUNT(DISTINCT {q}) AS d{i}")
    got = engine.run(f"SELECT {', '.join(parts)} FROM {engine.source}").to_pylist()[0]
    table["missing"] = [int(got[f"m{i}"]) for i in range(len(table))]
    table["distinct"] = [int(got[f"d{i}"]) for i in range(len(table))]
    return table


def value_range(engine: DuckDBEngine, column: str) -> tuple[float, float]:
    """Smallest and largest finite value of a numeric column."""
    q = f"CAST({engine.quote(column)} AS DOUBLE)"
    lo, hi = (
        engine.run(
            f"SELECT MIN({q}) AS lo, MAX({q}) AS hi FROM {engine.source} "
            f"WHERE {engine.finite(engine.quote(column))}"
        )
        .to_pylist()[0]
        .values()
    )
    if lo is None or not (math.isfinite(lo) and math.isfinite(hi)):
        raise DataError(f"'{column}' has no finite values.")
    return float(lo), float(hi)


def level_rows(engine: DuckDBEngine, spec: ModelSpec) -> pd.DataFrame:
    """One row per combination of ``spec``'s grouping columns among its complete rows
    (the other columns 0): every level of the fit, for ``lib.model.levels.group_coefficients``
    when a sample of the rows might miss one."""
    kinds = engine.schema()
    groups = list(spec.group_columns)
    every = " AND ".join(_usable(engine, c, kinds[c]) for c in spec.columns)
    got = engine.run(
        f"SELECT DISTINCT {', '.join(engine.quote(c) for c in groups)} FROM {engine.source} "
        f"WHERE {every}"
    )
    frame = pd.DataFrame({c: got.column(c).to_pandas() for c in groups})
    for column in spec.columns:
        if column not in frame.columns:
            frame[column] = 0.0
    return frame


def factor_sizes(engine: DuckDBEngine, columns: list[str]) -> pd.DataFrame:
    """``lib.model.nesting.factor_sizes`` over every row: levels and median rows per level."""
    rows = []
    for column in columns:
        q = engine.quote(column)
        got = engine.run(
            f"SELECT COUNT(*) AS levels, quantile_cont(n, 0.5) AS median FROM "
            f"(SELECT {q}, COUNT(*) AS n FROM {engine.source} WHERE {q} IS NOT NULL GROUP BY 1)"
        ).to_pylist()[0]
        rows.append(
            {
                "factor": column,
                "levels": int(got["levels"]),
                "median rows per level": float(got["median"] or 0.0),
            }
        )
    return pd.DataFrame(rows, columns=["factor", "levels", "median rows per level"])
