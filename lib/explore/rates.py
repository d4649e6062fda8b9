"""Proportions and mean counts per group: the Explore page for a binomial or Poisson
outcome (issue 16), where a group mean of 0/1 values is a proportion and a mean and SD
of counts say whether the counts vary more than a Poisson model allows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError, SpecError
from lib.table.columns import complete_rows, interaction_codes, is_numeric_column


@dataclass(frozen=True, eq=False)
class GroupRates:
    """Per group: rows, trials, successes (or the count total) and the rate.

    Attributes
    ----------
    outcome, group : str
        ``group`` is the factor's name (columns joined by ":").
    family : str
        ``"binomial"``: rate = successes / trials; ``"poisson"``: the mean count.
    levels : tuple of str
    n : ndarray (G,)
        Rows.
    trials : ndarray (G,)
        Trials (binomial; the rows for a 0/1 outcome and for counts).
    total : ndarray (G,)
        Successes, or the sum of the counts.
    rate : ndarray (G,)
    variance : ndarray (G,)
        Poisson: the sample variance of the counts (n - 1; NaN for one row), which a
        Poisson model takes to equal the mean. NaN for binomial.
    overall : float
        The rate over every row (all successes / all trials; the mean count).
    n_dropped : int
    exposure : ndarray (G,) or None
        Poisson with an offset column (the log of exposure): the summed exp(offset), so
        that total / exposure is the group's count per unit of exposure.
    """

    outcome: str
    group: str
    family: str
    levels: tuple[str, ...]
    n: np.ndarray
    trials: np.ndarray
    total: np.ndarray
    rate: np.ndarray
    variance: np.ndarray
    overall: float
    n_dropped: int
    exposure: np.ndarray | None = None


def group_rates(
    frame: pd.DataFrame,
    outcome: str,
    group: Sequence[str],
    family: str,
    trials: str | None = None,
    offset: str | None = None,
) -> GroupRates:
    """Proportions (binomial) or mean counts (Poisson) of ``outcome`` per group.

    ``frame``'s outcome must already be numeric: 0/1 (a two-valued column recoded by
    ``lib.table.outcome_kind.with_binary_outcome``), successes with a ``trials``
    column, or counts.
    """
    if family not in ("binomial", "poisson"):
        raise SpecError(f"Rates are for a binomial or Poisson outcome, not {family!r}.")
    columns = [outcome, *group, *([trials] if trials else []), *([offset] if offset else [])]
    clean, n_dropped = complete_rows(frame, columns)
    if not len(clean):
        raise DataError(f"No row has a value in every column of {', '.join(columns)}.")
    if not is_numeric_column(clean[outcome]):
        raise DataError(f"The outcome {outcome!r} must be 0/1 or counts here.")
    y = clean[outcome].to_numpy(dtype=float)
    codes, levels = interaction_codes(clean, list(group))
    G = len(levels)
    n = np.bincount(codes, minlength=G)
    tr = clean[trials].to_numpy(dtype=float) if trials else np.ones(len(y))
    total_trials = np.bincount(codes, weights=tr, minlength=G)
    total = np.bincount(codes, weights=y, minlength=G)
    variance = np.full(G, np.nan)
    exposure = None
    if offset and family == "poisson":
        exposure = np.bincount(codes, weights=np.exp(clean[offset].to_numpy(float)), minlength=G)
    if family == "poisson":
        square = np.bincount(codes, weights=y * y, minlength=G)
        with np.errstate(invalid="ignore", divide="ignore"):
            variance = np.where(n > 1, (square - total**2 / n) / (n - 1), np.nan)
    return GroupRates(
        outcome=outcome,
        group=":".join(group),
        family=family,
        levels=tuple(levels),
        n=n,
        trials=total_trials,
        total=total,
        rate=total / total_trials,
        variance=variance,
        overall=float(total.sum() / total_trials.sum()),
        n_dropped=n_dropped,
        exposure=exposure,
    )


def rates_table(rates: GroupRates) -> pd.DataFrame:
    """One row per group: rows, (trials,) successes and proportion; or rows, total, mean
    count and variance."""
    table = pd.DataFrame({rates.group: list(rates.levels), "rows": rates.n.astype(int)})
    if rates.family == "binomial":
        if not np.array_equal(rates.trials, rates.n):
            table["trials"] = rates.trials.astype(int)
        table["successes"] = rates.total.astype(int)
        table["proportion"] = rates.rate
    else:
        table["total count"] = rates.total.astype(int)
        table["mean count"] = rates.rate
        table["variance"] = rates.variance
        if rates.exposure is not None:
            table["exposure"] = rates.exposure
            table["count per exposure"] = rates.total / rates.exposure
    return table
