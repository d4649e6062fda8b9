"""The two factors of the engine give the same fit of a one-term model.

A model with one random term is fitted by the batched one-term factor
(``lib.lmm.oneterm``, searched by ``search.one_term_search``); the blocked
factor (``lib.lmm.blocked``, ``search.blocked_search``) fits any number of terms,
one included. Both are run here on the same one-term models (the tutorial's
schools data: null, random intercept, random slope only, correlated and
uncorrelated intercept and slope; dietox's ``Weight ~ Time + (Time | Pig)``),
REML and ML, and every number of the two ``LmmFit``s is compared:

- at the same theta (the one-term optimum, read off both factors): the two
  factors add the same per-level products in another order, so they may differ
  by rounding only. Measured: <= 3.4e-13 relative on every number but the
  Satterthwaite df, <= 7.7e-10 on those (they are central differences of exact
  gradients with a relative step of 1e-4, which multiply the gradients'
  rounding, ~1e-13, by ~1e4). Tolerances: 1e-11 and 1e-8.
- after each factor's own search: the criterion to 1e-12 relative (measured
  1.9e-13: its rounding), theta within what the searches' stopping rule
  allows (below), and every other number to 2e-6 relative (measured 2.8e-7: the
  numbers follow theta, which the flat criterion leaves ~1e-7 apart).

Both searches end with Newton steps that stop when the predicted decrease
g'H^-1 g falls below 1e-13 (``optimize.NEWTON_DECREMENT_TOL``), so each optimum
lies within sqrt(1e-13) of the gradient's zero in the norm |d|_H = sqrt(d'Hd),
and the two within twice that (measured 3e-7).
"""

from __future__ import annotations

import dataclasses
from functools import cache

import numpy as np
import pytest

from lib.lmm import conditioning, optimum
from lib.lmm.blocked import BlockedModel
from lib.lmm.fit import package_fit, rows_pass
from lib.lmm.gradient import blocked_parts, one_term_parts
from lib.lmm.numderiv import gradient_stencil, stencil_derivative
from lib.lmm.oneterm import OneTermModel
from lib.lmm.optimize import NEWTON_DECREMENT_TOL
from lib.lmm.result import LmmFit
from lib.lmm.stats import model_stats
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

SCHOOLS = {"outcome": "test_score", "group": "school"}
SLOPE = {"fixed": ("study_time",), "random_slopes": ("study_time",)}
MODELS = {
    "null": ("schools", SCHOOLS),
    "intercept": ("schools", {**SCHOOLS, "fixed": ("study_time",)}),
    "slope_only": ("schools", {**SCHOOLS, **SLOPE, "random_intercept": False}),
    "correlated": ("schools", {**SCHOOLS, **SLOPE}),
    "uncorrelated": ("schools", {**SCHOOLS, **SLOPE, "correlated": False}),
    "dietox": (
        "dietox",
        {"outcome": "Weight", "group": "Pig", "fixed": ("Time",), "random_slopes": ("Time",)},
    ),
}
CASES = [(name, reml) for name in MODELS for reml in (True, False)]
IDS = [f"{name}-{'REML' if reml else 'ML'}" for name, reml in CASES]

SAME_THETA_RTOL = 1e-11
SAME_THETA_DF_RTOL = 1e-8
SEARCH_CRITERION_RTOL = 1e-12
SEARCH_RTOL = 2e-6


@cache
def _problem(name: str, reml: bool):
    data, kwargs = MODELS[name]
    spec = ModelSpec.one_factor(reml=reml, **kwargs)
    design = build_design(load_bundled(data), spec)
    # No rescaling here: both paths see the same columns (conditioning is tested apart).
    assert not conditioning.choose(design).applied
    return spec, design, model_stats(design)


def _package(name: str, reml: bool, opt: optimum.Optimum) -> LmmFit:
    spec, design, stats = _problem(name, reml)
    return package_fit(stats, spec, opt, rows_pass(design, opt.beta, opt.modes, opt.sigma), 0.0)


@cache
def _searched(name: str, reml: bool) -> tuple[LmmFit, LmmFit]:
    """The fit through each factor's own search: (one-term, blocked)."""
    stats = _problem(name, reml)[2]
    one = _package(name, reml, optimum.one_term_optimum(stats, reml))
    blocked = _package(name, reml, optimum.blocked_optimum(stats, reml))
    return one, blocked


def _at_theta(name: str, reml: bool, theta: np.ndarray) -> tuple[LmmFit, LmmFit]:
    """Both factors read at the same theta: (one-term, blocked)."""
    stats = _problem(name, reml)[2]
    fits = []
    for model, parts in (
        (OneTermModel(stats), one_term_parts),
        (BlockedModel(stats), blocked_parts),
    ):
        criterion = float(model.criteria(theta[None], reml)[0])
        found = (theta, criterion, _searched(name, reml)[0].optimizer)
        opt = optimum.at_optimum(
            model, found, reml, lambda points, m=model, p=parts: p(m, points, reml)
        )
        fits.append(_package(name, reml, opt))
    return fits[0], fits[1]


def _numbers(fit: LmmFit) -> dict[str, np.ndarray]:
    """Every number of a fit (the record of the search and the timing left out)."""
    skip = {"spec", "formula", "reml", "varcorr", "ranef", "conditioning", "optimizer"}
    skip |= {"fixef_names", "icc", "r2", "fit_seconds"}
    out = {
        f.name: np.asarray(getattr(fit, f.name), float)
        for f in dataclasses.fields(fit)
        if f.name not in skip
    }
    for k, term in enumerate(fit.varcorr.terms):
        out[f"varcorr[{k}]"] = np.asarray(term.covariance)
    out["residual_variance"] = np.asarray(fit.varcorr.residual_variance)
    for factor in fit.ranef:
        out[f"ranef[{factor.group}].modes"] = factor.modes
        out[f"ranef[{factor.group}].condvar"] = factor.condvar
        out[f"ranef[{factor.group}].sizes"] = np.asarray(factor.sizes, float)
    for name in ("icc", "r2"):
        value = getattr(fit, name)
        if value is not None:
            for f in dataclasses.fields(value):
                out[f"{name}.{f.name}"] = np.asarray(getattr(value, f.name), float)
    return out


def _assert_same_numbers(one: LmmFit, blocked: LmmFit, rtol: float, df_rtol: float) -> None:
    """Each number within rtol of the largest entry of its array (entries near 0, such
    as a random effect or a residual, carry the rounding of the array's scale)."""
    a, b = _numbers(one), _numbers(blocked)
    assert a.keys() == b.keys()
    assert one.icc is not None and blocked.icc is not None
    for key in a:
        tol = df_rtol if key in ("beta_df", "beta_p") else rtol
        scale = float(np.max(np.abs(a[key]))) if a[key].size else 0.0
        np.testing.assert_allclose(b[key], a[key], rtol=0, atol=tol * scale, err_msg=key)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_both_factors_give_every_number_at_the_same_theta(name, reml):
    theta = np.asarray(_searched(name, reml)[0].theta)
    one, blocked = _at_theta(name, reml, theta)
    np.testing.assert_array_equal(blocked.theta, one.theta)
    assert blocked.criterion == pytest.approx(one.criterion, rel=SAME_THETA_RTOL)
    _assert_same_numbers(one, blocked, SAME_THETA_RTOL, SAME_THETA_DF_RTOL)


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_both_gradient_evaluations_agree(name, reml):
    """The two evaluations of the one derivation (``lib.lmm.gradient``), away from the
    optimum where the gradient is large: they differ by rounding only."""
    stats = _problem(name, reml)[2]
    theta = 1.3 * np.asarray(_searched(name, reml)[0].theta) + 0.05
    one = one_term_parts(OneTermModel(stats), theta[None], reml)
    blocked = blocked_parts(BlockedModel(stats), theta[None], reml)
    assert one.exact.all() and blocked.exact.all()
    n, p = stats.nobs, stats.p
    g_one, g_blocked = one.gradients(n, p, reml)[0], blocked.gradients(n, p, reml)[0]
    assert np.abs(g_one).max() > 1e-3  # far enough from the optimum to mean something
    np.testing.assert_allclose(g_blocked, g_one, rtol=0, atol=1e-9 * np.abs(g_one).max())


@pytest.mark.parametrize(("name", "reml"), CASES, ids=IDS)
def test_both_searches_reach_the_same_optimum(name, reml):
    one, blocked = _searched(name, reml)
    assert blocked.criterion == pytest.approx(one.criterion, rel=SEARCH_CRITERION_RTOL)
    # |d|_H within twice the stopping rule's sqrt(NEWTON_DECREMENT_TOL) (module docstring).
    stats = _problem(name, reml)[2]
    model = OneTermModel(stats)
    points, h = gradient_stencil(np.asarray(one.theta))
    grads = one_term_parts(model, points, reml).gradients(stats.nobs, stats.p, reml)
    H = stencil_derivative(grads, h)
    d = np.asarray(blocked.theta) - np.asarray(one.theta)
    assert float(np.sqrt(d @ (0.5 * (H + H.T)) @ d)) <= 2.0 * np.sqrt(NEWTON_DECREMENT_TOL)
    _assert_same_numbers(one, blocked, SEARCH_RTOL, SEARCH_RTOL)


def test_the_record_says_which_search_ran():
    one, blocked = _searched("correlated", True)
    assert one.optimizer.stages[0].startswith("start: the best of lme4's start and a grid")
    assert "Newton steps (exact gradient)" in one.optimizer.stages
    assert blocked.optimizer.stages[:2] == (
        "start: the better of lme4's start and the one-term fits",
        "BOBYQA (nlopt)",
    )
    for fit in (one, blocked):
        assert fit.optimizer.method == "; ".join(fit.optimizer.stages)
        assert "central differences" not in fit.optimizer.method
    dietox = _searched("dietox", True)[0]  # 72 pigs: no grid, per-level least squares
    assert dietox.optimizer.stages[:2] == (
        "start: the better of lme4's start and per-level least squares",
        "L-BFGS-B (exact gradient)",
    )
