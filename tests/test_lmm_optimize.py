"""The optimizer's stages agree with each other (lme4 agreement is in test_lmm_reference)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from lib.design import build_design
from lib.lmm.crossprod import cross_products
from lib.lmm.objective import ThetaLayout, batch_deviance, solve_batch
from lib.lmm.optimize import BatchedDeviance, grid_thetas, newton_polish
from lib.spec import ModelSpec
from tests.lmm_reference import ROOT

SCHOOLS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def problem():
    design = build_design(pd.read_csv(ROOT / "data" / "schools.csv"), SCHOOLS)
    term = design.terms[0]
    cp = cross_products(design.X, design.y, term.Z, term.codes, term.nlevels)
    return cp, ThetaLayout(q=2, correlated=True)


def test_newton_from_the_grid_reaches_the_lbfgsb_optimum(problem):
    cp, layout = problem
    devfun = BatchedDeviance(lambda t: batch_deviance(solve_batch(t, cp, layout), cp.nobs, True))
    grid = grid_thetas(cp, layout)
    start = grid[int(np.argmin(devfun.many(grid)))]
    theta, converged = newton_polish(devfun, start, layout.lower_bounds, max_iter=30)
    assert converged
    reference = BatchedDeviance(lambda t: batch_deviance(solve_batch(t, cp, layout), cp.nobs, True))
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
    cp, layout = problem
    devfun = BatchedDeviance(lambda t: batch_deviance(solve_batch(t, cp, layout), cp.nobs, True))
    _, converged = newton_polish(devfun, layout.start * 50.0, layout.lower_bounds, max_iter=1)
    assert not converged
