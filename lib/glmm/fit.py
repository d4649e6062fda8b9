"""Fit a binomial or Poisson mixed model as glmer does (Laplace, nAGQ = 1).

lme4 1.1-31 ``glmer`` (``R/lmer.R``) and ``optimizeGlmer`` (``R/modular.R``),
docs/glmm-design.md 1.4:

1. an initial PIRLS at theta = lme4's start from mu = ``mustart``;
2. stage 1 (nAGQ = 0): BOBYQA over theta, PIRLS joint over (u, beta);
3. stage 2: BOBYQA over (theta, beta) with beta in the offset, from the end of
   stage 1, with lme4's initial steps (0.2 x (0.1 per theta, min(SE_RX, 10))).
   glmer's default second optimiser is Nelder-Mead; BOBYQA with a tight tolerance
   reaches lme4's own optimum (what ``optimizer = "bobyqa"`` with ``rhoend = 1e-10``
   finds), not Nelder-Mead's stopping point.

Standard errors: glmer's default ``vcov`` is 2 H^{-1}[beta, beta] with H the
Hessian of the deviance over (theta, beta); here H is numDeriv's Richardson
Hessian (``lib.lmm.numderiv``) of the converged-PIRLS deviance, which is smooth
(glmer's plain central differences of its lagged deviance carry ~1e-6 relative
noise, docs/glmm-design.md 1.6).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
from scipy import stats as sstats

from lib.errors import FitError, SpecError
from lib.glmm.agq import MAX_NODES, check_agq, deviance_at, stage2_objective
from lib.glmm.convergence import convergence_records
from lib.glmm.family import Family
from lib.glmm.laplace import LaplaceObjective
from lib.glmm.pirls import Mode, Pirls, Response, joint_solution
from lib.glmm.response import prepare
from lib.glmm.result import GlmmFit
from lib.lmm.blocked import BlockedSolution
from lib.lmm.fit import QUANTILE_PROBS, SINGULAR_TOL, _ranef_factors, type7_quantiles
from lib.lmm.numderiv import hessians_and_gradients
from lib.lmm.objective import unscaled_vcov
from lib.lmm.optimize import BatchedDeviance, bobyqa
from lib.lmm.result import TermVarCorr
from lib.lmm.stats import model_stats
from lib.model.design import Design
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec

STAGE1_FTOL_REL = 1e-12
STAGE2_FTOL_REL = 1e-15


def fit_glmm(
    frame: pd.DataFrame,
    spec: ModelSpec,
    response_family: ResponseFamily,
    nagq: int = 1,
) -> GlmmFit:
    """Fit ``spec`` (``spec.reml`` is ignored: a GLMM is fitted by its Laplace
    likelihood) with the family, link, trials and offset of ``response_family``;
    ``trials`` names the column of trials when the outcome counts successes,
    ``offset`` a column added to the linear predictor as it is (e.g. log exposure).
    ``nagq``: 1 for the Laplace fit, 0 for glmer's ``nAGQ = 0`` (beta profiled out
    by PIRLS, stage 1 only), 2..25 for adaptive Gauss-Hermite quadrature with that
    many nodes (one scalar random effect only; ``lib.glmm.agq``)."""
    start_time = time.perf_counter()
    prepared = prepare(frame, spec, response_family)
    fit = fit_glmm_design(prepared.design, prepared.family, prepared.response, start_time, nagq)
    return dataclasses.replace(
        fit, n_dropped=prepared.n_dropped, outcome_levels=prepared.outcome_levels
    )


def fit_glmm_design(
    design: Design,
    fam: Family,
    response: Response,
    start_time: float | None = None,
    nagq: int = 1,
) -> GlmmFit:
    """The two stages, the Hessian and the packaging, from prepared arrays
    (``nagq = 0``: stage 1 only, as ``glmer(nAGQ = 0)``)."""
    if not 0 <= nagq <= MAX_NODES:
        raise SpecError(f"nAGQ must be between 0 and {MAX_NODES}, got {nagq}.")
    check_agq(design, nagq)
    start_time = time.perf_counter() if start_time is None else start_time
    pirls = Pirls(design, fam, response)
    lower = np.concatenate([lay.lower_bounds for lay in pirls.layouts])
    theta0 = np.concatenate([lay.start for lay in pirls.layouts])
    k = theta0.size
    p = design.X.shape[1]
    u_zero = [np.zeros((t.q, t.nlevels)) for t in design.terms]
    eta_start = fam.linkfun(fam.mustart(response.y, response.weights))
    initial = pirls.run(theta0, u_zero, np.zeros(p), joint=True, eta0=eta_start)

    stage1 = LaplaceObjective(pirls, initial, k, joint=True)
    dev1 = BatchedDeviance(stage1.many)
    res1 = bobyqa(dev1, theta0, lower, ftol_rel=STAGE1_FTOL_REL)
    theta1 = boundary_check(stage1, np.asarray(res1.x, dtype=float), lower)
    end1 = stage1.mode(theta1)
    if nagq == 0:
        # glmer(nAGQ = 0) stops here; its vcov is the R_X one (conditional on theta).
        joint = joint_solution(pirls, end1, theta1)
        vcov = unscaled_vcov(joint.RXt)
        fit = package(
            design,
            fam,
            pirls,
            end1,
            joint,
            theta1,
            end1.beta,
            vcov,
            (dev1.evaluations, 0),
            start_time,
            nagq,
        )
        records = convergence_records(fit, pirls.layouts, design.terms, (res1,), theta0)
        return dataclasses.replace(fit, **records)

    stage2 = stage2_objective(pirls, end1, k, nagq)
    se_rx = np.sqrt(np.diag(unscaled_vcov(end1.solution.RXt)))
    step = 0.2 * np.concatenate([np.full(k, 0.1), np.minimum(se_rx, 10.0)])
    dev2 = BatchedDeviance(stage2.many)
    lower2 = np.concatenate([lower, np.full(p, -np.inf)])
    res2 = bobyqa(
        dev2, np.concatenate([theta1, end1.beta]), lower2, step=step, ftol_rel=STAGE2_FTOL_REL
    )
    params = np.asarray(res2.x, dtype=float)
    if dev2.best_theta is not None and dev2.best_value < stage2(params):
        params = dev2.best_theta
    params = boundary_check(stage2, params, lower)
    mode = stage2.mode(params)
    theta, beta = params[:k], params[k:]
    # The Hessian's evaluations start PIRLS from the optimum's modes: fewer iterations.
    hessian_objective = stage2_objective(pirls, mode, k, nagq)
    vcov, H, g = hessian_vcov(hessian_objective, params, k, lower)
    joint = joint_solution(pirls, mode, theta)
    fit = package(
        design,
        fam,
        pirls,
        mode,
        joint,
        theta,
        beta,
        vcov,
        (dev1.evaluations, dev2.evaluations),
        start_time,
        nagq,
    )
    records = convergence_records(fit, pirls.layouts, design.terms, (res1, res2), theta0, H, g)
    return dataclasses.replace(fit, **records)


def boundary_check(
    objective: LaplaceObjective, params: np.ndarray, lower: np.ndarray, tol: float = 1e-5
) -> np.ndarray:
    """lme4's ``check.boundary`` (``optimizeGlmer``): thetas within ``tol`` of their
    bound set onto it, kept if the deviance is not higher there."""
    k = lower.size
    near = (params[:k] - lower) < tol
    if not near.any():
        return params
    trial = params.copy()
    trial[:k][near] = lower[near]
    return trial if objective(trial) <= objective(params) else params


def hessian_vcov(
    objective: LaplaceObjective, params: np.ndarray, k: int, lower: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2 H^{-1}[beta, beta], H the Richardson Hessian over (theta, beta); also H
    and the gradient (for lme4's convergence check, ``lib.glmm.convergence``).

    A theta on its bound (a singular fit) is held fixed: H is then taken over
    beta and the interior thetas only.
    """
    free = np.ones(params.size, dtype=bool)
    free[:k] = params[:k] > lower + 1e-8

    def at(points: np.ndarray) -> np.ndarray:
        full = np.repeat(params[None, :], points.shape[0], axis=0)
        full[:, free] = points
        return objective.many(full)[:, None]

    (H,), gradients = hessians_and_gradients(at, params[free])
    if not np.all(np.isfinite(H)):
        raise FitError("The deviance's Hessian could not be computed at the optimum.")
    inv = np.linalg.inv(H)
    nb = params.size - k
    return 2.0 * inv[-nb:, -nb:], H, np.asarray(gradients).reshape(-1)


def package(
    design: Design,
    fam: Family,
    pirls: Pirls,
    mode: Mode,
    joint: BlockedSolution,
    theta: np.ndarray,
    beta: np.ndarray,
    vcov: np.ndarray,
    evaluations: tuple,
    start_time: float,
    nagq: int,
) -> GlmmFit:
    r = pirls.response
    dev = deviance_at(pirls, mode, theta, nagq)
    npar = theta.size + beta.size
    n = design.nobs
    se = np.sqrt(np.diag(vcov))
    z = beta / se
    blocks = pirls.blocks(theta)
    varcorr = tuple(
        TermVarCorr(group=t.name, names=t.names, covariance=T @ T.T, correlated=t.correlated)
        for t, T in zip(design.terms, blocks, strict=True)
    )
    modes = [T @ uk for T, uk in zip(blocks, mode.u, strict=True)]
    # lme4's condVar: Lambda (L L')^{-1} Lambda' blocks at the mode's weights, sigma = 1.
    condvar = mode.model.conditional_covariances(theta, mode.solution, 1.0)
    ranef = _ranef_factors(model_stats(design), modes, condvar, 1.0)
    # Pearson residuals sqrt(w / V(mu)) (y - mu) (lme4's wtres; sigma = 1, so scaled
    # = raw): summary's "Scaled residuals" are their type-7 quantiles.
    pearson = np.sqrt(r.weights / fam.variance(mode.mu)) * (r.y - mode.mu)
    lower = np.concatenate([lay.lower_bounds for lay in pirls.layouts])
    return GlmmFit(
        family=fam.name,
        link=fam.link,
        nagq=nagq,
        fixef_names=design.fixef_names,
        beta=beta.copy(),
        se=se,
        z=z,
        p_value=2.0 * sstats.norm.sf(np.abs(z)),
        vcov=vcov,
        vcov_conditional=unscaled_vcov(joint.RXt),
        theta=theta.copy(),
        varcorr=varcorr,
        ranef=ranef,
        deviance=dev,
        deviance_conditional=float(fam.dev_resids(r.y, mode.mu, r.weights).sum()),
        loglik=-dev / 2.0,
        aic=dev + 2.0 * npar,
        bic=dev + np.log(n) * npar,
        df_resid=n - npar,
        nobs=n,
        n_dropped=design.n_dropped,
        pearson_residuals=pearson,
        scaled_resid_quantiles=type7_quantiles(pearson, QUANTILE_PROBS),
        singular=bool(np.any(theta[lower == 0.0] < SINGULAR_TOL)),
        fitted=mode.mu,
        eta=mode.eta,
        evaluations=tuple(int(e) for e in evaluations),
        fit_seconds=time.perf_counter() - start_time,
    )
