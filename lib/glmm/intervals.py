"""Confidence intervals of a GLMM, named as broom.mixed's ``tidy()``.

As lme4's ``confint.merMod`` for a ``glmer`` fit:

- ``wald_intervals``: beta +- qnorm((1 + level) / 2) SE (z-based; SE from the
  Hessian vcov, as glmer's default ``vcov``); NaN for the SDs and correlations
  (lme4 gives NA);
- ``profile_intervals``: likelihood-profile intervals for the fixed effects and
  the random-effect SDs and correlations (``confint(method = "profile")``): for
  each parameter v the signed root deviance

      zeta(v) = sign(v - v_hat) sqrt(min_{others} D(v, others) - D_hat)

  (D the fit's deviance, Laplace or AGQ, minimised over all the other
  parameters by BOBYQA warm-started from the previous point) crosses
  -+qnorm((1 + level) / 2) at the limits. lme4 interpolates a spline through
  sampled points; here the crossing is found directly by regula falsi on zeta.
  An SD whose profile stays below the quantile all the way down to 0 has lower
  limit 0 (lme4 likewise), a correlation one of -1 or 1;
- ``ratio_intervals``: exp() of the fixed-effect rows: odds ratios (logit link)
  or rate ratios (log link), as ``exp(confint(...))``.

Rows follow ``tidy()``: fixed effects (``effect = "fixed"``, ``group`` None), then
per random term its SDs and correlations (``ran_pars``, ``sd__(Intercept)``,
``cor__(Intercept).x``); a GLMM has no ``sd__Observation`` row.
"""

from __future__ import annotations

import time

import nlopt
import numpy as np
import pandas as pd

from lib.errors import FitError, SpecError
from lib.glmm.agq import stage2_objective
from lib.glmm.pirls import Pirls
from lib.glmm.response import prepare
from lib.glmm.result import GlmmFit
from lib.lmm.intervals import IntervalRow, Intervals, check_level
from lib.lmm.parameters import phi_from_theta, scale_parameters, thetas_from_phis
from lib.lmm.profile import normal_quantile
from lib.lmm.theta import ThetaLayout
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec

ZETA_TOL = 2e-4  # |zeta - target|: about 1e-4 of the interval's half width
MAX_STEPS = 30
INNER_FTOL_REL = 1e-12
COR_EDGE = 1.0 - 1e-7


def layouts_of(fit: GlmmFit) -> tuple[ThetaLayout, ...]:
    return tuple(ThetaLayout(q=len(t.names), correlated=t.correlated) for t in fit.varcorr)


def parameter_rows(fit: GlmmFit) -> list[tuple[str, str | None, str, float]]:
    """(effect, group, term, estimate) in tidy()'s order (sigma = 1 is not a parameter)."""
    rows = [
        ("fixed", None, name, float(b)) for name, b in zip(fit.fixef_names, fit.beta, strict=True)
    ]
    layouts = layouts_of(fit)
    phi = phi_from_theta(fit.theta, 1.0, layouts)[:-1]
    params = scale_parameters(fit.varcorr, layouts)[:-1]
    for par, value in zip(params, phi, strict=True):
        rows.append(("ran_pars", par.group, par.name, float(value)))
    return rows


def wald_intervals(fit: GlmmFit, level: float = 0.95) -> Intervals:
    """lme4's ``confint(method = "Wald")`` for a glmer fit (normal quantiles)."""
    start = time.perf_counter()
    check_level(level)
    z = normal_quantile(level)
    se = dict(zip(fit.fixef_names, fit.se, strict=True))
    rows = []
    for effect, group, term, estimate in parameter_rows(fit):
        if effect == "fixed":
            low, high = estimate - z * se[term], estimate + z * se[term]
        else:
            low = high = np.nan
        rows.append(IntervalRow(effect, group, term, estimate, low, high))
    return Intervals("wald", level, tuple(rows), time.perf_counter() - start)


def ratio_intervals(intervals: Intervals) -> Intervals:
    """exp() of the fixed-effect rows (estimate and limits): odds ratios for a logit
    link, rate ratios for a log link. The variance parameters are left out."""
    rows = tuple(
        IntervalRow(
            r.effect,
            r.group,
            r.term,
            float(np.exp(r.estimate)),
            float(np.exp(r.conf_low)),
            float(np.exp(r.conf_high)),
        )  # fmt: skip
        for r in intervals.rows
        if r.effect == "fixed"
    )
    return Intervals(intervals.method, intervals.level, rows, intervals.seconds)


def intervals_frame(intervals: Intervals) -> pd.DataFrame:
    """The rows as broom.mixed's ``tidy(conf.int = TRUE)`` columns."""
    return pd.DataFrame(
        {
            "effect": [r.effect for r in intervals.rows],
            "group": [r.group for r in intervals.rows],
            "term": [r.term for r in intervals.rows],
            "estimate": [r.estimate for r in intervals.rows],
            "conf.low": [r.conf_low for r in intervals.rows],
            "conf.high": [r.conf_high for r in intervals.rows],
        }
    )


class _Profile:
    """The deviance over the profile scale (SDs, correlations, then beta)."""

    def __init__(self, fit: GlmmFit, frame: pd.DataFrame, spec: ModelSpec, rf: ResponseFamily):
        if fit.nagq < 1:
            raise SpecError("Profile intervals need a Laplace or AGQ fit (nAGQ >= 1).")
        prepared = prepare(frame, spec, rf)
        pirls = Pirls(prepared.design, prepared.family, prepared.response)
        self.layouts = pirls.layouts
        self.k = fit.theta.size
        u0 = [np.zeros((t.q, t.nlevels)) for t in prepared.design.terms]
        mode = pirls.run(fit.theta, u0, fit.beta, joint=False)
        self.objective = stage2_objective(pirls, mode, self.k, fit.nagq)
        self.phi_hat = phi_from_theta(fit.theta, 1.0, self.layouts)[:-1]
        self.x_hat = np.concatenate([self.phi_hat, fit.beta])
        self.d_hat = self.objective(np.concatenate([fit.theta, fit.beta]))
        if (
            not np.isfinite(self.d_hat)
            or abs(self.d_hat - fit.deviance) > 1e-6 * abs(fit.deviance) + 1e-6
        ):
            raise FitError("The data given do not reproduce the fit's deviance.")
        kinds = [p.kind for p in scale_parameters(fit.varcorr, self.layouts)[:-1]]
        p = fit.beta.size
        self.lower = np.array([0.0 if k == "sd" else -1.0 for k in kinds] + [-np.inf] * p)
        self.upper = np.array([np.inf if k == "sd" else 1.0 for k in kinds] + [np.inf] * p)
        # Step scales: SE for beta; for SDs and correlations the theta SE from the
        # Hessian (2 H^{-1}) where it is known, else a tenth of the value.
        scale = np.concatenate([np.maximum(0.1 * np.abs(self.phi_hat), 0.05), fit.se])
        check = fit.convergence
        if check is not None and check.hessian.shape[0] == self.k + p:
            var = np.diag(2.0 * np.linalg.inv(check.hessian))[: self.k]
            scale[: self.k] = np.where(var > 0, np.sqrt(np.abs(var)), scale[: self.k])
        self.scale = scale
        self.evaluations = 0

    def deviance(self, x: np.ndarray) -> float:
        """D at profile-scale parameters x = (phi, beta)."""
        self.evaluations += 1
        phi = np.append(x[: self.k], 1.0)
        theta = thetas_from_phis(phi[None, :], self.layouts)[0]
        if not np.all(np.isfinite(theta)):
            return np.inf
        return self.objective(np.concatenate([theta, x[self.k :]]))

    def minimum(self, j: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        """min over the others of D with parameter j held at ``value``."""
        free = np.ones(self.x_hat.size, dtype=bool)
        free[j] = False
        x = start.copy()
        x[j] = value

        best = [np.inf, None]

        def f(y: np.ndarray, grad: np.ndarray) -> float:
            x[free] = y
            d = self.deviance(x)
            if d < best[0]:
                best[0], best[1] = d, y.copy()
            return d if np.isfinite(d) else 1e300

        y0 = np.clip(start[free], self.lower[free], self.upper[free])
        if y0.size == 0:
            return self.deviance(x), x.copy()
        opt = nlopt.opt(nlopt.LN_BOBYQA, y0.size)
        lo, hi = self.lower[free], self.upper[free]
        opt.set_lower_bounds(lo)
        opt.set_upper_bounds(hi)
        opt.set_ftol_rel(INNER_FTOL_REL)
        opt.set_xtol_abs(1e-10)
        opt.set_maxeval(5000)
        step = 0.1 * self.scale[free]
        room = np.minimum(y0 - lo, hi - y0)
        opt.set_initial_step(np.where(room > 0, np.minimum(step, np.maximum(room, 1e-8)), step))
        opt.set_min_objective(f)
        try:
            opt.optimize(y0)
        except (nlopt.RoundoffLimited, RuntimeError, ValueError):
            pass  # the best point evaluated stands (BOBYQA at rounding level)
        if best[1] is None:
            return np.inf, x.copy()
        x[free] = best[1]
        return float(best[0]), x.copy()

    def zeta(self, j: int, value: float, start: np.ndarray) -> tuple[float, np.ndarray]:
        d, x = self.minimum(j, value, start)
        gap = max(d - self.d_hat, 0.0)
        return float(np.sign(value - self.x_hat[j]) * np.sqrt(gap)), x

    def limit(self, j: int, target: float) -> float:
        """Where zeta crosses ``target`` (its sign gives the side), or the bound."""
        direction = 1.0 if target > 0 else -1.0
        hat = self.x_hat[j]
        bound = self.upper[j] if direction > 0 else self.lower[j]
        if self.lower[j] == -1.0:  # a correlation: stay inside the open interval
            bound = direction * COR_EDGE
        # Bracket: (v0, z0) inside, (v1, z1) beyond the target.
        v0, z0, x0 = hat, 0.0, self.x_hat.copy()
        v1 = hat + direction * abs(target) * self.scale[j]
        if np.isfinite(bound) and direction * (v1 - bound) > 0:
            v1 = bound
        z1, x1 = self.zeta(j, v1, x0)
        steps = 0
        while direction * (z1 - target) < 0:
            steps += 1
            if np.isfinite(bound) and v1 == bound:
                return float(bound)  # the profile stays inside up to the bound
            if steps > MAX_STEPS:
                raise FitError(f"The profile of parameter {j + 1} did not reach its limit.")
            # Extrapolate linearly through the last two points (at least doubling).
            slope = (z1 - z0) / (v1 - v0) if v1 != v0 else 0.0
            guess = v1 + (target - z1) / slope if direction * slope > 0 else np.inf
            v_next = v1 + 2.0 * (v1 - v0) if not np.isfinite(guess) else guess
            v_next = v1 + direction * max(direction * (v_next - v1), 0.5 * abs(v1 - v0))
            if np.isfinite(bound) and direction * (v_next - bound) > 0:
                v_next = bound
            v0, z0, x0 = v1, z1, x1
            v1 = v_next
            z1, x1 = self.zeta(j, v1, x0)
        # Regula falsi (Illinois) between v0 (inside) and v1 (beyond).
        f0, f1 = z0 - target, z1 - target
        side = 0
        for _ in range(MAX_STEPS):
            v = v1 - f1 * (v1 - v0) / (f1 - f0)
            z, x = self.zeta(j, v, x0)
            f = z - target
            if abs(f) < ZETA_TOL:
                return float(v)
            if f * f1 < 0:
                v0, f0, x0 = v1, f1, x1
                side = 0
            else:
                if side == -1:
                    f0 /= 2.0
                side = -1
            v1, f1, x1 = v, f, x
        return float(v1)


def profile_intervals(
    fit: GlmmFit,
    frame: pd.DataFrame,
    spec: ModelSpec,
    response_family: ResponseFamily,
    level: float = 0.95,
) -> Intervals:
    """lme4's ``confint(method = "profile")`` for a glmer fit.

    Parameters
    ----------
    fit : GlmmFit
        The fit of ``spec`` with ``response_family`` to ``frame`` (Laplace or AGQ).
    frame, spec, response_family
        As given to ``fit_glmm``: the profile refits the same deviance.
    level : float
    """
    start = time.perf_counter()
    check_level(level)
    z = normal_quantile(level)
    prof = _Profile(fit, frame, spec, response_family)
    p = fit.beta.size
    # Profile-scale order: phi (theta's order), then beta; tidy() lists beta first.
    order = list(range(prof.k, prof.k + p)) + list(range(prof.k))
    limits = {j: (prof.limit(j, -z), prof.limit(j, z)) for j in order}
    rows = []
    for (effect, group, term, estimate), j in zip(parameter_rows(fit), order, strict=True):
        low, high = limits[j]
        rows.append(IntervalRow(effect, group, term, estimate, low, high))
    return Intervals("profile", level, tuple(rows), time.perf_counter() - start)


def confint(
    fit: GlmmFit,
    method: str = "wald",
    frame: pd.DataFrame | None = None,
    spec: ModelSpec | None = None,
    response_family: ResponseFamily | None = None,
    level: float = 0.95,
) -> Intervals:
    """``confint(fit, method = ...)``: "wald" needs the fit alone; "profile" also the
    data, spec and family it was fitted with. (No "boot" for GLMMs yet.)"""
    name = str(method).lower()
    if name == "wald":
        return wald_intervals(fit, level)
    if name == "profile":
        if frame is None or spec is None or response_family is None:
            raise SpecError("Profile intervals refit the model: pass the data, spec and family.")
        return profile_intervals(fit, frame, spec, response_family, level)
    raise SpecError(f"Unknown interval method {method!r} for a GLMM; choose wald or profile.")
