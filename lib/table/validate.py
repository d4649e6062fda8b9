"""The Data page's validation report and column overview for a table and its roles.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lib.table.columns import (
    complete_rows,
    factor_codes,
    is_numeric_column,
)
from lib.table.roles import Roles, check_roles, check_usable

FEW_GROUPS = 5


@dataclass(frozen=True)
class ValidationReport:
    """What the chosen roles leave of the data (numbers, no formatting).

    Attributes
    ----------
    n_rows : int
        Rows in the data set.
    n_used : int
        Rows with a usable value in every role column.
    missing_by_column : tuple of (str, int)
        Role columns with missing or non-finite values and how many.
    group_levels : tuple of str
    group_sizes : tuple of int
        Rows per group among the used rows, in ``group_levels`` order.
    warnings : tuple of str
        Plain-language cautions (few groups, singleton groups...).
    """

    n_rows: int
    n_used: int
    missing_by_column: tuple[tuple[str, int], ...]
    group_levels: tuple[str, ...]
    group_sizes: tuple[int, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_dropped(self) -> int:
        return self.n_rows - self.n_used

    @property
    def n_groups(self) -> int:
        return len(self.group_levels)


def validate(frame: pd.DataFrame, roles: Roles) -> ValidationReport:
    """Check the roles against the data and describe what a model will use.

    Raises
    ------
    DataError
        When no model can be fitted: a role column is missing, the outcome or
        predictor is not numeric, no complete row or fewer than 2 groups remain.
    """
    check_roles(frame, roles)
    columns = list(roles.columns)
    missing = []
    for column in columns:
        series = frame[column]
        bad = series.isna().to_numpy().copy()
        if is_numeric_column(series):
            bad |= ~np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            missing.append((column, int(bad.sum())))
    clean, _ = complete_rows(frame, columns)
    check_usable(roles, len(clean), 0)
    codes, levels = factor_codes(clean[roles.group])
    check_usable(roles, len(clean), len(levels))
    # Sizes from the same codes that name the levels (a TRUE/FALSE column's labels
    # are spelled as R spells them, which str() of the values is not).
    sizes = tuple(int(k) for k in np.bincount(codes, minlength=len(levels)))
    report = ValidationReport(
        n_rows=len(frame),
        n_used=len(clean),
        missing_by_column=tuple(missing),
        group_levels=levels,
        group_sizes=sizes,
    )
    return replace(report, warnings=tuple(report_warnings(clean, roles, report)))


def report_warnings(clean: pd.DataFrame, roles: Roles, report: ValidationReport) -> list[str]:
    """The report's cautions: few or single-row groups, decimal group labels, a constant
    predictor, a two-valued outcome (``clean``: the complete rows, or a sample of them)."""
    out: list[str] = []
    g, n = report.n_groups, report.n_used
    if g < FEW_GROUPS:
        out.append(
            f"Only {g} groups: the variance between groups is estimated from {g} group "
            "effects, so variance estimates will be imprecise (and random slopes may not be "
            "identifiable). Mixed models work best with 10 or more groups."
        )
    singletons = sum(1 for s in report.group_sizes if s == 1)
    if singletons:
        out.append(
            f"{singletons} of {g} groups have a single row: they inform the average but "
            "nothing about differences within a group."
        )
    if g > n / 2:
        out.append(
            f"{g} groups for {n} rows: most groups have one or two rows. Is {roles.group!r} "
            "really a grouping column and not a row ID?"
        )
    series = clean[roles.group]
    if is_numeric_column(series) and not np.all(np.mod(series.to_numpy(dtype=float), 1) == 0):
        out.append(
            f"The grouping column {roles.group!r} holds decimal numbers; every distinct value "
            "becomes its own group."
        )
    if roles.predictor is not None and clean[roles.predictor].nunique() < 2:
        out.append(
            f"The predictor {roles.predictor!r} has the same value in every row, so no slope "
            "can be estimated."
        )
    if clean[roles.outcome].nunique() < 2:
        out.append(f"The outcome {roles.outcome!r} has the same value in every row.")
    return out


def column_overview(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: kind, missing values, distinct values, an example."""
    rows = []
    for column in frame.columns:
        series = frame[column]
        present = series.dropna()
        rows.append(
            {
                "column": str(column),
                "kind": "numeric" if is_numeric_column(series) else "categorical",
                "missing": int(series.isna().sum()),
                "distinct": int(series.nunique(dropna=True)),
                "example": str(present.iloc[0]) if len(present) else "",
            }
        )
    return pd.DataFrame(rows, columns=["column", "kind", "missing", "distinct", "example"])
