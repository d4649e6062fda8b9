"""Parametric-bootstrap intervals, as ``lme4::bootMer`` and ``confint(method = "boot")``.

lme4's ``simulate.merMod`` draws y* = X beta + Z b* + e* with b* ~ N(0, sigma^2
Lambda Lambda') and e* ~ N(0, sigma^2 I) at the fitted values; ``bootMer``
refits each y* (REML or ML, as the fit) and ``confint`` takes percentile
intervals of the SDs, correlations, sigma and fixed effects (``boot.type =
"perc"``). Only y changes between refits, so only the statistics that involve
y are recomputed (Z'y per term, X'y, y'y); X, Z and every other sum are the
fit's. Each refit is the fit's own theta search (``lib.lmm.search``) on those
statistics.

Seeded with numpy's generator (R's RNG streams cannot be reproduced, so the
numbers differ from lme4's; the tests check coverage and stability instead).
A ``progress(done, total)`` callback and a ``stop()`` flag checked between
refits let an app show a progress bar and a stop button.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from lib.lmm import blas
from lib.lmm.blocked import BlockedModel
from lib.lmm.intervals import (
    IntervalRow,
    Intervals,
    check_level,
    layouts_of,
    parameter_estimates,
)
from lib.lmm.objective import sigma_hat
from lib.lmm.oneterm import OneTermModel
from lib.lmm.parameters import phi_from_theta
from lib.lmm.result import LmmFit
from lib.lmm.search import blocked_search, one_term_search
from lib.lmm.stats import ModelStats, group_sums, model_stats
from lib.model.design import Design

MAX_NSIM = 100_000


@dataclass(frozen=True, eq=False)
class BootstrapSamples:
    """The refits' estimates.

    Attributes
    ----------
    values : ndarray (nsim, k)
        One row per completed refit, columns in ``parameter_estimates`` order.
    failed : int
        Refits whose criterion was not finite (left out, as bootMer reports NA).
    stopped : bool
    """

    values: np.ndarray
    failed: int
    stopped: bool


class Resampler:
    """Simulates outcomes from a fit and refits them on the fit's design."""

    def __init__(self, fit: LmmFit, design: Design) -> None:
        self.fit, self.design = fit, design
        self.stats: ModelStats = model_stats(design)
        self.reml = fit.reml
        self.layouts = layouts_of(fit)
        self.mean = design.X @ fit.beta
        self.blocked = None if len(design.terms) == 1 else BlockedModel(self.stats)
        # Per term the relative factor T, so that b = sigma T u.
        self.T = [
            lay.block(part)
            for lay, part in zip(self.layouts, _split(fit.theta, self.layouts), strict=True)
        ]

    def simulate(self, rng: np.random.Generator) -> np.ndarray:
        """One y* from the fitted model (lme4's ``simulate``)."""
        y = self.mean + self.fit.sigma * rng.standard_normal(self.design.nobs)
        for term, T in zip(self.design.terms, self.T, strict=True):
            b = self.fit.sigma * (T @ rng.standard_normal((term.q, term.nlevels)))  # (q, G)
            y = y + np.einsum("nq,qn->n", term.Z, b[:, term.codes])
        return y

    def with_outcome(self, y: np.ndarray) -> ModelStats:
        """The fit's statistics with y replaced: only Z'y, X'y and y'y change."""
        terms = []
        for t, td in zip(self.stats.terms, self.design.terms, strict=True):
            Zty = np.empty_like(t.Zty)
            for a in range(td.q):
                Zty[a] = group_sums(td.Z[:, a] * y, td.codes, td.nlevels)
            terms.append(replace(t, Zty=Zty))
        return replace(self.stats, terms=tuple(terms), Xty=self.design.X.T @ y, yty=float(y @ y))

    def refit(self, stats: ModelStats) -> np.ndarray | None:
        """The estimates (fixed effects, then SDs/correlations and sigma) of one refit."""
        if self.blocked is None:
            model = OneTermModel(stats)
            theta, criterion, _ = one_term_search(model, self.reml)
        else:
            model = self.blocked
            for k, t in enumerate(stats.terms):
                model.xA[k][-1] = t.Zty.T.reshape(-1)
            model.Xty, model.yty = stats.Xty, stats.yty
            theta, criterion, _ = blocked_search(model, stats, self.reml)
        if not np.isfinite(criterion):
            return None
        sol = model.solve(np.asarray(theta, float))
        sigma = sigma_hat(sol.pwrss, stats.nobs, stats.p, self.reml)
        return np.concatenate([sol.beta, phi_from_theta(np.asarray(theta), sigma, self.layouts)])


def _split(theta: np.ndarray, layouts) -> list:  # noqa: ANN001
    from lib.lmm.theta import split_theta

    return split_theta(theta, layouts)


def parametric_bootstrap(
    fit: LmmFit,
    design: Design,
    nsim: int = 500,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> BootstrapSamples:
    """``nsim`` refits of outcomes simulated from ``fit`` (lme4's ``bootMer``)."""
    if not (isinstance(nsim, int) and 1 <= nsim <= MAX_NSIM):
        from lib.errors import SpecError

        raise SpecError(f"The number of bootstrap refits must be 1 to {MAX_NSIM}, not {nsim!r}.")
    rng = np.random.default_rng(seed)
    sampler = Resampler(fit, design)
    rows, failed, stopped = [], 0, False
    with blas.single_thread():
        for done in range(nsim):
            if stop is not None and stop():
                stopped = True
                break
            estimates = sampler.refit(sampler.with_outcome(sampler.simulate(rng)))
            if estimates is None:
                failed += 1
            else:
                rows.append(estimates)
            if progress is not None:
                progress(done + 1, nsim)
    k = len(fit.beta) + len(parameter_estimates(fit)) - len(fit.beta)
    values = np.array(rows) if rows else np.empty((0, k))
    return BootstrapSamples(values=values, failed=failed, stopped=stopped)


def bootstrap_intervals(
    fit: LmmFit,
    design: Design,
    level: float = 0.95,
    nsim: int = 500,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Intervals:
    """Percentile intervals of ``nsim`` parametric-bootstrap refits (``confint(method =
    "boot")``); a stopped run gives the intervals of the refits done so far (NaN if none)."""
    start = time.perf_counter()
    check_level(level)
    samples = parametric_bootstrap(fit, design, nsim, seed, progress, stop)
    alpha = (1.0 - level) / 2.0
    rows = []
    for c, (effect, group, term, estimate) in enumerate(parameter_estimates(fit)):
        column = samples.values[:, c] if len(samples.values) else np.empty(0)
        if column.size:
            low, high = np.quantile(column, [alpha, 1.0 - alpha])
        else:
            low = high = np.nan
        rows.append(IntervalRow(effect, group, term, estimate, float(low), float(high)))
    return Intervals(
        "boot",
        level,
        tuple(rows),
        time.perf_counter() - start,
        nsim=len(samples.values),
        stopped=samples.stopped,
    )
