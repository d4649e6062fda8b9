"""What an outcome column holds, and the family of model that fits it (issue 16).

A 0/1 column, a TRUE/FALSE column or a column of two text values ("pass"/"fail",
"Y"/"N") is a two-valued outcome: a binomial (logistic) mixed model, glmer's
``family = binomial``, fits it; a linear model would treat it as a measurement.
A column of non-negative whole numbers most of which are small (ticks on a grouse,
visits, errors) is a count: a Poisson model fits it. Anything else is a measurement
for ``lmer``. The app suggests the family from this and the user can change it.

For a two-valued outcome, which value counts as 1 matters for the signs of every
estimate. glmer's rule (``mkRespMod`` in lme4's ``R/modular.R``: a factor's first
level is failure, every other level success) in R's level order (``factor_levels``:
FALSE < TRUE, numbers numerically, text by code point) is the default here too; the
app names the level and lets the user choose the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError
from lib.table.columns import factor_codes, is_numeric_column

BINARY = "binary"  # two values
COUNT = "count"  # non-negative whole numbers, mostly small
MEASUREMENT = "measurement"  # anything else numeric
OTHER = "other"  # text with more than two values: no family fits it

SMALL_COUNT = 10  # a count outcome has at least half its values at or below this
FAMILY_OF_KIND = {BINARY: "binomial", COUNT: "poisson", MEASUREMENT: "gaussian"}


@dataclass(frozen=True)
class OutcomeKind:
    """What an outcome column holds.

    Attributes
    ----------
    column : str
    kind : str
        ``"binary"``, ``"count"``, ``"measurement"`` or ``"other"``.
    numeric : bool
        Whether the column is numeric (a 0/1 column; not TRUE/FALSE or text).
    levels : tuple of str
        For a two-valued outcome, its two values in R's level order (the first is
        glmer's failure); empty otherwise.
    zero_one : bool
        A numeric 0/1 outcome (fits as it is, with no success level to choose).
    n_values : int
        Distinct non-missing values.
    """

    column: str
    kind: str
    numeric: bool
    levels: tuple[str, ...] = ()
    zero_one: bool = False
    n_values: int = 0

    @property
    def suggested_family(self) -> str | None:
        """``"binomial"``, ``"poisson"`` or ``"gaussian"``; None when no family fits."""
        return FAMILY_OF_KIND.get(self.kind)

    @property
    def default_success(self) -> str | None:
        """glmer's success level of a two-valued outcome (its second level); None for a
        0/1 outcome (1 is success) and other kinds."""
        if self.kind != BINARY or self.zero_one:
            return None
        return self.levels[1]

    @property
    def needs_success(self) -> bool:
        """Whether a user must be able to say which value counts as 1."""
        return self.kind == BINARY and not self.zero_one


def outcome_kind(frame: pd.DataFrame, column: str) -> OutcomeKind:
    """Classify ``frame[column]`` as a two-valued, count or measured outcome."""
    series = frame[column].dropna()
    numeric = is_numeric_column(series)
    if numeric:
        values = series.to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        distinct = np.unique(values)
    else:
        distinct = np.asarray(pd.unique(series), dtype=object)
    n_values = int(distinct.size)
    if n_values == 2:
        levels = factor_codes(series)[1]
        zero_one = numeric and set(distinct.tolist()) == {0.0, 1.0}
        return OutcomeKind(column, BINARY, numeric, levels, zero_one, n_values)
    if not numeric:
        return OutcomeKind(column, OTHER, False, n_values=n_values)
    whole = bool(values.size) and bool(np.all(values >= 0) and np.all(values == np.round(values)))
    if whole and n_values > 2 and np.mean(values <= SMALL_COUNT) >= 0.5:
        return OutcomeKind(column, COUNT, True, n_values=n_values)
    return OutcomeKind(column, MEASUREMENT, True, n_values=n_values)


def binary_outcome(series: pd.Series, success: str) -> pd.Series:
    """A two-valued column as 1.0 where its value is ``success``, 0.0 at the other
    value and NaN where missing (values are compared by their R labels, e.g. "TRUE").

    Raises
    ------
    DataError
        When the column has more than two values or ``success`` is not one of them.
    """
    codes, levels = factor_codes(series)
    name = series.name
    if len(levels) > 2:
        shown = ", ".join(repr(v) for v in levels[:4])
        raise DataError(
            f"The outcome {name!r} has {len(levels)} values ({shown}, ...): a binomial model "
            "needs two (such as pass/fail or 0/1), or counts of successes with a trials column."
        )
    if success not in levels:
        raise DataError(
            f"{success!r} is not a value of the outcome {name!r}; its values are "
            + " and ".join(repr(v) for v in levels)
            + "."
        )
    hit = levels.index(success)
    out = np.where(codes == hit, 1.0, 0.0)
    out[codes < 0] = np.nan
    return pd.Series(out, index=series.index, name=name)


def with_binary_outcome(frame: pd.DataFrame, outcome: str, success: str | None) -> pd.DataFrame:
    """``frame`` with a two-valued ``outcome`` recoded 1/0 by ``success`` (None: glmer's
    rule, the second value in R's level order); a numeric 0/1 outcome with no success
    level named is returned as it is."""
    kind = outcome_kind(frame, outcome)
    if success is None:
        if kind.kind != BINARY or kind.zero_one:
            return frame
        success = kind.default_success
    out = frame.copy()
    out[outcome] = binary_outcome(frame[outcome], str(success))
    return out


def can_be_outcome(series: pd.Series) -> bool:
    """Numeric, or two-valued (TRUE/FALSE, two text values) for a binomial model."""
    return is_numeric_column(series) or series.dropna().nunique() == 2


def outcome_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """The columns that can be the outcome, numeric ones first (the sidebar's options)."""
    numeric = [str(c) for c in frame.columns if is_numeric_column(frame[c])]
    two = [str(c) for c in frame.columns if str(c) not in numeric and can_be_outcome(frame[c])]
    return tuple(numeric + two)
