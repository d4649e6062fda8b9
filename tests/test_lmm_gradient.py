"""The one-term engine's exact gradient, its chunked solves, and what is built on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.lmm import fit_lmm, objective
from lib.lmm.crossprod import cross_products
from lib.lmm.objective import (
    ThetaLayout,
    batch_deviance,
    batch_gradient,
    batch_unscaled_vcov_beta,
    criteria_and_gradients_at,
    solve_batch,
)
from lib.lmm.satterthwaite import (
    profiled_derivative_inputs,
    satterthwaite_df,
    satterthwaite_inputs,
)
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from tests.lmm_reference import ROOT

LAYOUTS = [(1, True), (2, True), (2, False), (3, True), (3, False)]


def _problem(q: int, groups: int = 40, seed: int = 1):
    rng = np.random.default_rng(seed)
    n = groups * 12
    g = rng.integers(0, groups, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), 3.0 * rng.normal(size=n) + 2.0])
    Z = X[:, :q]
    u = rng.normal(size=(groups, q))
    y = X @ [1.0, 2.0, 3.0] + (u[g] * Z).sum(axis=1) + rng.normal(size=n)
    return cross_products(X, y, Z, g, groups)


def _central(cp, layout, theta, reml, h=1e-6):
    out = np.empty(theta.size)
    for k in range(theta.size):
        e = np.zeros(theta.size)
        e[k] = h
        up = batch_deviance(solve_batch((theta + e)[None], cp, layout), cp.nobs, reml)[0]
        down = batch_deviance(solve_batch((theta - e)[None], cp, layout), cp.nobs, reml)[0]
        out[k] = (up - down) / (2.0 * h)
    return out


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("q,correlated", LAYOUTS)
def test_exact_gradient_equals_central_differences(q, correlated, reml):
    cp = _problem(q)
    layout = ThetaLayout(q, correlated)
    rng = np.random.default_rng(q)
    for theta in (np.abs(rng.normal(size=layout.size)) + 0.2, layout.start * 0.7):
        exact = batch_gradient(solve_batch(theta[None], cp, layout), cp, layout, reml)[0]
        numeric = _central(cp, layout, theta, reml)
        # Central differences with h = 1e-6 carry ~1e-7 relative error themselves.
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_exact_gradient_at_a_zero_standard_deviation():
    """At theta_11 = 0 the criterion is even in theta_11: its derivative there is 0."""
    cp = _problem(2)
    layout = ThetaLayout(2, True)
    theta = np.array([0.8, 0.3, 0.0])
    exact = batch_gradient(solve_batch(theta[None], cp, layout), cp, layout, True)[0]
    assert abs(exact[2]) < 1e-9 * np.abs(exact).max()
    np.testing.assert_allclose(exact[:2], _central(cp, layout, theta, True)[:2], rtol=1e-6)


def test_group_chunks_and_batches_change_no_number(monkeypatch):
    """Solving in slices of groups (and of thetas) gives the whole solve's numbers."""
    cp = _problem(2, groups=700)
    layout = ThetaLayout(2, True)
    thetas = np.array([[1.0, 0.2, 0.5], [0.3, -0.1, 0.9], [2.0, 0.0, 0.0]])
    whole = criteria_and_gradients_at(thetas, cp, layout, True)
    kept = solve_batch(thetas, cp, layout)
    monkeypatch.setattr(objective, "GROUP_CHUNK_CELLS", 300)  # slices of 256 groups
    monkeypatch.setattr(objective, "CHUNK_CELLS", 800)  # one theta per solve
    assert len(objective.group_slices(cp.ngroups, 1)) == 3
    sliced = criteria_and_gradients_at(thetas, cp, layout, True)
    np.testing.assert_allclose(sliced[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(sliced[1], whole[1], rtol=1e-10, atol=1e-10)
    # Kept factors give the same gradient as recomputed ones.
    np.testing.assert_allclose(batch_gradient(kept, cp, layout, True), whole[1], rtol=1e-10)


SCHOOLS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def tutorial():
    """The tutorial's intercept-and-slope fit and its cross-products."""
    frame = pd.read_csv(ROOT / "data" / "schools.csv")
    design = build_design(frame, SCHOOLS)
    term = design.terms[0]
    cp = cross_products(design.X, design.y, term.Z, term.codes, term.nlevels)
    return fit_lmm(frame, SCHOOLS), cp, ThetaLayout(2, True)


def test_the_optimum_is_the_gradient_zero(tutorial):
    """The search ends on the exact gradient's zero, not where the criterion stops
    resolving (~1e-12 relative): what makes DuckDB/Spark fits equal to 1e-8."""
    fit, cp, layout = tutorial
    value, grad = criteria_and_gradients_at(np.asarray(fit.theta)[None], cp, layout, True)
    # Scale: the gradient's size one unit away from the optimum.
    far = criteria_and_gradients_at(np.asarray(fit.theta)[None] * 1.5, cp, layout, True)[1]
    assert np.abs(grad).max() < 1e-7 * np.abs(far).max()
    assert value[0] == pytest.approx(916.7837011892, abs=1e-8)


def test_one_term_satterthwaite_matches_numderiv(tutorial):
    """Differences of exact gradients give lmerTest's derivative objects (numDeriv's
    Richardson scheme on the criterion's parts): the same df to 1e-6 (measured 2e-7:
    the truncation error of h = 1e-4, see gradient_derivative_inputs)."""
    fit, cp, layout = tutorial
    theta = np.asarray(fit.theta)

    def parts(thetas):
        state = solve_batch(thetas, cp, layout)
        U = batch_unscaled_vcov_beta(state).transpose(2, 0, 1).reshape(len(thetas), -1)
        return np.column_stack([state.ldL2 + state.ldRX2, state.pwrss, U])

    numderiv = profiled_derivative_inputs(parts, theta, fit.sigma, cp.nobs, cp.p, True)
    exact = satterthwaite_inputs(cp, layout, theta, fit.sigma, True)
    # Norm-wise: 2 H^-1 amplifies H's differences by its condition number (~400).
    for a, b in ((exact.vcov_varpar, numderiv.vcov_varpar), (exact.jacobian, numderiv.jacobian)):
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)
    assert exact.negative_eigenvalues == numderiv.negative_eigenvalues == 0
    vcov = np.asarray(fit.vcov_beta)
    np.testing.assert_allclose(
        satterthwaite_df(exact, vcov), satterthwaite_df(numderiv, vcov), rtol=1e-6
    )
