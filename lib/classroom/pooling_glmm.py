"""Pooling of proportions and counts: each group's raw rate, the mixed model's estimate
for it and the population's (issue 16).

For a binomial (or Poisson) mixed model the three strategies of ``lib.classroom.pooling``
read on the response scale:

* **no pooling**: each group's own proportion of successes (successes / trials) or its
  mean count;
* **partial pooling**: the model's estimate for the group, the inverse link of its
  linear predictor at the conditional modes (glmer's ``fitted()``), averaged over the
  group's rows. For a random intercept alone this is ``g^{-1}(beta_0 + b_j)`` for every
  row of group j: the conditional mode put on the probability scale;
* **complete pooling**, the population: the inverse link of the fixed part alone
  (``predict(fit, re.form = NA, type = "response")``), averaged over the group's rows
  (for the null model ``g^{-1}(beta_0)`` in every group).

A small group's own proportion is pulled towards the population, as a group mean is in
a linear model; on the probability scale the pull is not linear (a group with 0 of 3
successes does not get a negative estimate), which is why it is shown on that scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import SpecError
from lib.glmm.family import family as make_family
from lib.glmm.response import prepare
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.table.columns import complete_rows, factor_codes


@dataclass(frozen=True, eq=False)
class RatePooling:
    """Raw, partially pooled and population rates per group, on the response scale.

    Attributes
    ----------
    group : str
    family : str
        ``"binomial"`` (rates are proportions) or ``"poisson"`` (mean counts).
    levels : tuple of str
    sizes : ndarray (G,)
        Rows per group used by the fit.
    trials : ndarray (G,)
        Trials per group (binomial; rows for a 0/1 outcome, or for Poisson).
    observed : ndarray (G,)
        No pooling: successes / trials, or the mean count.
    partial : ndarray (G,)
        Partial pooling: the fitted mean with the random effects, averaged over the
        group's rows (weighted by trials).
    population : ndarray (G,)
        Complete pooling: the fitted mean of the fixed part alone, averaged likewise.
    overall : float
        The population estimate of a typical row: the inverse link of the intercept
        (NaN without an intercept).
    """

    group: str
    family: str
    levels: tuple[str, ...]
    sizes: np.ndarray
    trials: np.ndarray
    observed: np.ndarray
    partial: np.ndarray
    population: np.ndarray
    overall: float

    @property
    def pull(self) -> np.ndarray:
        """How much of the way from its own rate to the population's each group moved
        (0: kept its own; 1: took the population's); NaN where they coincide."""
        gap = self.observed - self.population
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(np.abs(gap) > 1e-12, (self.observed - self.partial) / gap, np.nan)


def rate_pooling(
    frame: pd.DataFrame, spec: ModelSpec, family: ResponseFamily, fit: GlmmFit, group: str
) -> RatePooling:
    """Per level of the column ``group``: raw rate, model estimate, population estimate.

    ``frame`` is the data the fit was given; its rows, outcome coding, trials and offset
    are the fit's (``lib.glmm.response.prepare``).
    """
    if not family.generalized:
        raise SpecError("Rate pooling is for a binomial or Poisson model.")
    if group not in spec.columns:
        raise SpecError(f"{group!r} is not a grouping column of the model.")
    prepared = prepare(frame, spec, family)
    design, response = prepared.design, prepared.response
    if design.nobs != fit.nobs:
        raise SpecError("The data do not match the fit (a different number of rows).")
    fixed_mu = prepared.family.linkinv(design.X @ fit.beta + response.offset)
    # y is the proportion of successes, weights the trials (lme4's mkRespMod); 1 for Poisson.
    trials = np.asarray(response.weights, dtype=float)
    clean, _ = complete_rows(frame, tuple(spec.columns) + family.columns)
    codes, levels = factor_codes(clean.reset_index(drop=True)[group])
    G = len(levels)

    def per_group(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values, minlength=G)

    total = per_group(trials)
    names = list(fit.fixef_names)
    overall = (
        float(prepared.family.linkinv(np.array([fit.beta[names.index("(Intercept)")]]))[0])
        if "(Intercept)" in names
        else float("nan")
    )
    return RatePooling(
        group=group,
        family=family.family,
        levels=levels,
        sizes=np.bincount(codes, minlength=G),
        trials=total,
        observed=per_group(response.y * trials) / total,
        partial=per_group(fit.fitted * trials) / total,
        population=per_group(fixed_mu * trials) / total,
        overall=overall,
    )


def rate_table(result: RatePooling) -> pd.DataFrame:
    """One row per group: rows (and trials), raw rate, model estimate, population."""
    what = "proportion" if result.family == "binomial" else "mean count"
    table = pd.DataFrame({result.group: list(result.levels), "rows": result.sizes.astype(int)})
    if result.family == "binomial" and not np.array_equal(result.trials, result.sizes):
        table["trials"] = result.trials.astype(int)
    table[f"observed {what}"] = result.observed
    table["model estimate"] = result.partial
    table["population"] = result.population
    return table


CURVE_POINTS = 41  # points per group curve: smooth at the width of a projected chart
OVERALL = "All (fixed effects)"  # lib.charts.style.OVERALL_LABEL: drawn black and dashed


def group_curves(
    fit: GlmmFit,
    family: ResponseFamily,
    group: str,
    predictor: str,
    x_range: tuple[float, float],
    groups: tuple[str, ...] | None = None,
) -> pd.DataFrame:
    """Each group's fitted curve against ``predictor`` on the response scale: the inverse
    link of (fixed + the group's random intercept and slope) with every other fixed
    effect at 0 and no offset, plus the population's curve (random effects 0) as
    ``OVERALL``. Columns ``group``, ``x``, ``y``, ``CURVE_POINTS`` rows per curve.

    The logistic curves of a binomial model are not parallel on the probability scale
    even when the slopes are equal on the log-odds scale: that is what this draws."""
    factor = next((f for f in fit.ranef if f.group == group), None)
    if factor is None:
        raise SpecError(f"{group!r} is not a grouping factor of the fit.")
    fam = make_family(family.family, family.link)
    names = list(fit.fixef_names)
    beta = dict(zip(names, fit.beta, strict=True))
    a0, b0 = beta.get("(Intercept)", 0.0), beta.get(predictor, 0.0)
    effects = list(factor.names)
    modes = np.asarray(factor.modes, dtype=float)
    da = modes[:, effects.index("(Intercept)")] if "(Intercept)" in effects else 0.0
    db = modes[:, effects.index(predictor)] if predictor in effects else 0.0
    a = a0 + da * np.ones(factor.nlevels)
    b = b0 + db * np.ones(factor.nlevels)
    x = np.linspace(float(x_range[0]), float(x_range[1]), CURVE_POINTS)
    keep = [k for k, v in enumerate(factor.levels) if groups is None or str(v) in set(groups)]
    frames = [
        pd.DataFrame({"group": str(factor.levels[k]), "x": x, "y": fam.linkinv(a[k] + b[k] * x)})
        for k in keep
    ]
    frames.append(pd.DataFrame({"group": OVERALL, "x": x, "y": fam.linkinv(a0 + b0 * x)}))
    return pd.concat(frames, ignore_index=True)
