"""Column roles: which column is the outcome, the predictor, the grouping factors; how
they are guessed from a new table, and the checks a choice of roles must pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.model.spec import GroupLevel
from lib.table.columns import (
    PREDICTOR_WORDS,
    is_numeric_column,
    looks_like_group,
    missing_column_message,
    non_numeric_example,
    not_numeric_error,
    outcome_score,
    tokens,
)


@dataclass(frozen=True)
class Roles:
    """Which column plays which part in the models.

    Attributes
    ----------
    outcome : str
        Numeric response.
    predictor : str or None
        The numeric predictor drawn on the x axis; it gets the fixed and/or
        random slope. None when the data have no second numeric column.
    group : str
        Grouping factor (schools, pigs, firms...), the top level.
    covariates : tuple of str
        Further fixed-effect predictors (numeric or categorical).
    levels : tuple of GroupLevel
        Lower grouping columns, each nested in or crossed with the level above
        (``class`` nested in ``school``); empty for a two-level model.
    """

    outcome: str
    predictor: str | None
    group: str
    covariates: tuple[str, ...] = ()
    levels: tuple[GroupLevel, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "levels", tuple(self.levels))

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The grouping columns, top level first."""
        return (self.group, *(level.column for level in self.levels))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the roles use, without duplicates."""
        names = (self.outcome, self.predictor, *self.group_columns, *self.covariates)
        return tuple(dict.fromkeys(n for n in names if n is not None))


def numeric_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """Columns usable as outcome or predictor (real numbers, not booleans)."""
    return tuple(c for c in frame.columns if is_numeric_column(frame[c]))


def _group_score(frame: pd.DataFrame, column: str) -> float | None:
    series = frame[column]
    n_levels = series.nunique(dropna=True)
    n = int(series.notna().sum())
    if n_levels < 2 or n_levels > max(2, n // 2):
        return None
    score = 0.0
    if looks_like_group(column):
        score += 4
    if not is_numeric_column(series):
        score += 2
    else:
        values = series.dropna().to_numpy(dtype=float)
        # Only whole numbers can be group codes; inf and NaN are not (and np.mod of
        # them warns).
        if not np.all(np.isfinite(values)) or not np.all(np.mod(values, 1) == 0):
            return None
    # Between two otherwise equal candidates, more groups make a better mixed model.
    return score + min(n_levels, 1000) / 1000


def guess_roles(frame: pd.DataFrame) -> Roles:
    """Guess outcome, predictor and grouping column from names and types.

    The group is a column with repeated values (2 to n/2 distinct), preferring
    text columns and names such as ``school``, ``classe`` or ``*_id``. The outcome
    is the numeric column that looks most like one (``lib.table.columns.outcome_score``:
    names such as ``score`` or ``Résultat`` in several languages, decimals with many
    distinct values; not an integer column with few values such as an age of
    14-17); the predictor prefers names such as ``time`` or ``age``, else the first
    remaining numeric column.

    Raises
    ------
    DataError
        When no numeric column or no grouping column can be found.
    """
    scores = {c: s for c in frame.columns if (s := _group_score(frame, c)) is not None}
    numeric = [c for c in numeric_columns(frame) if frame[c].nunique() > 2]
    if not numeric:
        numeric = list(numeric_columns(frame))
    if not numeric:
        raise DataError(
            "The data have no numeric column to use as the outcome; columns are "
            f"{', '.join(map(str, frame.columns[:10]))}."
        )
    if not scores:
        # Nothing looks like a group: take any other column with repeated values and
        # let the validation report explain what is wrong with it.
        others = [c for c in frame.columns if c != numeric[-1] and frame[c].nunique() >= 2]
        if not others:
            raise DataError(
                "No column can serve as the grouping factor (a column whose values repeat, "
                "e.g. a school name or subject ID); add one to the data."
            )
        scores = {others[0]: 0.0}
    group = max(scores, key=lambda c: scores[c])
    candidates = [c for c in numeric if c != group] or numeric
    # Ties go to the later column (an outcome is often the last column of a table).
    ranked = [(outcome_score(frame[c], c), k) for k, c in enumerate(candidates)]
    outcome = candidates[max(ranked)[1]]
    rest = [c for c in candidates if c != outcome]
    plain = [c for c in rest if not looks_like_group(c)] or rest
    predictor = next((c for c in plain if tokens(c) & PREDICTOR_WORDS), plain[0] if plain else None)
    return Roles(outcome=outcome, predictor=predictor, group=group)


def check_roles(frame: pd.DataFrame, roles: Roles) -> None:
    """Every role column is in ``frame``; the outcome and predictor are numeric."""
    for column in roles.columns:
        if column not in frame.columns:
            raise DataError(missing_column_message(column, frame.columns))
    for role, column in (("outcome", roles.outcome), ("predictor", roles.predictor)):
        if column is not None and not is_numeric_column(frame[column]):
            raise not_numeric_error(role, column, non_numeric_example(frame[column]))


def check_usable(roles: Roles, n_used: int, n_groups: int) -> None:
    """Refuse roles that leave no complete row (``n_groups`` 0: not counted yet) or fewer
    than 2 groups among the complete rows."""
    if n_used == 0:
        raise DataError(
            f"No row has a value in every chosen column ({', '.join(roles.columns)}); choose "
            "columns with fewer missing values."
        )
    if 0 < n_groups < 2:
        raise DataError(
            f"The grouping column {roles.group!r} has {n_groups} distinct value(s) in the "
            "usable rows; a multilevel model needs at least 2 groups. Choose another column."
        )
