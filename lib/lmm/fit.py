"""``fit_lmm``: lme4's four steps in order, then packaging into an LmmFit.

lme4: ``lFormula`` (here ``lib.design.build_design``), ``mkLmerDevfun``
(``deviance_function``), ``optimizeLmer`` (``optimize_theta``), ``mkMerMod``
(``package_fit`` below).
"""

from __future__ import annotations

import time
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import ThreadpoolController

from lib.design import Design, build_design
from lib.errors import FitError
from lib.lmm.crossprod import cross_products
from lib.lmm.objective import (
    ThetaLayout,
    conditional_covariances,
    conditional_modes,
    sigma_hat,
    solve_at,
    unscaled_vcov_beta,
)
from lib.lmm.optimize import optimize_theta
from lib.lmm.result import LmmFit, OptimizerSummary, VarCorr
from lib.lmm.satterthwaite import satterthwaite_df, satterthwaite_inputs
from lib.lmm.variance import icc_and_r2
from lib.spec import ModelSpec

SINGULAR_TOL = 1e-4  # lme4::isSingular's default tolerance


@cache
def _blas_controller() -> ThreadpoolController:
    """Found once: scanning the loaded BLAS libraries costs ~0.4 ms per scan."""
    return ThreadpoolController()


def fit_lmm(frame: pd.DataFrame, spec: ModelSpec) -> LmmFit:
    """Fit a linear mixed model with one grouping factor, as ``lmerTest::lmer``.

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
    """Fit from prepared arrays (the entry point benchmarks time)."""
    start = time.perf_counter() if start is None else start
    # Every matrix here is tiny (p x p, q x q); multithreaded BLAS only adds
    # wake-up latency, which measured 0.3 s per fit on a busy 2-core machine.
    with _blas_controller().limit(limits=1, user_api="blas"):
        return _fit_design(design, spec, start)


def _fit_design(design: Design, spec: ModelSpec, start: float) -> LmmFit:
    layout = ThetaLayout(q=design.Z.shape[1], correlated=spec.correlated)
    cp = cross_products(design.X, design.y, design.Z, design.group, design.ngroups)
    theta, criterion, opt = optimize_theta(cp, layout, spec.reml)
    if not np.isfinite(criterion):
        raise FitError(
            "The model could not be fitted: the criterion is not finite at any tried "
            "parameter value. Check for a constant outcome or a predictor that is "
            "constant within every group."
        )
    return package_fit(design, spec, layout, cp, theta, criterion, opt, start)


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


def package_fit(design, spec, layout, cp, theta, criterion, opt: OptimizerSummary, start):
    """Everything lme4's ``summary`` / ``ranef`` / lmerTest report, from the optimum."""
    state = solve_at(theta, cp, layout)
    n, p = design.nobs, design.X.shape[1]
    sigma = sigma_hat(state, n, spec.reml)
    vcov_beta = sigma**2 * unscaled_vcov_beta(state)
    se = np.sqrt(np.diag(vcov_beta))
    corr = vcov_beta / np.outer(se, se)
    sat = satterthwaite_inputs(cp, layout, theta, sigma, spec.reml)
    df = satterthwaite_df(sat, vcov_beta)
    t_values = state.beta / se
    p_values = 2.0 * stats.t.sf(np.abs(t_values), df)

    T = state.T
    covariance = sigma**2 * (T @ T.T)
    b = conditional_modes(state)  # (q, G)
    condvar = conditional_covariances(state, sigma)  # (q, q, G)
    fitted = design.X @ state.beta + np.einsum("nq,qn->n", design.Z, b[:, design.group])
    residuals = design.y - fitted
    scaled_q = type7_quantiles(residuals / sigma, (0.0, 0.25, 0.5, 0.75, 1.0))

    npar = p + layout.size + 1
    loglik = -criterion / 2.0
    lower = layout.lower_bounds
    singular = bool(np.any(theta[lower == 0.0] < SINGULAR_TOL))
    icc, r2 = icc_and_r2(
        design.X,
        state.beta,
        design.fixef_names,
        design.random_names,
        covariance,
        spec.correlated,
        sigma**2,
        theta,
        lower,
    )
    return LmmFit(
        spec=spec,
        formula=spec.formula(),
        reml=spec.reml,
        criterion=float(criterion),
        loglik=float(loglik),
        aic=float(criterion + 2 * npar),
        bic=float(criterion + npar * np.log(n)),
        npar=int(npar),
        nobs=n,
        ngroups=design.ngroups,
        n_dropped=design.n_dropped,
        fixef_names=design.fixef_names,
        beta=state.beta,
        beta_se=se,
        beta_t=t_values,
        beta_df=df,
        beta_p=p_values,
        vcov_beta=vcov_beta,
        fixef_corr=corr,
        theta=np.asarray(theta, float),
        sigma=sigma,
        varcorr=VarCorr(
            names=design.random_names,
            covariance=covariance,
            residual_variance=sigma**2,
            correlated=spec.correlated,
        ),
        group_levels=design.levels,
        group_sizes=np.bincount(design.group, minlength=design.ngroups),
        ranef=b.T.copy(),
        ranef_condvar=np.transpose(condvar, (2, 0, 1)).copy(),
        fitted=fitted,
        residuals=residuals,
        scaled_resid_quantiles=scaled_q,
        singular=singular,
        optimizer=opt,
        icc=icc,
        r2=r2,
        fit_seconds=time.perf_counter() - start,
    )
