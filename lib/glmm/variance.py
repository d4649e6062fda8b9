"""ICC on the latent scale and Nakagawa's R^2 for a GLMM, as the R package
``performance`` computes them (``icc``, ``r2_nakagawa``; their variances come from
``insight::get_variance``, insight 0.19 / performance 0.10).

Variances (Nakagawa, Johnson & Schielzeth 2017):

* fixed: ``var(X beta)`` over the rows (n - 1 denominator; no offset);
* random: per random term the mean over rows of z_i' Sigma z_i (for a random
  intercept its variance; only effects that are also columns of X, as insight),
  summed over the terms that are not observation-level;
* dispersion: the same for observation-level terms (a grouping factor with one
  level per row, e.g. grouseticks' ``INDEX``): they model overdispersion;
* distribution-specific: binomial pi^2/3 (logit), 1 (probit), pi^2/6 (cloglog);
  Poisson (log link) the lognormal approximation ``log1p(1 / mu)`` with
  ``mu = exp(b0)``, b0 the intercept of the null model (the same random part and
  offset, no fixed predictors) refitted (``insight::null_model``);
* residual = distribution-specific + dispersion.

ICC adjusted = random / (random + residual); unadjusted ("conditional") =
random / (fixed + random + residual). R^2 marginal = fixed / total, conditional =
(fixed + random) / total, total = fixed + random + residual.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.glmm.fit import fit_glmm
from lib.glmm.response import prepare
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec

BINOMIAL_LATENT = {"logit": np.pi**2 / 3.0, "probit": 1.0, "cloglog": np.pi**2 / 6.0}
SMALL_MU = 6.0  # insight warns below this null-model mean count


@dataclass(frozen=True)
class LatentVariances:
    """The variance decomposition on the latent (link) scale and what follows from it.

    Attributes
    ----------
    fixed, random, distribution, dispersion, residual : float
        As ``insight::get_variance``: var.fixed, var.random, var.distribution,
        var.dispersion, var.residual.
    per_term : tuple of (str, float)
        Each random term's variance contribution (group, value), in the fit's order.
    icc_adjusted, icc_unadjusted : float
        ``performance::icc``.
    r2_marginal, r2_conditional : float
        ``performance::r2_nakagawa``.
    null_intercept : float or None
        Poisson: the null model's intercept (mu = exp of it); None for the binomial.
    messages : tuple of str
        Cautions (performance's, in plain words).
    """

    fixed: float
    random: float
    distribution: float
    dispersion: float
    residual: float
    per_term: tuple[tuple[str, float], ...]
    icc_adjusted: float
    icc_unadjusted: float
    r2_marginal: float
    r2_conditional: float
    null_intercept: float | None
    messages: tuple[str, ...]


def null_spec(spec: ModelSpec) -> ModelSpec:
    """``insight::null_model``: the same random part, the intercept alone in the fixed part."""
    return dataclasses.replace(spec, fixed=(), intercept=True)


def latent_variances(
    fit: GlmmFit, frame: pd.DataFrame, spec: ModelSpec, response_family: ResponseFamily
) -> LatentVariances:
    """ICC and R^2 of ``fit`` (of ``spec`` with ``response_family`` to ``frame``).

    The Poisson family refits the null model (same random part and offset).
    """
    prepared = prepare(frame, spec, response_family)
    design = prepared.design
    n = design.nobs
    fixed = float(np.var(design.X @ fit.beta, ddof=1)) if n > 1 else 0.0
    per_term = []
    random = dispersion = 0.0
    for term, vc in zip(design.terms, fit.varcorr, strict=True):
        # mean_i z_i' Sigma z_i (insight's .compute_variance_random), over the effects
        # that are columns of X (insight takes Z from the model matrix by name and
        # drops the others: a slope on a column absent from the fixed part).
        keep = [
            k for k, name in enumerate(term.names)
            if name == "(Intercept)" or name in design.fixef_names
        ]  # fmt: skip
        Z, S = term.Z[:, keep], vc.covariance[np.ix_(keep, keep)]
        value = float(np.einsum("ia,ab,ib->", Z, S, Z) / n)
        per_term.append((term.name, value))
        if term.nlevels == n:
            dispersion += value
        else:
            random += value
    messages = []
    null_intercept = None
    if fit.family == "binomial":
        distribution = BINOMIAL_LATENT[fit.link]
    else:
        null = fit_glmm(frame, null_spec(spec), response_family)
        null_intercept = float(null.beta[0])
        mu = float(np.exp(null_intercept))
        if mu < SMALL_MU:
            messages.append(
                f"The mean count of the null model is {mu:.1f}, below 6: the lognormal "
                "approximation of the Poisson variance is rough there, so treat the ICC "
                f"and R\u00b2 as approximate (performance: mu of {mu:.1f} is too close to zero)."
            )
        distribution = float(np.log1p(1.0 / mu))
    residual = distribution + dispersion
    total = fixed + random + residual
    return LatentVariances(
        fixed=fixed,
        random=random,
        distribution=distribution,
        dispersion=dispersion,
        residual=residual,
        per_term=tuple(per_term),
        icc_adjusted=random / (random + residual),
        icc_unadjusted=random / total,
        r2_marginal=fixed / total,
        r2_conditional=(fixed + random) / total,
        null_intercept=null_intercept,
        messages=tuple(messages),
    )
