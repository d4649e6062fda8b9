"""``fit_lmm``: lme4's four steps in order, then packaging into an LmmFit.

lme4: ``lFormula`` (here ``lib.design.build_design``), ``mkLmerDevfun``
(``deviance_function``), ``optimizeLmer`` (``optimize_theta``), ``mkMerMod``
(``package_fit`` below).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import ThreadpoolController

from lib.design import Design, build_design
from lib.errors import FitError
from lib.lmm.blocked import BlockedModel, TermArrays
from lib.lmm.checks import check_design, numeric_guard
from lib.lmm.crossprod import cross_products
from lib.lmm.objective import (
    LOG_2PI,
    ThetaLayout,
    conditional_covariances,
    conditional_modes,
    sigma_hat,
    solve_at,
    unscaled_vcov_beta,
)
from lib.lmm.optimize import optimize_general, optimize_theta
from lib.lmm.result import (
    Conditioning,
    LmmFit,
    OptimizerSummary,
    RanefFactor,
    TermVarCorr,
    VarCorr,
)
from lib.lmm.satterthwaite import (
    SatterthwaiteInputs,
    derivative_inputs,
    satterthwaite_df,
    satterthwaite_inputs,
)
from lib.lmm.variance import icc_and_r2
from lib.spec import ModelSpec

SINGULAR_TOL = 1e-4  # lme4::isSingular's default tolerance


@cache
def _blas_controller() -> ThreadpoolController:
    """Found once: scanning the loaded BLAS libraries costs ~0.4 ms per scan."""
    return ThreadpoolController()


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
    """Fit from prepared arrays (the entry point benchmarks time)."""
    start = time.perf_counter() if start is None else start
    # Every matrix here is tiny (p x p, q x q); multithreaded BLAS only adds
    # wake-up latency, which measured 0.3 s per fit on a busy 2-core machine.
    with _blas_controller().limit(limits=1, user_api="blas"), numeric_guard():
        check_design(design)
        return _fit_design(design, spec, start)


@dataclass(frozen=True, eq=False)
class Optimum:
    """What either solver hands to ``package_fit``: the optimum and its solve.

    ``modes`` and ``condvar_unscaled`` hold one entry per term (in design order):
    b_k of shape (q, G) and Lambda_k [(L L')^{-1}]_kk Lambda_k' of shape (q, q, G).
    """

    theta: np.ndarray
    criterion: float
    optimizer: OptimizerSummary
    layouts: tuple[ThetaLayout, ...]
    beta: np.ndarray
    unscaled_vcov: np.ndarray
    pwrss: float
    modes: list
    condvar_unscaled: list
    satterthwaite: SatterthwaiteInputs | None
    sigma: float


def _fit_design(design: Design, spec: ModelSpec, start: float) -> LmmFit:
    solver = _optimum_one_term if len(design.terms) == 1 else _optimum_blocked
    optimum = solver(design, spec.reml)
    return package_fit(design, spec, optimum, start)


def _not_finite() -> FitError:
    return FitError(
        "The model could not be fitted: the criterion is not finite at any tried "
        "parameter value. Check for a constant outcome or a predictor that is "
        "constant within every group."
    )


def _optimum_one_term(design: Design, reml: bool) -> Optimum:
    """The fast path: one term, every solve batched across groups (``objective``)."""
    term = design.terms[0]
    layout = ThetaLayout(q=term.q, correlated=term.correlated)
    cp = cross_products(design.X, design.y, term.Z, term.codes, term.nlevels)
    theta, criterion, opt = optimize_theta(cp, layout, reml)
    if not np.isfinite(criterion):
        raise _not_finite()
    state = solve_at(theta, cp, layout)
    sigma = sigma_hat(state, design.nobs, reml)
    condvar = conditional_covariances(state, 1.0)
    return Optimum(
        theta=np.asarray(theta, float),
        criterion=float(criterion),
        optimizer=opt,
        layouts=(layout,),
        beta=state.beta,
        unscaled_vcov=unscaled_vcov_beta(state),
        pwrss=state.pwrss,
        modes=[conditional_modes(state)],
        condvar_unscaled=[condvar],
        satterthwaite=satterthwaite_inputs(cp, layout, theta, sigma, reml),
        sigma=sigma,
    )


def _optimum_blocked(design: Design, reml: bool) -> Optimum:
    """Several terms: the blocked Cholesky factor (``blocked``), one theta at a time."""
    layouts = tuple(ThetaLayout(q=t.q, correlated=t.correlated) for t in design.terms)
    model = BlockedModel(
        design.X,
        design.y,
        [
            TermArrays(name=t.name, codes=t.codes, nlevels=t.nlevels, Z=t.Z, layout=lay)
            for t, lay in zip(design.terms, layouts, strict=True)
        ],
    )
    n, p = design.nobs, design.X.shape[1]

    def evaluate(thetas: np.ndarray) -> np.ndarray:
        out = np.full(thetas.shape[0], np.inf)
        for b, theta in enumerate(thetas):
            sol = model.solution_parts(theta)
            if sol is not None:
                out[b] = _deviance(sol.ldL2, sol.ldRX2, sol.pwrss, n, p, reml)
        return out

    theta, criterion, opt = optimize_general(evaluate, model.lower_bounds, model.start)
    if not np.isfinite(criterion):
        raise _not_finite()
    sol = model.solve(theta)
    dof = n - p if reml else n
    sigma = float(np.sqrt(sol.pwrss / dof))

    def devfun_vp(points: np.ndarray) -> np.ndarray:
        out = np.full(points.shape[0], np.nan)
        for b, point in enumerate(points):
            s = model.solution_parts(point[:-1])
            if s is not None:
                out[b] = _deviance_at_sigma(s.ldL2, s.ldRX2, s.pwrss, point[-1], n, p, reml)
        return out

    def covbeta(points: np.ndarray) -> np.ndarray:
        out = np.full((points.shape[0], p * p), np.nan)
        for b, point in enumerate(points):
            s = model.solution_parts(point[:-1])
            if s is not None:
                inv = np.linalg.inv(s.RX)
                out[b] = (point[-1] ** 2 * (inv @ inv.T)).ravel()
        return out

    RX_inv = np.linalg.inv(sol.RX)
    return Optimum(
        theta=np.asarray(theta, float),
        criterion=float(criterion),
        optimizer=opt,
        layouts=layouts,
        beta=sol.beta,
        unscaled_vcov=RX_inv @ RX_inv.T,
        pwrss=sol.pwrss,
        modes=model.conditional_modes(theta, sol),
        condvar_unscaled=model.conditional_covariances(theta, sol, 1.0),
        satterthwaite=derivative_inputs(devfun_vp, covbeta, np.append(theta, sigma), p),
        sigma=sigma,
    )


def _deviance(ldL2: float, ldRX2: float, pwrss: float, n: int, p: int, reml: bool) -> float:
    """REML criterion (eq. 42) or ML deviance (eq. 34) with sigma profiled out."""
    dof = n - p if reml else n
    if not pwrss > 0:
        return np.inf
    dev = ldL2 + dof * (1.0 + LOG_2PI + np.log(pwrss / dof))
    dev = dev + ldRX2 if reml else dev
    return float(dev) if np.isfinite(dev) else np.inf


def _deviance_at_sigma(ldL2, ldRX2, pwrss, sigma, n, p, reml) -> float:  # noqa: ANN001
    """lmerTest's ``devfun_vp``, as ``objective.batch_deviance_at_sigma``."""
    s2 = sigma * sigma
    dev = ldL2 + pwrss / s2 + n * (LOG_2PI + np.log(s2))
    return dev + ldRX2 - p * (LOG_2PI + np.log(s2)) if reml else dev


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


def package_fit(design: Design, spec: ModelSpec, opt: Optimum, start: float) -> LmmFit:
    """Everything lme4's ``summary`` / ``ranef`` / lmerTest report, from the optimum."""
    n, p = design.nobs, design.X.shape[1]
    sigma = opt.sigma
    vcov_beta = sigma**2 * opt.unscaled_vcov
    se = np.sqrt(np.diag(vcov_beta))
    corr = vcov_beta / np.outer(se, se)
    df = satterthwaite_df(opt.satterthwaite, vcov_beta)
    t_values = opt.beta / se
    p_values = 2.0 * stats.t.sf(np.abs(t_values), df)

    terms, offset = [], 0
    fitted = design.X @ opt.beta
    for term, layout, b in zip(design.terms, opt.layouts, opt.modes, strict=True):
        T = layout.block(opt.theta[offset : offset + layout.size])
        offset += layout.size
        terms.append(
            TermVarCorr(
                group=term.name,
                names=term.names,
                covariance=sigma**2 * (T @ T.T),
                correlated=term.correlated,
            )
        )
        fitted = fitted + np.einsum("nq,qn->n", term.Z, b[:, term.codes])
    varcorr = VarCorr(terms=tuple(terms), residual_variance=sigma**2)
    residuals = design.y - fitted
    scaled_q = type7_quantiles(residuals / sigma, (0.0, 0.25, 0.5, 0.75, 1.0))

    npar = p + opt.theta.size + 1
    lower = np.concatenate([lay.lower_bounds for lay in opt.layouts])
    singular = bool(np.any(opt.theta[lower == 0.0] < SINGULAR_TOL))
    icc, r2 = icc_and_r2(design.X, opt.beta, design.fixef_names, varcorr, opt.theta, lower)
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
        n_dropped=design.n_dropped,
        fixef_names=design.fixef_names,
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
        ranef=_ranef_factors(design, opt.modes, opt.condvar_unscaled, sigma),
        fitted=fitted,
        residuals=residuals,
        scaled_resid_quantiles=scaled_q,
        singular=singular,
        conditioning=NO_CONDITIONING,
        optimizer=opt.optimizer,
        icc=icc,
        r2=r2,
        fit_seconds=time.perf_counter() - start,
    )


NO_CONDITIONING = Conditioning(centre=np.zeros(0), scale=np.ones(0), applied=False)


def _ranef_factors(design: Design, modes: list, condvar: list, sigma: float) -> tuple:
    """One RanefFactor per grouping factor; terms on one factor merged, as lme4's ranef()."""
    order = list(dict.fromkeys(t.name for t in design.terms))
    factors = []
    for name in order:
        ks = [k for k, t in enumerate(design.terms) if t.name == name]
        first = design.terms[ks[0]]
        q_total = sum(design.terms[k].q for k in ks)
        G = first.nlevels
        cov = np.zeros((G, q_total, q_total))
        at = 0
        for k in ks:
            q = design.terms[k].q
            cov[:, at : at + q, at : at + q] = sigma**2 * np.transpose(condvar[k], (2, 0, 1))
            at += q
        factors.append(
            RanefFactor(
                group=name,
                levels=first.levels,
                sizes=np.bincount(first.codes, minlength=G),
                names=tuple(n for k in ks for n in design.terms[k].names),
                modes=np.vstack([modes[k] for k in ks]).T.copy(),
                condvar=cov,
            )
        )
    return tuple(factors)
