"""Confidence intervals for every parameter, named as broom.mixed's ``tidy()``.

Three methods, as lme4's ``confint.merMod``:

- "wald": estimate +- qnorm((1 + level) / 2) SE for the fixed effects; NaN for
  the variance parameters (lme4 gives NA for them);
- "profile": likelihood-profile intervals for every parameter
  (``lib.lmm.profile``; an ML profile, also for a REML fit, as lme4);
- "boot": parametric-bootstrap percentile intervals (``lib.lmm.bootstrap``).

Rows follow ``tidy()``: fixed effects, then per term its SDs and correlations
(``sd__(Intercept)``, ``cor__(Intercept).x``), then ``sd__Observation`` in group
``Residual``. ``estimate`` is the fit's (REML or ML) estimate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from lib.errors import SpecError
from lib.lmm.parameters import phi_from_theta, scale_parameters
from lib.lmm.result import LmmFit
from lib.lmm.stats import model_stats
from lib.lmm.theta import ThetaLayout
from lib.model.design import Design

METHODS = ("wald", "profile", "boot")


@dataclass(frozen=True)
class IntervalRow:
    """One parameter's interval (broom.mixed's ``effect``, ``group``, ``term``...)."""

    effect: str
    group: str | None
    term: str
    estimate: float
    conf_low: float
    conf_high: float


@dataclass(frozen=True)
class Intervals:
    """Every parameter's interval by one method.

    Attributes
    ----------
    method : str
        "wald", "profile" or "boot".
    level : float
    rows : tuple of IntervalRow
    seconds : float
    nsim : int
        Bootstrap refits completed (0 for the other methods).
    stopped : bool
        True when a bootstrap was stopped before ``nsim`` refits were asked for.
    """

    method: str
    level: float
    rows: tuple[IntervalRow, ...]
    seconds: float
    nsim: int = 0
    stopped: bool = False


def layouts_of(fit: LmmFit) -> tuple[ThetaLayout, ...]:
    return tuple(ThetaLayout(q=len(t.names), correlated=t.correlated) for t in fit.varcorr.terms)


def parameter_estimates(fit: LmmFit) -> list[tuple[str, str | None, str, float]]:
    """(effect, group, term, estimate) in tidy()'s order."""
    rows = [
        ("fixed", None, name, float(b)) for name, b in zip(fit.fixef_names, fit.beta, strict=True)
    ]
    layouts = layouts_of(fit)
    phi = phi_from_theta(fit.theta, fit.sigma, layouts)
    for par, value in zip(scale_parameters(fit.varcorr.terms, layouts), phi, strict=True):
        rows.append(("ran_pars", par.group, par.name, float(value)))
    return rows


def wald_intervals(fit: LmmFit, level: float = 0.95) -> Intervals:
    """lme4's ``confint(method = "Wald")``."""
    from lib.lmm.profile import normal_quantile

    start = time.perf_counter()
    check_level(level)
    z = normal_quantile(level)
    se = dict(zip(fit.fixef_names, fit.beta_se, strict=True))
    rows = []
    for effect, group, term, estimate in parameter_estimates(fit):
        if effect == "fixed":
            rows.append(IntervalRow(effect, group, term, estimate,
                                    estimate - z * se[term], estimate + z * se[term]))  # fmt: skip
        else:
            rows.append(IntervalRow(effect, group, term, estimate, np.nan, np.nan))
    return Intervals("wald", level, tuple(rows), time.perf_counter() - start)


def profile_intervals(fit: LmmFit, design: Design, level: float = 0.95) -> Intervals:
    """lme4's ``confint(method = "profile")`` (ML profiles, also for a REML fit)."""
    from lib.lmm.profile import Profiler

    start = time.perf_counter()
    check_level(level)
    bounds = Profiler(model_stats(design), start=fit.theta).intervals(level)
    found = {(b.effect, b.group, b.term): b for b in bounds}
    rows = []
    for effect, group, term, estimate in parameter_estimates(fit):
        b = found[(effect, group, term)]
        rows.append(IntervalRow(effect, group, term, estimate, b.lower, b.upper))
    return Intervals("profile", level, tuple(rows), time.perf_counter() - start)


def check_level(level: float) -> None:
    if not (isinstance(level, int | float) and 0.0 < float(level) < 1.0):
        raise SpecError(f"The confidence level must be between 0 and 1 (e.g. 0.95), not {level!r}.")


def check_method(method: str) -> str:
    name = str(method).lower()
    if name not in METHODS:
        raise SpecError(f"Unknown interval method {method!r}; choose one of {', '.join(METHODS)}.")
    return name
