"""The optimizer's stages agree with each other (lme4 agreement is in test_lmm_reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from lib.lmm.oneterm import OneTermModel
from lib.lmm.optimize import BatchedDeviance, newton_polish
from lib.lmm.search import grid_thetas, moment_theta, one_term_search
from lib.lmm.stats import model_stats
from lib.model.design import Design, TermDesign, build_design
from lib.model.spec import ModelSpec, RandomTerm
from tests.lmm_reference import ROOT

SCHOOLS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def problem():
    design = build_design(pd.read_csv(ROOT / "data" / "schools.csv"), SCHOOLS)
    return OneTermModel(model_stats(design))


def _one_term(X: np.ndarray, y: np.ndarray, g: np.ndarray, G: int) -> OneTermModel:
    """The model with a correlated random intercept and slope on X's second column."""
    term = RandomTerm(("g",), slopes=("x",))
    levels = tuple(str(k) for k in range(G))
    design = Design(y, X, (TermDesign(term, g, levels, X),), ("(Intercept)", "x"), 0)
    return OneTermModel(model_stats(design))


def test_newton_from_the_grid_reaches_the_lbfgsb_optimum(problem):
    model = problem
    devfun = BatchedDeviance(lambda t: model.criteria(t, True))
    grid = grid_thetas(model)
    start = grid[int(np.argmin(devfun.many(grid)))]
    theta, converged = newton_polish(devfun, start, model.lower_bounds, max_iter=30)
    assert converged
    reference = BatchedDeviance(lambda t: model.criteria(t, True))
    lbfgsb = optimize.minimize(
        reference.value_and_gradient,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None), (None, None), (0, None)],
        options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000},
    )
    assert devfun(theta) <= lbfgsb.fun + 1e-9
    assert devfun(theta) == pytest.approx(916.7837011892, abs=1e-8)


def test_newton_reports_no_convergence_when_out_of_iterations(problem):
    model = problem
    devfun = BatchedDeviance(lambda t: model.criteria(t, True))
    _, converged = newton_polish(devfun, model.start * 50.0, model.lower_bounds, max_iter=1)
    assert not converged


def test_moment_start_is_near_the_optimum_with_many_groups():
    """Per-group least squares give a start close to the REML optimum (a start only:
    the search must reach the same optimum as from lme4's start)."""
    rng = np.random.default_rng(11)
    G, n = 400, 400 * 25
    g = rng.integers(0, G, n)
    x = rng.normal(5.0, 2.0, n)
    u = rng.multivariate_normal([0, 0], [[4.0, 0.3], [0.3, 0.25]], size=G)
    y = 2 + 0.5 * x + u[g, 0] + u[g, 1] * x + rng.normal(0, 1.5, n)
    X = np.column_stack([np.ones(n), x])
    model = _one_term(X, y, g, G)
    theta, criterion, summary = one_term_search(model, True)
    start = moment_theta(model)
    assert start is not None
    np.testing.assert_allclose(start, theta, rtol=0.05, atol=0.01)
    assert "per-level least squares" in summary.method
    # The same optimum as L-BFGS-B from lme4's identity start, polished.
    devfun = BatchedDeviance(lambda t: model.criteria(t, True))
    result = optimize.minimize(
        devfun.value_and_gradient,
        model.start,
        jac=True,
        method="L-BFGS-B",
        bounds=[(0, None), (None, None), (0, None)],
        options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
    )
    assert criterion <= result.fun + 1e-9 * abs(result.fun)
    np.testing.assert_allclose(theta, result.x, rtol=1e-4)


def test_moment_start_refuses_what_it_cannot_form():
    rng = np.random.default_rng(2)
    G = 60
    g = np.repeat(np.arange(G), 1)  # one row per group: no Z_g'Z_g is invertible for q = 2
    x = rng.normal(size=G)
    X = np.column_stack([np.ones(G), x])
    assert moment_theta(_one_term(X, rng.normal(size=G), g, G)) is None
