"""Adaptive Gauss-Hermite quadrature (glmer's nAGQ > 1) for one scalar random effect.

lme4 1.1-31 ``glmerAGQ`` (``src/external.cpp``) and ``GHrule`` (``R/GHrule.R``),
docs/glmm-design.md 1.5. With one scalar term the random effects of different
levels are independent given the data, so the integral over u factorises into one
integral per level j. After PIRLS (u only) at (theta, beta):

    devc0_j = u_j^2 + sum_{i in j} d_i                    (deviance residuals)
    s_j     = 1 / L_jj,    L_jj^2 = 1 + theta^2 sum_{i in j} W_i Z_i^2
    mult_j  = sum_k w_k exp(z_k^2 / 2 - (devc_j(u_j + z_k s_j) - devc0_j) / 2)
    fval    = sum_j devc0_j + log|L|^2 - 2 sum_j log mult_j

with (z_k, w_k) the normalised rule (``sum_k w_k f(z_k) = E f(Z)``, Z ~ N(0, 1)),
from ``numpy.polynomial.hermite_e.hermegauss`` (probabilists' Hermite, the same
nodes as lme4's ``fastGHQuad`` data times sqrt(2)). Because devc uses deviance
residuals, the value leaves out the saturated log-likelihood: glmer's logLik with
nAGQ > 1 is ``-fval / 2`` without it (cbpp: -50.005 against Laplace's -92.026).
With one node (z = 0, w = 1) every mult_j is 1 and fval is the Laplace deviance
less that constant.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from lib.errors import FitError, SpecError
from lib.glmm.laplace import LaplaceObjective, laplace_value
from lib.glmm.pirls import Mode, Pirls
from lib.model.design import Design
from lib.model.spec import ModelSpec

MAX_NODES = 25  # lme4's limit (glmer: "nAGQ must be <= 25")


@cache
def gh_rule(k: int) -> tuple[np.ndarray, np.ndarray]:
    """lme4's ``GHrule(k)``: nodes z and weights w (summing to 1) for E f(Z), Z ~ N(0, 1)."""
    if not 1 <= k <= MAX_NODES:
        raise SpecError(f"nAGQ must be between 1 and {MAX_NODES}, got {k}.")
    z, w = hermegauss(k)
    z = z.copy()
    z[np.abs(z) < 1e-15] = 0.0  # the middle node of an odd rule is exactly 0
    return z, w / w.sum()


def agq_applies(spec: ModelSpec) -> bool:
    """glmer's rule for nAGQ > 1, read from a spec: a single scalar random-effects term
    (one random intercept, or one random slope without an intercept; lme4's
    ``mkGlmerDevfun``, ``R/modular.R``: one grouping factor and one column of Z)."""
    return len(spec.random) == 1 and spec.random[0].q == 1


def check_agq(design: Design, nagq: int) -> None:
    """glmer's rule: nAGQ > 1 only for a single scalar random-effect term."""
    if nagq <= 1:
        return
    if nagq > MAX_NODES:
        raise SpecError(f"nAGQ must be at most {MAX_NODES} (lme4's limit), got {nagq}.")
    if len(design.terms) != 1 or design.terms[0].q != 1:
        # A categorical column alone on the left, (0 + urban | district), looks scalar in
        # the spec (agq_applies) but has one effect per level: say so.
        effects = "; ".join(f"{t.name}: {', '.join(t.names)}" for t in design.terms)
        raise SpecError(
            "Adaptive Gauss-Hermite quadrature (nAGQ > 1) needs a single random intercept "
            "(or one random slope alone) on one grouping factor, as in lme4; this model's "
            f"random effects are {effects}. Use nAGQ = 1 (Laplace) for this model."
        )


def agq_value(pirls: Pirls, mode: Mode, theta: np.ndarray, nagq: int) -> float:
    """glmer's AGQ deviance at a PIRLS mode (one scalar term)."""
    term = pirls.design.terms[0]
    r, fam = pirls.response, pirls.family
    codes, G = term.codes, term.nlevels
    t = float(np.asarray(theta, dtype=float)[0])
    zcol = term.Z[:, 0]
    u = mode.u[0][0]  # (G,)
    _, _, sqrtW = pirls.weights(mode.eta)
    Ljj2 = 1.0 + t * t * np.bincount(codes, weights=(sqrtW * zcol) ** 2, minlength=G)
    scale = 1.0 / np.sqrt(Ljj2)
    d0 = fam.dev_resids(r.y, mode.mu, r.weights)
    devc0 = u * u + np.bincount(codes, weights=d0, minlength=G)
    nodes, weights = gh_rule(nagq)
    mult = np.zeros(G)
    row_step = t * zcol * scale[codes]  # d eta / d z for each row
    for z, w in zip(nodes, weights, strict=True):
        if z == 0.0:
            mult += w
            continue
        eta = mode.eta + z * row_step
        d = fam.dev_resids(r.y, fam.linkinv(eta), r.weights)
        unew = u + z * scale
        devc = unew * unew + np.bincount(codes, weights=d, minlength=G)
        mult += w * np.exp(0.5 * z * z - 0.5 * (devc - devc0))
    if not np.all(mult > 0) or not np.all(np.isfinite(mult)):
        raise FitError("The quadrature underflowed or overflowed at these parameters.")
    return float(devc0.sum() + np.log(Ljj2).sum() - 2.0 * np.log(mult).sum())


class AgqObjective(LaplaceObjective):
    """Stage 2 of glmer with nAGQ > 1: the AGQ deviance over (theta, beta)."""

    def __init__(self, pirls: Pirls, start: Mode, n_theta: int, nagq: int) -> None:
        super().__init__(pirls, start, n_theta, joint=False)
        self.nagq = nagq

    def value(self, params: np.ndarray, mode: Mode) -> float:
        return agq_value(self.pirls, mode, np.asarray(params)[: self.n_theta], self.nagq)

    def __call__(self, params: np.ndarray) -> float:
        try:
            return self.value(params, self.mode(params))
        except FitError:
            return np.inf

    def many(self, params: np.ndarray) -> np.ndarray:
        """Values at each row of ``params`` (written out here so that a faster batched
        Laplace ``many`` can never stand in for the quadrature)."""
        return np.array([self(row) for row in np.atleast_2d(params)])


def stage2_objective(pirls: Pirls, start: Mode, n_theta: int, nagq: int) -> LaplaceObjective:
    """The deviance stage 2 minimises: Laplace (nAGQ = 1) or AGQ (nAGQ > 1)."""
    if nagq <= 1:
        return LaplaceObjective(pirls, start, n_theta, joint=False)
    return AgqObjective(pirls, start, n_theta, nagq)


def deviance_at(pirls: Pirls, mode: Mode, theta: np.ndarray, nagq: int) -> float:
    """The fit's deviance (-2 logLik as glmer reports it) at a mode."""
    if nagq <= 1:
        return laplace_value(pirls, mode)
    return agq_value(pirls, mode, theta, nagq)
