"""The outcome of a GLMM as lme4 holds it: y, prior weights, trials and offset.

lme4 1.1-31 ``mkRespMod`` (``R/modular.R``) with R's ``binomial()$initialize``
(``stats/R/family.R``): for ``cbind(s, f)`` the response is the proportion
``s / (s + f)`` with the trials as prior weights; a factor outcome is 0 for its
first level and 1 for every other (a logical: FALSE 0, TRUE 1); a numeric
binomial outcome must lie in [0, 1]; Poisson counts as they are.

Two-valued text or boolean outcomes are turned into 0/1 here, before the design
is built, with the level counted as 1 named (``ResponseFamily.success``; None
takes glmer's rule: the second level in R's factor order, which is sorted text,
FALSE < TRUE, numbers by value). Every refusal says what was seen and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError, SpecError
from lib.glmm.family import Family
from lib.glmm.family import family as make_family
from lib.glmm.pirls import Response
from lib.model.design import Design, build_design
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.model.transforms import with_derived
from lib.table.columns import complete_rows, factor_codes, is_numeric_column


@dataclass(frozen=True)
class OutcomeLevels:
    """Which value of a two-valued text or boolean outcome counts as 1.

    Attributes
    ----------
    failure, success : str
        The labels (R's spelling: ``"TRUE"``/``"FALSE"`` for booleans) counted as 0 and 1.
    chosen : bool
        True when the user named the success level, False for glmer's rule.
    """

    failure: str
    success: str
    chosen: bool


def _example(values: np.ndarray) -> str:
    return f"{float(values[0]):.6g}"


def binary_outcome(
    series: pd.Series, name: str, success: str | None = None
) -> tuple[np.ndarray, OutcomeLevels]:
    """0/1 values of a two-valued text, categorical or boolean column.

    Parameters
    ----------
    series : Series
        The outcome column (rows with a missing value already dropped).
    name : str
        The column's name, for messages.
    success : str or None
        The label counted as 1 (matched as text; for booleans ``"True"``/``"true"``
        also name ``TRUE``). None: glmer's rule, the second of the two levels in R's
        factor order is 1.

    Raises
    ------
    DataError
        More or fewer than two distinct values, or ``success`` not one of them.
    """
    codes, levels = factor_codes(series)
    if len(levels) > 2:
        shown = ", ".join(repr(v) for v in levels[:5]) + (", ..." if len(levels) > 5 else "")
        raise DataError(
            f"The outcome {name!r} of a binomial model must take two values (for example "
            f"pass/fail), but it takes {len(levels)}: {shown}. Choose a two-valued column, "
            "or make one (e.g. 'passed' = grade >= 5) before fitting."
        )
    if len(levels) < 2:
        only = repr(levels[0]) if levels else "no values"
        raise DataError(
            f"The outcome {name!r} takes only one value ({only}) in the rows used, so there "
            "is nothing to model. Choose an outcome that varies."
        )
    if success is None:
        chosen = 1
    else:
        wanted = str(success)
        match = [k for k, v in enumerate(levels) if v == wanted]
        if not match:
            match = [k for k, v in enumerate(levels) if v.lower() == wanted.lower()]
        if len(match) != 1:
            raise SpecError(
                f"The success level {wanted!r} is not a value of the outcome {name!r}; "
                f"use {levels[0]!r} or {levels[1]!r}."
            )
        chosen = match[0]
    y = (codes == chosen).astype(float)
    return y, OutcomeLevels(
        failure=levels[1 - chosen], success=levels[chosen], chosen=success is not None
    )


def binomial_outcome_frame(
    frame: pd.DataFrame, outcome: str, response_family: ResponseFamily
) -> tuple[pd.DataFrame, OutcomeLevels | None]:
    """The frame with a two-valued text/boolean binomial outcome replaced by 0/1.

    Numeric outcomes (and every non-binomial family) are returned unchanged with
    ``None``; ``response_of`` then checks them.
    """
    series = frame[outcome]
    if response_family.family != "binomial":
        return frame, None
    if is_numeric_column(series):
        if response_family.success is None:
            return frame, None
        # A numeric two-valued outcome with a named success (e.g. 0 counted as 1).
        y, levels = binary_outcome(series, outcome, response_family.success)
        return frame.assign(**{outcome: y}), levels
    if response_family.trials is not None:
        raise DataError(
            f"With a trials column the outcome {outcome!r} must count successes (numbers), "
            "but it holds text or categories."
        )
    y, levels = binary_outcome(series, outcome, response_family.success)
    return frame.assign(**{outcome: y}), levels


def response_of(
    y: np.ndarray,
    name: str,
    fam: Family,
    counts: np.ndarray | None,
    offset: np.ndarray | None,
) -> Response:
    """y, prior weights and trials as lme4's ``mkRespMod`` holds them, with checks.

    Parameters
    ----------
    y : ndarray (n,)
        The outcome column (0/1 already for a two-valued text outcome).
    name : str
        Its name, for messages.
    fam : Family
    counts : ndarray (n,) or None
        The trials column of a binomial ``cbind(s, n - s)`` outcome.
    offset : ndarray (n,) or None
    """
    y = np.asarray(y, dtype=float)
    n = y.size
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    if not np.all(np.isfinite(off)):
        raise DataError("The offset column holds infinite values (the log of 0?); drop those rows.")
    ones = np.ones(n)
    if fam.name == "poisson":
        if counts is not None:
            raise SpecError("A Poisson model takes no trials column (use an offset for exposure).")
        negative = y[y < 0]
        if negative.size:
            raise DataError(
                f"The outcome {name!r} of a Poisson model must be counts 0, 1, 2, ..., but it "
                f"holds negative values (for example {_example(negative)})."
            )
        fractional = y[y != np.round(y)]
        if fractional.size:
            raise DataError(
                f"The outcome {name!r} of a Poisson model must be counts 0, 1, 2, ..., but it "
                f"holds values that are not whole numbers (for example {_example(fractional)}). "
                "A measurement is modelled by a linear mixed model (family gaussian); a rate "
                "is a count with the log of its exposure as an offset."
            )
        if y.size and not np.any(y > 0):
            raise DataError(
                f"The count {name!r} is 0 in every row used, so there is nothing to model "
                "(the rate would be estimated as 0)."
            )
        return Response(y=y, weights=ones, trials=ones, offset=off)
    if counts is None:
        if not np.all((y == 0) | (y == 1)):
            values = np.unique(y)
            seen = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
            advice = (
                f" It takes two values ({seen}): name the one that counts as success."
                if values.size == 2
                else " For successes out of a number of trials, name the trials column."
            )
            raise DataError(
                f"The outcome {name!r} of a binomial model must be 0/1 (or two values such "
                f"as pass/fail), or successes with a trials column; it holds {seen}.{advice}"
            )
        _check_both_outcomes(y, name)
        return Response(y=y, weights=ones, trials=ones, offset=off)
    trials = np.asarray(counts, dtype=float)
    if np.any(trials < 1) or np.any(trials != np.round(trials)):
        bad = trials[(trials < 1) | (trials != np.round(trials))]
        raise DataError(
            "The trials column must hold whole numbers of at least 1, but it holds "
            f"{_example(bad)}."
        )
    bad = y[(y < 0) | (y > trials) | (y != np.round(y))]
    if bad.size:
        raise DataError(
            f"The outcome {name!r} must be whole numbers of successes between 0 and the "
            f"trials, but it holds {_example(bad)}."
        )
    _check_both_outcomes(y / trials, name)
    return Response(y=y / trials, weights=trials, trials=trials, offset=off)


def _check_both_outcomes(proportion: np.ndarray, name: str) -> None:
    """A binomial outcome with no successes (or no failures) at all has no odds to model."""
    if proportion.size and np.all(proportion == 0):
        raise DataError(
            f"The outcome {name!r} has no successes in the rows used (every value is 0), so "
            "there is nothing to model; check which value counts as success."
        )
    if proportion.size and np.all(proportion == 1):
        raise DataError(
            f"The outcome {name!r} has no failures in the rows used (every value is a "
            "success), so there is nothing to model; check which value counts as success."
        )


@dataclass(frozen=True, eq=False)
class Prepared:
    """The arrays a GLMM is fitted to (what ``fit_glmm`` and the profile refit use).

    Attributes
    ----------
    design : Design
    family : Family
    response : Response
    n_dropped : int
        Rows left out for a missing value in a used column.
    outcome_levels : OutcomeLevels or None
    """

    design: Design
    family: Family
    response: Response
    n_dropped: int
    outcome_levels: OutcomeLevels | None


def prepare(frame: pd.DataFrame, spec: ModelSpec, response_family: ResponseFamily) -> Prepared:
    """Complete rows, the 0/1 coding of a two-valued outcome, the design and the
    response of ``spec`` with ``response_family`` (with the checks and messages)."""
    if not response_family.generalized:
        raise SpecError("A Gaussian outcome is a linear mixed model: use lib.lmm.fit.")
    fam = make_family(response_family.family, response_family.link)
    trials, offset = response_family.trials, response_family.offset
    extra = list(response_family.columns)
    # Columns the formula computes (I(age^2), log(x)): lib.model.transforms, as build_design.
    frame = with_derived(frame, spec.columns)
    clean, n_dropped = complete_rows(frame, tuple(spec.columns) + tuple(extra))
    for c in extra:
        if not is_numeric_column(clean[c]):
            raise DataError(f"The column {c!r} must be numeric.")
    clean, outcome_levels = binomial_outcome_frame(clean, spec.outcome, response_family)
    design = build_design(clean.reset_index(drop=True), spec)
    counts = None if trials is None else clean[trials].to_numpy(dtype=float)
    off = None if offset is None else clean[offset].to_numpy(dtype=float)
    response = response_of(design.y, design.outcome_name, fam, counts, off)
    return Prepared(design, fam, response, n_dropped, outcome_levels)


def check_outcome(frame: pd.DataFrame, outcome: str, response_family: ResponseFamily) -> None:
    """The checks ``prepare`` makes of the outcome, trials and offset columns (their
    complete rows), without a design: raises the error a fit would. The app reads a
    link's family with it, to ignore a family the data cannot take (``ui.family_link``).

    Raises
    ------
    DataError, SpecError
        As ``prepare``: the outcome does not fit the family, or trials/offset do not fit.
    """
    if not response_family.generalized:
        if not is_numeric_column(frame[outcome]):
            raise DataError(
                f"The outcome {outcome!r} holds text, which a linear model cannot fit; a "
                "two-valued outcome is fitted by a binomial model."
            )
        return
    fam = make_family(response_family.family, response_family.link)
    extra = list(response_family.columns)
    clean, _ = complete_rows(frame, (outcome, *extra))
    for c in extra:
        if not is_numeric_column(clean[c]):
            raise DataError(f"The column {c!r} must be numeric.")
    clean, _ = binomial_outcome_frame(clean, outcome, response_family)
    if not is_numeric_column(clean[outcome]):
        raise DataError(
            f"The outcome {outcome!r} holds text: a {response_family.family} model needs numbers."
        )
    trials, offset = response_family.trials, response_family.offset
    counts = None if trials is None else clean[trials].to_numpy(dtype=float)
    off = None if offset is None else clean[offset].to_numpy(dtype=float)
    response_of(clean[outcome].to_numpy(dtype=float), outcome, fam, counts, off)
