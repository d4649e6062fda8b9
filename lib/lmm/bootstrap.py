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


class BootstrapRun:
    """A parametric bootstrap that runs in steps, so that an app can draw a progress bar
    and a Stop button between them and keep the refits done when it is stopped.

    Refit k uses the k-th draws of one seeded stream, so steps of any size give the
    same samples as one call of ``parametric_bootstrap`` with the same seed.
    """

    def __init__(self, fit: LmmFit, design: Design, nsim: int, seed: int | None = None) -> None:
        check_nsim(nsim)
        self.fit, self.nsim = fit, nsim
        self.rng = np.random.default_rng(seed)
        self.sampler = Resampler(fit, design)
        self.rows: list[np.ndarray] = []
        self.failed = 0
        self.seconds = 0.0

    @property
    def done(self) -> int:
        """Refits attempted so far (completed or failed)."""
        return len(self.rows) + self.failed

    @property
    def finished(self) -> bool:
        return self.done >= self.nsim

    def step(self, refits: int) -> int:
        """Up to ``refits`` more refits (never past ``nsim``); returns ``done``."""
        start = time.perf_counter()
        sampler = self.sampler
        with blas.single_thread():
            for _ in range(min(refits, self.nsim - self.done)):
                estimates = sampler.refit(sampler.with_outcome(sampler.simulate(self.rng)))
                if estimates is None:
                    self.failed += 1
                else:
                    self.rows.append(estimates)
        self.seconds += time.perf_counter() - start
        return self.done

    def samples(self) -> BootstrapSamples:
        """The refits so far (``stopped`` when fewer than ``nsim`` were attempted)."""
        k = len(parameter_estimates(self.fit))
        values = np.array(self.rows) if self.rows else np.empty((0, k))
        return BootstrapSamples(values=values, failed=self.failed, stopped=not self.finished)

    def intervals(self, level: float = 0.95) -> Intervals:
        """Percentile intervals of the refits so far, at any ``level``."""
        return percentile_intervals(self.fit, self.samples(), level, self.seconds)


def check_nsim(nsim: int) -> None:
    if not (isinstance(nsim, int) and 1 <= nsim <= MAX_NSIM):
        from lib.errors import SpecError

        raise SpecError(f"The number of bootstrap refits must be 1 to {MAX_NSIM}, not {nsim!r}.")


def parametric_bootstrap(
    fit: LmmFit,
    design: Design,
    nsim: int = 500,
    seed: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    stop: Callable[[], bool] | None = None,
) -> BootstrapSamples:
    """``nsim`` refits of outcomes simulated from ``fit`` (lme4's ``bootMer``)."""
    run = BootstrapRun(fit, design, nsim, seed)
    while not run.finished:
        if stop is not None and stop():
            break
        run.step(1)
        if progress is not None:
            progress(run.done, nsim)
    return run.samples()


def percentile_intervals(
    fit: LmmFit, samples: BootstrapSamples, level: float, seconds: float
) -> Intervals:
    """``confint(method = "boot")``'s percentile intervals of bootstrap samples (NaN
    where there are none)."""
    check_level(level)
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
        "boot", level, tuple(rows), seconds, nsim=len(samples.values), stopped=samples.stopped
    )


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
    return percentile_intervals(fit, samples, level, time.perf_counter() - start)
