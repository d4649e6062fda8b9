"""``fit_lmm``: lme4's four steps in order, then packaging into an LmmFit.

lme4: ``lFormula`` (here ``lib.model.design.build_design``, then ``lib.lmm.stats``
for the one pass over the rows), ``mkLmerDevfun`` + ``optimizeLmer``
(``lib.lmm.optimum.optimum``), ``mkMerMod`` (``package_fit`` below).
``fit_stats`` is the entry point for statistics computed elsewhere (DuckDB,
Spark): the rows are then needed only for a second pass (residuals).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from lib.lmm import blas, conditioning
from lib.lmm.checks import check_design, numeric_guard
from lib.lmm.optimum import Optimum, optimum
from lib.lmm.result import (
    Conditioning,
    LmmFit,
    RanefFactor,
    TermVarCorr,
    VarCorr,
)
from lib.lmm.satterthwaite import satterthwaite_df
from lib.lmm.stats import ModelStats, model_stats
from lib.lmm.theta import split_theta
from lib.lmm.variance import icc_and_r2, variance_fixed
from lib.model.design import Design, build_design
from lib.model.spec import ModelSpec

SINGULAR_TOL = 1e-4  # lme4::isSingular's default tolerance
QUANTILE_PROBS = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, eq=False)
class RowSummaries:
    """What only a second pass over the rows gives, once beta and the modes are known.

    Attributes
    ----------
    scaled_resid_quantiles : ndarray (5,)
        Min, 1Q, median, 3Q, max of (y - fitted) / sigma, R's type-7 quantiles.
    variance_fixed : float
        var(X beta) with the n - 1 denominator (for ICC and R^2).
    fitted, residuals : ndarray (n,) or None
        Kept only when the rows are in memory.
    x_sums : ndarray (p,) or None
        Column sums of X (1'X): ICC and R^2 of a model without a fixed intercept need
        them (``lib.lmm.variance``); None when not computed.
    """

    scaled_resid_quantiles: np.ndarray
    variance_fixed: float
    fitted: np.ndarray | None = None
    residuals: np.ndarray | None = None
    x_sums: np.ndarray | None = None


#: (beta, modes per term as (q, G) in stats order, sigma) -> RowSummaries
SecondPass = Callable[[np.ndarray, list, float], RowSummaries]


def fit_lmm(frame: pd.DataFrame, spec: ModelSpec) -> LmmFit:
    """Fit a linear mixed model with any number of random terms, as ``lmerTest::lmer``.

    Parameters
    ----------
    frame : DataFrame
        The data; rows with a missing or non-finite value in a used column are
        dropped (counted in ``LmmFit.n_dropped``).
    spec : ModelSpec

    Returns
    -------
    LmmFit

    Raises
    ------
    ExplorerError
        DataError / SpecError / FitError with a message saying what to change.
    """
    start = time.perf_counter()
    design = build_design(frame, spec)
    return fit_design(design, spec, start)


def fit_design(design: Design, spec: ModelSpec, start: float | None = None) -> LmmFit:
    """Fit from prepared arrays (the entry point benchmarks time).

    Badly scaled columns are centred and scaled for the search and every number
    is mapped back (``lib.lmm.conditioning``).
    """
    start = time.perf_counter() if start is None else start
    with blas.single_thread(), numeric_guard():
        check_design(design)
        cond = conditioning.choose(design)
        work = conditioning.apply(design, cond) if cond.applied else design
        stats = model_stats(work)
        opt = optimum(stats, spec.reml)
        if cond.applied:
            opt = _map_back(opt, cond, design, spec.reml)
            stats = replace(stats, XtX=design.X.T @ design.X)
        rows = rows_pass(design, opt.beta, opt.modes, opt.sigma)
        return package_fit(stats, spec, opt, rows, start, cond)


def _map_back(opt: Optimum, cond: Conditioning, design: Design, reml: bool) -> Optimum:
    m = conditioning.map_back(
        cond,
        design,
        opt.layouts,
        opt.theta,
        opt.beta,
        opt.unscaled_vcov,
        opt.modes,
        opt.condvar_unscaled,
        opt.satterthwaite.jacobian,
        opt.sigma,
        opt.criterion,
        reml,
    )
    return replace(
        opt,
        theta=m.theta,
        beta=m.beta,
        unscaled_vcov=m.unscaled_vcov,
        modes=m.modes,
        condvar_unscaled=m.condvar_unscaled,
        satterthwaite=replace(opt.satterthwaite, jacobian=m.jacobian),
        sigma=m.sigma,
        criterion=m.criterion,
    )


def fit_stats(
    stats: ModelStats, spec: ModelSpec, second_pass: SecondPass, start: float | None = None
) -> LmmFit:
    """Fit from sufficient statistics; ``second_pass`` computes what needs the rows."""
    start = time.perf_counter() if start is None else start
    with blas.single_thread(), numeric_guard():
        opt = optimum(stats, spec.reml)
        rows = second_pass(opt.beta, opt.modes, opt.sigma)
        return package_fit(stats, spec, opt, rows, start)


def rows_pass(design: Design, beta: np.ndarray, modes: list, sigma: float) -> RowSummaries:
    """The second pass on rows held in memory: fitted values and residuals."""
    fitted = design.X @ beta
    for term, b in zip(design.terms, modes, strict=True):
        fitted = fitted + np.einsum("nq,qn->n", term.Z, b[:, term.codes])
    residuals = design.y - fitted
    return RowSummaries(
        scaled_resid_quantiles=type7_quantiles(residuals / sigma, QUANTILE_PROBS),
        variance_fixed=variance_fixed(design.X, beta),
        fitted=fitted,
        residuals=residuals,
        x_sums=design.X.sum(axis=0),
    )


def type7_quantiles(values: np.ndarray, probs: tuple[float, ...]) -> np.ndarray:
    """R's default (type 7) quantiles with one partial sort for all of them.

    np.quantile re-partitions per probability: 42 ms at 10^6 rows against
    about 10 ms here. h = (n - 1) p; interpolate between order statistics.
    """
    n = values.size
    h = (n - 1) * np.asarray(probs)
    lo = np.floor(h).astype(int)
    hi = np.minimum(lo + 1, n - 1)
    part = np.partition(values, np.unique(np.concatenate([lo, hi])))
    return part[lo] + (h - lo) * (part[hi] - part[lo])


def x_sums_from_stats(stats: ModelStats) -> np.ndarray | None:
    """1'X from the sums of a term with a random intercept (its Z_g'X rows of ones summed
    over the levels), for a fit from sums alone (``lib.aggregate``); None without one."""
    for term in stats.terms:
        if term.term.intercept:
            return term.ZtX[0].sum(axis=1)
    return None


def package_fit(
    stats: ModelStats,
    spec: ModelSpec,
    opt: Optimum,
    rows: RowSummaries,
    start: float,
    cond: Conditioning | None = None,
) -> LmmFit:
    """Everything lme4's ``summary`` / ``ranef`` / lmerTest report, from the optimum."""
    n, p = stats.nobs, stats.p
    sigma = opt.sigma
    vcov_beta = sigma**2 * opt.unscaled_vcov
    se = np.sqrt(np.diag(vcov_beta))
    corr = vcov_beta / np.outer(se, se)
    df = satterthwaite_df(opt.satterthwaite, vcov_beta)
    t_values = opt.beta / se
    # = 2 P(T_df > |t|); scipy.special, not scipy.stats (0.7 s to import in the CLI)
    p_values = 2.0 * special.stdtr(df, -np.abs(t_values))

    terms = []
    parts = split_theta(opt.theta, opt.layouts)
    for term, layout, part in zip(stats.terms, opt.layouts, parts, strict=True):
        T = layout.block(part)
        terms.append(
            TermVarCorr(
                group=term.name,
                names=term.names,
                covariance=sigma**2 * (T @ T.T),
                correlated=term.correlated,
            )
        )
    varcorr = VarCorr(terms=tuple(terms), residual_variance=sigma**2)
    npar = p + opt.theta.size + 1
    lower = np.concatenate([lay.lower_bounds for lay in opt.layouts])
    singular = bool(np.any(opt.theta[lower == 0.0] < SINGULAR_TOL))
    icc, r2 = icc_and_r2(
        rows.variance_fixed,
        stats.XtX,
        stats.nobs,
        stats.fixef_names,
        varcorr,
        opt.theta,
        lower,
        x_sums=rows.x_sums if rows.x_sums is not None else x_sums_from_stats(stats),
    )
    return LmmFit(
        spec=spec,
        formula=spec.formula(),
        reml=spec.reml,
        criterion=opt.criterion,
        loglik=-opt.criterion / 2.0,
        aic=float(opt.criterion + 2 * npar),
        bic=float(opt.criterion + npar * np.log(n)),
        npar=int(npar),
        nobs=n,
        n_dropped=stats.n_dropped,
        fixef_names=stats.fixef_names,
        beta=opt.beta,
        beta_se=se,
        beta_t=t_values,
        beta_df=df,
        beta_p=p_values,
        vcov_beta=vcov_beta,
        fixef_corr=corr,
        theta=opt.theta,
        sigma=sigma,
        varcorr=varcorr,
        ranef=_ranef_factors(stats, opt.modes, opt.condvar_unscaled, sigma),
        fitted=rows.fitted,
        residuals=rows.residuals,
        scaled_resid_quantiles=rows.scaled_resid_quantiles,
        singular=singular,
        conditioning=cond if cond is not None else NO_CONDITIONING,
        optimizer=opt.optimizer,
        icc=icc,
        r2=r2,
        fit_seconds=time.perf_counter() - start,
    )


NO_CONDITIONING = Conditioning(centre=np.zeros(0), scale=np.ones(0), applied=False)


def _ranef_factors(stats: ModelStats, modes: list, condvar: list, sigma: float) -> tuple:
    """One RanefFactor per grouping factor; terms on one factor merged, as lme4's ranef()."""
    factors = []
    for name in dict.fromkeys(t.name for t in stats.terms):
        ks = [k for k, t in enumerate(stats.terms) if t.name == name]
        first = stats.terms[ks[0]]
        q_total = sum(stats.terms[k].q for k in ks)
        cov = np.zeros((first.nlevels, q_total, q_total))
        at = 0
        for k in ks:
            q = stats.terms[k].q
            cov[:, at : at + q, at : at + q] = sigma**2 * np.transpose(condvar[k], (2, 0, 1))
            at += q
        factors.append(
            RanefFactor(
                group=name,
                levels=first.levels,
                sizes=np.asarray(first.counts),
                names=tuple(n for k in ks for n in stats.terms[k].names),
                modes=np.vstack([modes[k] for k in ks]).T.copy(),
                condvar=cov,
            )
        )
    return tuple(factors)
