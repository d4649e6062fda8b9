"""The one-term engine's exact gradient, its chunked solves, and what is built on them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.lmm import fit_lmm, oneterm
from lib.lmm.gradient import one_term_parts
from lib.lmm.oneterm import OneTermModel
from lib.lmm.satterthwaite import (
    gradient_derivative_inputs,
    profiled_derivative_inputs,
    satterthwaite_df,
)
from lib.lmm.stats import model_stats
from lib.model.design import Design, TermDesign, build_design
from lib.model.spec import ModelSpec, RandomTerm
from tests.lmm_reference import ROOT

LAYOUTS = [(1, True), (2, True), (2, False), (3, True), (3, False)]


def _problem(q: int, correlated: bool = True, groups: int = 40, seed: int = 1) -> OneTermModel:
    rng = np.random.default_rng(seed)
    n = groups * 12
    g = rng.integers(0, groups, n)
    X = np.column_stack([np.ones(n), rng.normal(size=n), 3.0 * rng.normal(size=n) + 2.0])
    Z = X[:, :q]
    u = rng.normal(size=(groups, q))
    y = X @ [1.0, 2.0, 3.0] + (u[g] * Z).sum(axis=1) + rng.normal(size=n)
    term = RandomTerm(("g",), slopes=("x1", "x2")[: q - 1], correlated=correlated)
    levels = tuple(str(k) for k in range(groups))
    design = Design(y, X, (TermDesign(term, g, levels, Z),), ("(Intercept)", "x1", "x2"), 0)
    return OneTermModel(model_stats(design))


def _gradient(model: OneTermModel, theta: np.ndarray, reml: bool) -> np.ndarray:
    return one_term_parts(model, theta[None], reml).gradients(model.nobs, model.p, reml)[0]


def _central(model: OneTermModel, theta: np.ndarray, reml: bool, h: float = 1e-6) -> np.ndarray:
    out = np.empty(theta.size)
    for k in range(theta.size):
        e = np.zeros(theta.size)
        e[k] = h
        up, down = model.criteria(np.vstack([theta + e, theta - e]), reml)
        out[k] = (up - down) / (2.0 * h)
    return out


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("q,correlated", LAYOUTS)
def test_exact_gradient_equals_central_differences(q, correlated, reml):
    model = _problem(q, correlated)
    layout = model.layout
    assert (layout.q, layout.correlated) == (q, correlated and q > 1)
    rng = np.random.default_rng(q)
    for theta in (np.abs(rng.normal(size=layout.size)) + 0.2, layout.start * 0.7):
        exact = _gradient(model, theta, reml)
        numeric = _central(model, theta, reml)
        # Central differences with h = 1e-6 carry ~1e-7 relative error themselves.
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * np.abs(numeric).max())


def test_exact_gradient_at_a_zero_standard_deviation():
    """At theta_11 = 0 the criterion is even in theta_11: its derivative there is 0."""
    model = _problem(2)
    theta = np.array([0.8, 0.3, 0.0])
    exact = _gradient(model, theta, True)
    assert abs(exact[2]) < 1e-9 * np.abs(exact).max()
    np.testing.assert_allclose(exact[:2], _central(model, theta, True)[:2], rtol=1e-6)


def test_group_chunks_and_batches_change_no_number(monkeypatch):
    """Solving in slices of groups (and of thetas) gives the whole solve's numbers."""
    model = _problem(2, groups=700)
    thetas = np.array([[1.0, 0.2, 0.5], [0.3, -0.1, 0.9], [2.0, 0.0, 0.0]])

    def criteria_and_gradients() -> tuple[np.ndarray, np.ndarray]:
        parts = one_term_parts(model, thetas, True)
        return parts.criteria(model.nobs, model.p, True), parts.gradients(model.nobs, model.p, True)

    whole = criteria_and_gradients()
    kept = model.solve_batch(thetas)
    monkeypatch.setattr(oneterm, "GROUP_CHUNK_CELLS", 300)  # slices of 256 groups
    monkeypatch.setattr(oneterm, "CHUNK_CELLS", 800)  # one theta per solve
    assert len(oneterm.group_slices(model.ngroups, 1)) == 3
    assert len(model.theta_chunks(thetas)) == 3
    sliced = criteria_and_gradients()
    np.testing.assert_allclose(sliced[0], whole[0], rtol=1e-13)
    np.testing.assert_allclose(sliced[1], whole[1], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(model.criteria(thetas, True), whole[0], rtol=1e-13)
    # The solve that keeps its factors gives the same numbers, sliced or not.
    sliced_kept = model.solve_batch(thetas)
    for name in ("pwrss", "ldL2", "ldRX2", "beta"):
        np.testing.assert_allclose(getattr(sliced_kept, name), getattr(kept, name), rtol=1e-12)
    for whole, part in zip(kept.factors, sliced_kept.factors, strict=True):
        np.testing.assert_allclose(part, whole, rtol=1e-12)


SCHOOLS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.fixture(scope="module")
def tutorial():
    """The tutorial's intercept-and-slope fit and its one-term model."""
    frame = pd.read_csv(ROOT / "data" / "schools.csv")
    model = OneTermModel(model_stats(build_design(frame, SCHOOLS)))
    return fit_lmm(frame, SCHOOLS), model


def test_the_optimum_is_the_gradient_zero(tutorial):
    """The search ends on the exact gradient's zero, not where the criterion stops
    resolving (~1e-12 relative): what makes DuckDB/Spark fits equal to 1e-8."""
    fit, model = tutorial
    theta = np.asarray(fit.theta)
    grad = _gradient(model, theta, True)
    # Scale: the gradient's size one unit away from the optimum.
    far = _gradient(model, theta * 1.5, True)
    assert np.abs(grad).max() < 1e-7 * np.abs(far).max()
    assert model.criteria(theta, True)[0] == pytest.approx(916.7837011892, abs=1e-8)


def test_one_term_satterthwaite_matches_numderiv(tutorial):
    """Differences of exact gradients give lmerTest's derivative objects (numDeriv's
    Richardson scheme on the criterion's parts): the same df to 1e-6 (measured 2e-7:
    the truncation error of h = 1e-4, see gradient_derivative_inputs)."""
    fit, model = tutorial
    theta = np.asarray(fit.theta)
    n, p = model.nobs, model.p
    numderiv = profiled_derivative_inputs(
        lambda thetas: model.criterion_parts(thetas, True), theta, fit.sigma, n, p, True
    )
    exact = gradient_derivative_inputs(
        lambda thetas: one_term_parts(model, thetas, True), theta, fit.sigma, n, p, True
    )
    # Norm-wise: 2 H^-1 amplifies H's differences by its condition number (~400).
    for a, b in ((exact.vcov_varpar, numderiv.vcov_varpar), (exact.jacobian, numderiv.jacobian)):
        assert np.linalg.norm(a - b) <= 1e-5 * np.linalg.norm(b)
    assert exact.negative_eigenvalues == numderiv.negative_eigenvalues == 0
    vcov = np.asarray(fit.vcov_beta)
    np.testing.assert_allclose(
        satterthwaite_df(exact, vcov), satterthwaite_df(numderiv, vcov), rtol=1e-6
    )
