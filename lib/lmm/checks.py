"""Checks that refuse models the data cannot identify, before any optimisation.

lme4 runs named checks on the model frame before it builds the objective
(``checkNlevels`` and ``checkZdims`` in lme4 1.1-31, ``R/utilities.R``) and stops
with, for example, "number of levels of each grouping factor must be < number
of observations" (``check.nobs.vs.nlev``) or "number of observations (=n) <=
number of random effects (=m) for term (1 + x | g); the random-effects
parameters and the residual variance (or scale parameter) are probably
unidentifiable" (``check.nobs.vs.nRE``). The same rules are applied here to
every random term, with messages in plain language that still quote lme4's
wording so that a user who knows R recognises them.

Two further refusals that lme4 does not make, because they otherwise end in a
fit reported as fine or in a numerical failure deep in the optimiser:

* an outcome that takes one value in every used row (lme4 returns a singular
  fit with a residual variance of about 1e-30; the ICC is then meaningless);
* an outcome that the fixed effects reproduce exactly (residuals all zero);
* values so large or small that their squares overflow or underflow double
  precision (lme4 warns "Some predictor variables are on very different
  scales: consider rescaling"; with 1e300 the sums of squares are infinite).

``numeric_guard`` keeps numerical noise out of the user's way: numpy's
floating-point warnings are silenced for the fit (``np.errstate`` is per
thread, so concurrent app sessions do not interfere) and a ``LinAlgError``
becomes a ``FitError`` with advice instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from lib.errors import DataError, FitError
from lib.model.design import Design, TermDesign

# |value| beyond this and a column's square sums overflow (1e154^2 > 1.8e308) or,
# below the inverse, underflow to zero; 1e150 leaves room for sums over 10^6 rows.
HUGE = 1e150
TINY = 1e-150
# Relative spread below which an outcome counts as constant (rounding noise only).
CONSTANT_RTOL = 1e-12


def check_design(design: Design) -> None:
    """Refuse a design that no mixed model can identify, with a message saying why.

    Parameters
    ----------
    design : Design
        The arrays ``lib.model.design.build_design`` made from the data and the spec.

    Raises
    ------
    DataError
        Values too large or too small to compute with, or a constant outcome.
    FitError
        A grouping factor with as many levels as rows, a term with at least as
        many random effects as rows, or an outcome the fixed effects fit exactly.
    """
    check_scale(design)
    check_outcome_varies(design)
    n = design.nobs
    for term in design.terms:
        check_levels_vs_nobs(term, n)
        check_effects_vs_nobs(term, n)
    check_residual_left(design)


def check_scale(design: Design) -> None:
    """Values whose squares overflow or underflow double precision."""
    columns = [("outcome", design.y, design.outcome_name)]
    columns += [
        ("predictor", design.X[:, k], name)
        for k, name in enumerate(design.fixef_names)
        if name != "(Intercept)"
    ]
    for term in design.terms:
        columns += [
            ("random slope", term.Z[:, k], name)
            for k, name in enumerate(term.names)
            if name != "(Intercept)"
        ]
    for role, values, name in columns:
        largest = float(max(values.max(), -values.min())) if values.size else 0.0
        if largest > HUGE:
            raise DataError(
                f"The {role} {name!r} has values as large as {largest:.3g}; their squares "
                "overflow double precision. Rescale it first (for example divide it by "
                f"1e{int(np.floor(np.log10(largest)))})."
            )
        if 0.0 < largest < TINY:
            raise DataError(
                f"The {role} {name!r} has no value larger than {largest:.3g} in size; their "
                "squares underflow to zero. Rescale it first (for example multiply it by "
                f"1e{-int(np.floor(np.log10(largest)))})."
            )


def check_outcome_varies(design: Design) -> None:
    """An outcome with one value in every used row leaves nothing to model."""
    y = design.y
    spread = float(np.max(y) - np.min(y))
    if spread <= CONSTANT_RTOL * float(np.max(np.abs(y))):
        raise DataError(
            f"The outcome {design.outcome_name!r} has the same value ({y[0]:.6g}) in all "
            f"{design.nobs:,} rows used, so there is no variation to split between and within "
            "groups. Choose an outcome that varies."
        )


def check_levels_vs_nobs(term: TermDesign, nobs: int) -> None:
    """lme4's ``check.nobs.vs.nlev``: every factor needs fewer levels than rows."""
    if term.nlevels >= nobs:
        raise FitError(
            f"Every row is its own group of {term.name!r} ({term.nlevels:,} groups for "
            f"{nobs:,} rows), so differences between groups cannot be told apart from the "
            "residual variation. Choose a grouping column whose values repeat, or fit an "
            "ordinary regression. (lme4: number of levels of each grouping factor must be "
            f"< number of observations (problems: {term.name}))"
        )


def check_effects_vs_nobs(term: TermDesign, nobs: int) -> None:
    """lme4's ``check.nobs.vs.nRE`` for one term.

    lme4 counts the rows of each term's Z' matrix: levels times effects per
    level. An uncorrelated term ``(1 | g) + (0 + x | g)`` is several lme4 terms of
    one effect each, so each counts its levels only.
    """
    per_level = term.q if term.correlated else 1
    n_effects = term.nlevels * per_level
    if nobs <= n_effects:
        shown = term.term.formula() if per_level > 1 else f"(1 | {term.name})"
        raise FitError(
            f"The random term {shown} has {n_effects:,} random effects ({term.nlevels:,} "
            f"groups x {per_level}) for only {nobs:,} rows: the group effects and the "
            "residual variance cannot be told apart. Remove the random slope or use a "
            "grouping column with more rows per group. (lme4: number of observations "
            f"(={nobs}) <= number of random effects (={n_effects}) for term {shown}; the "
            "random-effects parameters and the residual variance (or scale parameter) are "
            "probably unidentifiable)"
        )


def check_residual_left(design: Design) -> None:
    """An outcome the fixed effects fit exactly has no residual variance to estimate."""
    # A least-squares solve over every row cost 0.15 s at 10^6 rows: try the first
    # rows first; only an exact fit there (rare) needs the full check.
    head = min(design.nobs, 1000)
    if head < design.nobs and not _exact_fit(design.X[:head], design.y[:head]):
        return
    if _exact_fit(design.X, design.y):
        raise FitError(
            f"The fixed effects {list(design.fixef_names)} reproduce the outcome "
            f"{design.outcome_name!r} exactly (every residual is zero), so no variance is "
            "left to estimate. Check that the outcome is not computed from a predictor."
        )


def _exact_fit(X: np.ndarray, y: np.ndarray) -> bool:
    # Columns scaled to a largest value of 1 keep the solve well conditioned in any units.
    scale = np.abs(X).max(axis=0)
    scale[scale == 0] = 1.0
    y_scale = float(np.abs(y).max()) or 1.0
    Xs = X / scale
    coef, *_ = np.linalg.lstsq(Xs, y / y_scale, rcond=None)
    return float(np.abs(y / y_scale - Xs @ coef).max()) <= 1e-10


@contextmanager
def numeric_guard() -> Iterator[None]:
    """Silence numpy's floating-point warnings; turn a LinAlgError into a FitError."""
    with np.errstate(all="ignore"):
        try:
            yield
        except np.linalg.LinAlgError as exc:
            raise FitError(
                "The model could not be fitted: a matrix became singular during the "
                f"optimisation ({exc}). The data cannot identify this random part; try a "
                "simpler one (for example without the random slope)."
            ) from exc
