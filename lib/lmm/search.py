"""The theta search: from which start, and which of ``lib.lmm.optimize``'s stages run.

One term (``one_term_search``; every solve batched across levels and thetas):

1. the start. With few levels the surface can have several local minima near
   the boundary (statsmodels' MixedLM missed lme4's optimum in 16 of 20 such
   fits with 3 groups, measured before this engine was written), so for few
   levels and q <= 2 it is the best point of a grid over the random-effect SDs
   and correlation (``grid_thetas``), all evaluated in one call, then of a
   finer grid around that point (``refine_thetas``, one more call; on 52 fits
   with few levels 7% fewer solves in all, the tutorial's model 8 instead of
   11, criteria equal to 5e-14 relative). For few levels and q > 2, three
   scaled identity starts; otherwise the better of lme4's start (the identity
   block) and per-level least squares (``moment_theta``);
2. from the grid's best point projected Newton steps go first: they usually
   converge in 4-6 steps, and L-BFGS-B on the exact gradient runs only if they
   do not (when they came in, the tutorial's fit went from 8.7 to 6.1 ms with
   criteria on the reference set unchanged to 3e-11); from the other starts,
   L-BFGS-B. At 10^6 levels the whole search is 12 gradients and 2 criteria
   (1.9 s; 42 s with central differences of the criterion from lme4's start,
   measured);
3. ``optimize.finish``: saddle check, Newton polish, boundary trials.

Several terms (``blocked_search``; one blocked factorisation per solve): BOBYQA
(as lme4 and MixedModels.jl: derivative-free beats differences when a solve is
costly) from the better of lme4's start and the one-term fits
(``one_term_start``), then ``optimize.finish``, on the exact gradient where it
is defined (else on differences).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from lib.lmm.blocked import BlockedModel
from lib.lmm.gradient import GradientParts, blocked_parts, one_term_parts
from lib.lmm.oneterm import OneTermModel
from lib.lmm.optimize import BatchedDeviance, bobyqa, finish, lbfgsb, newton_polish
from lib.lmm.optsummary import OptimizerSummary
from lib.lmm.smallblocks import (
    backward_solve_transposed,
    batched_cholesky,
    forward_solve,
    lower_inverse,
)
from lib.lmm.stats import ModelStats

NEWTON_FIRST_ITER = 30
START_SCALES = (1.0, 0.1, 3.0)
CHEAP_BATCH_CELLS = 10_000  # (theta, level) cells a batched solve handles at per-call cost
MULTISTART_MAX_GROUPS = 50  # with many levels the surface is well behaved; one start suffices
GRID_SD = (0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 5.0)  # random-effect SD / sigma, per unit of z
GRID_CORR = (-0.9, -0.5, 0.0, 0.5, 0.9)
REFINE_POINTS = 7  # per parameter, of the finer grid around the grid's best point
POLISH_MAX_RANDOM_EFFECTS = 2000  # above this, one solve is costly and BOBYQA suffices
RESTART_STEP = 1e-3  # relative trust-region radius of the BOBYQA restart near the optimum

SearchResult = tuple[np.ndarray, float, OptimizerSummary]
#: thetas (B, k) -> GradientParts: the factor's criterion and exact gradient at them.
PartsFunction = Callable[[np.ndarray], GradientParts]


def moment_theta(model: OneTermModel) -> np.ndarray | None:
    """A start from per-level least squares (the two-stage moment estimator).

    b_g = (Z_g'Z_g)^-1 Z_g'y_g in each level whose Z_g'Z_g is positive definite;
    sigma^2 from the pooled within-level residual sum of squares; the random
    effects' covariance as the spread of the b_g less their average sampling
    variance sigma^2 (Z_g'Z_g)^-1 (e.g. Swamy 1970, Econometrica 38(2)), its
    eigenvalues kept positive; T its Cholesky factor over sigma. Exact up to
    sampling error when X lies in the span of Z and every level is used, and
    still a start when not: it is only tried against lme4's start. With many
    levels it is within ~1e-4 of the optimum (10^5 levels: L-BFGS-B then needs
    4 gradients instead of 18). None when it cannot be formed.
    """
    layout, t = model.layout, model.term
    q = layout.q
    with np.errstate(all="ignore"):
        L = batched_cholesky(t.ZtZ)
        ok = np.all(np.isfinite(L), axis=(0, 1)) & np.all(
            np.diagonal(L, axis1=0, axis2=1).T > 1e-8 * np.sqrt(t.ZtZ[0, 0] + 1.0), axis=0
        )
        if ok.sum() < max(q + 2, 10):
            return None
        L = L[..., ok]
        b = backward_solve_transposed(L, forward_solve(L, t.Zty[:, ok]))  # (q, G_ok)
        rss = model.stats.yty - float(np.sum(t.Zty[:, ok] * b))
        sigma2 = rss / max(model.nobs - q * int(ok.sum()), 1)
        Linv = lower_inverse(L)
        mean_inverse = np.einsum("cag,cbg->ab", Linv, Linv) / ok.sum()
        cov = np.atleast_2d(np.cov(b)) - sigma2 * mean_inverse
        if not (sigma2 > 0 and np.all(np.isfinite(cov))):
            return None
        w, V = np.linalg.eigh(cov)
        cov = (V * np.maximum(w, 1e-6 * max(float(w.max()), 1e-300))) @ V.T / sigma2
        if not layout.correlated:
            return np.sqrt(np.diag(cov))
        T = np.linalg.cholesky(cov)
    theta = layout.values(T)
    return theta if np.all(np.isfinite(theta)) else None


def grid_thetas(model: OneTermModel) -> np.ndarray:
    """Candidate thetas for q <= 2: SDs on a log-like grid scaled by each z's
    root mean square (so a slope on x in thousands gets a small SD), and for a
    correlated pair a grid of correlations, T = chol of the implied covariance."""
    layout, ZtZ = model.layout, model.term.ZtZ
    rms = np.sqrt(ZtZ[np.arange(layout.q), np.arange(layout.q)].sum(axis=-1) / model.nobs)
    sds = [np.array(GRID_SD) / r for r in rms]
    if layout.q == 1:
        return sds[0][:, None]
    s1, s2, rho = np.meshgrid(sds[0], sds[1], GRID_CORR, indexing="ij")
    s1, s2, rho = s1.ravel(), s2.ravel(), rho.ravel()
    if not layout.correlated:
        return np.unique(np.column_stack([s1, s2]), axis=0)
    # Lower Cholesky factor of [[s1^2, rho s1 s2], [rho s1 s2, s2^2]] in lme4's order.
    return np.column_stack([s1, rho * s2, np.sqrt(1.0 - rho**2) * s2])


def refine_thetas(model: OneTermModel, theta: np.ndarray) -> np.ndarray:
    """A finer grid around a grid point: each SD times REFINE_POINTS factors from 1/2
    to 2 (evenly in log) and, for a correlated pair, the correlation plus as many
    values from -0.2 to 0.2 (kept within +-0.99); T = chol of the implied
    covariance as in ``grid_thetas``."""
    layout = model.layout
    factors = 2.0 ** np.linspace(-1.0, 1.0, REFINE_POINTS)
    if layout.q == 1:
        return (abs(theta[0]) * factors)[:, None]
    if not layout.correlated:
        s1, s2 = np.meshgrid(abs(theta[0]) * factors, abs(theta[1]) * factors, indexing="ij")
        return np.column_stack([s1.ravel(), s2.ravel()])
    sd1, sd2 = abs(theta[0]), float(np.hypot(theta[1], theta[2]))
    rhos = np.clip(theta[1] / sd2 + np.linspace(-0.2, 0.2, REFINE_POINTS), -0.99, 0.99)
    s1, s2, rho = np.meshgrid(sd1 * factors, sd2 * factors, rhos, indexing="ij")
    s1, s2, rho = s1.ravel(), s2.ravel(), rho.ravel()
    return np.column_stack([s1, rho * s2, np.sqrt(1.0 - rho**2) * s2])


def one_term_search(
    model: OneTermModel, reml: bool, parts: PartsFunction | None = None
) -> SearchResult:
    """theta minimising the one-term criterion within lme4's bounds (steps 1-3 above).

    ``parts``: ``gradient.one_term_parts`` for ``model`` (given to share its calls).
    """
    parts = parts or (lambda thetas: one_term_parts(model, thetas, reml))

    def with_gradients(thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        got = parts(thetas)
        return got.criteria(model.nobs, model.p, reml), got.gradients(model.nobs, model.p, reml)

    layout = model.layout
    devfun = BatchedDeviance(
        lambda thetas: model.criteria(thetas, reml),
        with_gradients,
        # Below ~1,000 levels a solve is dominated by numpy's per-call overhead.
        cheap_batches=model.ngroups * (2 * layout.size + 1) <= CHEAP_BATCH_CELLS,
    )
    lower = layout.lower_bounds
    bounds = [(lo if np.isfinite(lo) else None, None) for lo in lower]
    start = layout.start
    few_groups = model.ngroups <= MULTISTART_MAX_GROUPS
    grid_start = few_groups and layout.q <= 2
    if grid_start:
        candidates = np.vstack([start, grid_thetas(model)])
        best = candidates[int(np.argmin(devfun.many(candidates)))]
        stages = [f"start: the best of lme4's start and a grid of {len(candidates) - 1} points"]
        if np.all(np.diag(layout.block(best)) > 0):  # a finer grid around it
            local = np.vstack([best, refine_thetas(model, best)])
            best = local[int(np.argmin(devfun.many(local)))]
            stages[0] += f", then of {len(local) - 1} points around it"
        starts = [best]
    elif few_groups:
        starts = [start * s for s in START_SCALES]
        stages = [f"starts: lme4's start scaled by {', '.join(map(str, START_SCALES))}"]
    else:
        moment = moment_theta(model)
        candidates = np.vstack([start] if moment is None else [start, moment])
        starts = [candidates[int(np.argmin(devfun.many(candidates)))]]
        stages = ["start: the better of lme4's start and per-level least squares"]
    results = []
    for s0 in starts:
        if grid_start:
            # From the grid's best point a few Newton steps usually reach the optimum
            # at a third of L-BFGS-B's cost; L-BFGS-B runs only if they did not.
            counts = dict(devfun.gradients)
            x, converged = newton_polish(devfun, s0, lower, max_iter=NEWTON_FIRST_ITER)
            kind = devfun.gradient_kind_since(counts)
            stages.append(f"Newton steps ({kind})" + ("" if converged else ", not converged"))
            if converged:
                continue
            s0 = x
        counts = dict(devfun.gradients)
        results.append(lbfgsb(devfun, s0, bounds))
        stages.append(f"L-BFGS-B ({devfun.gradient_kind_since(counts)})")
    return finish(devfun, lower, start, results, stages)


def one_term_start(stats: ModelStats, reml: bool) -> np.ndarray:
    """theta from fitting each term on its own (the fast one-term search).

    Alone, a term also absorbs the variance of the others, so these values are
    somewhat too large, but they have the right scale and mutual proportions:
    on InstEval BOBYQA then needs 27 solves instead of 95 from lme4's start
    (all ones). Each one-term fit costs a few batched evaluations.
    """
    parts = []
    for term in stats.terms:
        alone = OneTermModel(replace(stats, terms=(term,), pairs={}))
        theta, criterion, _ = one_term_search(alone, reml)
        parts.append(theta if np.isfinite(criterion) else term.layout.start)
    return np.concatenate(parts)


def blocked_search(
    model: BlockedModel, stats: ModelStats, reml: bool, parts: PartsFunction | None = None
) -> SearchResult:
    """The search for several terms (what lme4's ``lmer`` does before ``summary``).

    ``polish`` (up to 2,000 random effects): the saddle check and Newton steps
    after BOBYQA; on small problems (few levels, flat surfaces near the
    boundary) they are what makes the optimum exact. On large ones a BOBYQA
    restart lands within the criterion's rounding for less: on InstEval the
    Newton steps take the gradient from 5e-3 to 2e-7 but the criterion by only
    1.4e-9 (6e-15 relative), for 1.3 s more (2.45 s to the optimum instead of
    1.2 s; lme4 20 s). ``parts``: ``gradient.blocked_parts`` for ``model``.
    """
    n, p = model.nobs, model.p
    parts = parts or (lambda thetas: blocked_parts(model, thetas, reml))

    def with_gradients(thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        got = parts(thetas)
        return got.criteria(n, p, reml), got.gradients(n, p, reml)

    lower = model.lower_bounds
    polish = sum(t.size for t in model.terms) <= POLISH_MAX_RANDOM_EFFECTS
    devfun = BatchedDeviance(lambda thetas: model.criteria(thetas, reml), with_gradients)
    starts = np.vstack([model.start, one_term_start(stats, reml)])
    start = starts[int(np.argmin(devfun.many(starts)))]
    stages = ["start: the better of lme4's start and the one-term fits", "BOBYQA (nlopt)"]
    results = [bobyqa(devfun, start, lower)]
    if not polish and devfun.best_theta is not None:
        # A restart with a small trust region rebuilds BOBYQA's quadratic model near
        # the optimum: ~30 solves take the criterion from ~1e-12 to ~1e-14 (relative)
        # of the optimum, where the Newton polish would need ~70.
        best = devfun.best_theta.copy()
        step = RESTART_STEP * np.maximum(np.abs(best), 0.01)
        results.append(bobyqa(devfun, best, lower, step=step, ftol_rel=1e-14))
        stages.append("BOBYQA restart near the optimum")
    return finish(
        devfun,
        lower,
        start,
        results,
        stages,
        restart=lambda x0: bobyqa(devfun, x0, lower),
        restart_name="BOBYQA",
        polish=polish,
    )
