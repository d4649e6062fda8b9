"""From statistics to the optimum: lme4's ``mkLmerDevfun`` + ``optimizeLmer`` steps.

Two solvers produce the same ``Optimum``:

- one term: every solve is batched across levels and across thetas
  (``objective.solve_batch``), with the staged search of ``optimize.optimize_theta``;
- several terms: the blocked Cholesky factor (``blocked.BlockedModel``), one theta
  at a time, searched by BOBYQA (``optimize.optimize_general``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lib.errors import FitError
from lib.lmm.blocked import BlockedModel
from lib.lmm.objective import (
    LOG_2PI,
    ThetaLayout,
    conditional_covariances,
    conditional_modes,
    criterion_gradient,
    sigma_hat,
    solve_at,
    unscaled_vcov_beta,
)
from lib.lmm.optimize import optimize_general, optimize_theta
from lib.lmm.result import OptimizerSummary
from lib.lmm.satterthwaite import (
    GradientParts,
    SatterthwaiteInputs,
    gradient_derivative_inputs,
    profiled_derivative_inputs,
    satterthwaite_inputs,
)
from lib.lmm.stats import ModelStats

POLISH_MAX_RANDOM_EFFECTS = 2000  # above this, one solve is costly and BOBYQA suffices


@dataclass(frozen=True, eq=False)
class Optimum:
    """The optimum and what the solve there gives (before any packaging).

    ``modes`` and ``condvar_unscaled`` hold one entry per term (in ``stats.terms``
    order): b_k of shape (q, G) and Lambda_k [(L L')^{-1}]_kk Lambda_k' of shape
    (q, q, G).
    """

    theta: np.ndarray
    criterion: float
    optimizer: OptimizerSummary
    layouts: tuple[ThetaLayout, ...]
    beta: np.ndarray
    unscaled_vcov: np.ndarray
    modes: list
    condvar_unscaled: list
    satterthwaite: SatterthwaiteInputs
    sigma: float


def layouts_of(stats: ModelStats) -> tuple[ThetaLayout, ...]:
    return tuple(ThetaLayout(q=t.q, correlated=t.correlated) for t in stats.terms)


def optimum(stats: ModelStats, reml: bool) -> Optimum:
    """The REML (or ML) optimum of the model whose statistics are given."""
    if len(stats.terms) == 1:
        return _optimum_one_term(stats, reml)
    return _optimum_blocked(stats, reml)


def _not_finite() -> FitError:
    return FitError(
        "The model could not be fitted: the criterion is not finite at any tried "
        "parameter value. Check for a constant outcome or a predictor that is "
        "constant within every group."
    )


def _optimum_one_term(stats: ModelStats, reml: bool) -> Optimum:
    """The fast path: one term, every solve batched across levels (``objective``)."""
    (layout,) = layouts_of(stats)
    cp = stats.one_term()
    theta, criterion, opt = optimize_theta(cp, layout, reml)
    if not np.isfinite(criterion):
        raise _not_finite()
    state = solve_at(theta, cp, layout)
    sigma = sigma_hat(state, stats.nobs, reml)
    return Optimum(
        theta=np.asarray(theta, float),
        criterion=float(criterion),
        optimizer=opt,
        layouts=(layout,),
        beta=state.beta,
        unscaled_vcov=unscaled_vcov_beta(state),
        modes=[conditional_modes(state)],
        condvar_unscaled=[conditional_covariances(state, 1.0)],
        satterthwaite=satterthwaite_inputs(cp, layout, theta, sigma, reml),
        sigma=sigma,
    )


def _optimum_blocked(stats: ModelStats, reml: bool) -> Optimum:
    """Several terms: the blocked Cholesky factor, one theta at a time."""
    layouts = layouts_of(stats)
    model = BlockedModel(stats, list(layouts))
    theta, criterion, opt = blocked_search(model, stats, reml)
    return _derive(model, stats, layouts, reml, theta, criterion, opt)


def one_term_start(stats: ModelStats, reml: bool) -> np.ndarray:
    """theta from fitting each term on its own (the fast one-term path).

    Alone, a term also absorbs the variance of the others, so these values are
    somewhat too large, but they have the right scale and mutual proportions:
    on InstEval BOBYQA then needs 27 solves instead of 95 from lme4's start
    (all ones). Each one-term fit costs a few batched evaluations.
    """
    parts = []
    for term, layout in zip(stats.terms, layouts_of(stats), strict=True):
        alone = replace(stats, terms=(term,), pairs={})
        theta, criterion, _ = optimize_theta(alone.one_term(), layout, reml)
        parts.append(theta if np.isfinite(criterion) else layout.start)
    return np.concatenate(parts)


def blocked_search(
    model: BlockedModel, stats: ModelStats, reml: bool
) -> tuple[np.ndarray, float, OptimizerSummary]:
    """The theta search alone (what lme4's ``lmer`` does before ``summary``).

    BOBYQA starts from the better of lme4's start and ``one_term_start``.
    """
    n, p = model.nobs, model.p

    def evaluate(thetas: np.ndarray) -> np.ndarray:
        out = np.full(thetas.shape[0], np.inf)
        for b, theta in enumerate(thetas):
            sol = model.solution_parts(theta)
            if sol is not None:
                out[b] = profiled_deviance(sol.ldL2, sol.ldRX2, sol.pwrss, n, p, reml)
        return out

    def with_gradients(thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.full(thetas.shape[0], np.inf)
        grads = np.full(thetas.shape, np.nan)  # NaN: no exact gradient (a variance at 0)
        for b, theta in enumerate(thetas):
            sol = model.solution_parts(theta)
            if sol is None:
                continue
            values[b] = profiled_deviance(sol.ldL2, sol.ldRX2, sol.pwrss, n, p, reml)
            parts = model.gradient_parts(theta, sol, reml)
            if parts is not None:
                dg, dr2 = parts
                grads[b] = criterion_gradient(dg, dr2, sol.pwrss, n, p, reml)
        return values, grads

    small = sum(t.size for t in model.terms) <= POLISH_MAX_RANDOM_EFFECTS
    starts = np.vstack([model.start, one_term_start(stats, reml)])
    theta, criterion, opt = optimize_general(
        evaluate, model.lower_bounds, starts, polish=small, gradient=with_gradients
    )
    if not np.isfinite(criterion):
        raise _not_finite()
    return theta, criterion, opt


def _derive(model, stats, layouts, reml, theta, criterion, opt) -> Optimum:  # noqa: ANN001
    """Everything at the optimum: beta, vcov, conditional modes and variances, df inputs."""
    n, p = stats.nobs, stats.p
    sol = model.solve(theta)
    sigma = float(np.sqrt(sol.pwrss / (n - p if reml else n)))

    def parts(thetas: np.ndarray) -> np.ndarray:
        out = np.full((thetas.shape[0], 2 + p * p), np.nan)
        for b, point in enumerate(thetas):
            s = model.solution_parts(point)
            if s is not None:
                inv = np.linalg.inv(s.RX)
                out[b, 0] = s.ldL2 + (s.ldRX2 if reml else 0.0)
                out[b, 1] = s.pwrss
                out[b, 2:] = (inv @ inv.T).ravel()
        return out

    def gradient_parts(points: np.ndarray) -> GradientParts | None:
        rows = []
        for point in points:
            s = model.solution_parts(point)
            got = None if s is None else model.gradient_parts(point, s, reml)
            if got is None:
                return None
            inv = np.linalg.inv(s.RX)
            rows.append((got[0], got[1], s.pwrss, (inv @ inv.T).ravel()))
        return tuple(np.array(part) for part in zip(*rows, strict=True))

    # Exact gradients where every T is invertible: 2k + 1 solves instead of ~70.
    satterthwaite = gradient_derivative_inputs(
        gradient_parts, np.asarray(theta), sigma, n, p, reml
    ) or profiled_derivative_inputs(parts, np.asarray(theta), sigma, n, p, reml)
    RX_inv = np.linalg.inv(sol.RX)
    return Optimum(
        theta=np.asarray(theta, float),
        criterion=float(criterion),
        optimizer=opt,
        layouts=layouts,
        beta=sol.beta,
        unscaled_vcov=RX_inv @ RX_inv.T,
        modes=model.conditional_modes(theta, sol),
        condvar_unscaled=model.conditional_covariances(theta, sol, 1.0),
        satterthwaite=satterthwaite,
        sigma=sigma,
    )


def profiled_deviance(ldL2: float, ldRX2: float, pwrss: float, n: int, p: int, reml: bool) -> float:
    """REML criterion (eq. 42) or ML deviance (eq. 34) with sigma profiled out; inf if
    undefined."""
    dof = n - p if reml else n
    if not pwrss > 0:
        return np.inf
    dev = ldL2 + dof * (1.0 + LOG_2PI + np.log(pwrss / dof))
    dev = dev + ldRX2 if reml else dev
    return float(dev) if np.isfinite(dev) else np.inf
