"""The blocked Cholesky factor against the same algebra done with dense matrices.

For small designs Z is formed densely and lme4's penalized least squares
(Bates et al. 2015, eqs. 18 and 49-50) is solved directly; the blocked solve
(``lib.lmm.blocked``) must give the same log-determinants, penalized RSS,
fixed effects, conditional modes and conditional variances at any theta. The
cases cover what the blocked layout distinguishes: nested terms (later blocks
stay block-diagonal), crossed terms (they fill in and become dense), vector
terms (q > 1, correlated and not) and three terms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.linalg as sla

from lib.lmm.blocked import BlockedModel
from lib.lmm.gradient import blocked_parts
from lib.lmm.stats import model_stats
from lib.model.design import build_design
from lib.model.spec import ModelSpec, RandomTerm


def _frame(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 240
    region = rng.integers(0, 3, n)
    school = region * 4 + rng.integers(0, 4, n)  # schools nested in regions
    klass = rng.integers(0, 3, n)  # class labels repeat across schools
    rater = rng.integers(0, 7, n)  # crossed with everything
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + rng.normal(size=15)[school] + rng.normal(size=7)[rater] + rng.normal(size=n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "z": rng.normal(size=n),
            "region": [f"R{k}" for k in region],
            "school": [f"S{k:02d}" for k in school],
            "class": [f"C{k}" for k in klass],
            "rater": [f"r{k}" for k in rater],
        }
    )


CASES = {
    "nested3": (
        RandomTerm(("region",)),
        RandomTerm(("school", "region")),
        RandomTerm(("class", "school", "region")),
    ),
    "nested_slopes": (
        RandomTerm(("school",), slopes=("x",)),
        RandomTerm(("class", "school"), slopes=("z",), correlated=False),
    ),
    "crossed3": (
        RandomTerm(("school",)),
        RandomTerm(("rater",), slopes=("x",)),
        RandomTerm(("region",)),
    ),
}


def _dense_solve(design, theta_blocks):
    """lme4's PLS with dense Z (columns level * q + effect within each term)."""
    Zs, lams = [], []
    for term, T in zip(design.terms, theta_blocks, strict=True):
        G, q = term.nlevels, term.q
        Zk = np.zeros((design.nobs, G * q))
        for a in range(q):
            Zk[np.arange(design.nobs), term.codes * q + a] = term.Z[:, a]
        Zs.append(Zk)
        lams.append(np.kron(np.eye(G), T))
    Z, Lam = np.hstack(Zs), sla.block_diag(*lams)
    X, y = design.X, design.y
    ZL = Z @ Lam
    L = np.linalg.cholesky(ZL.T @ ZL + np.eye(ZL.shape[1]))
    cu = sla.solve_triangular(L, ZL.T @ y, lower=True)
    RZX = sla.solve_triangular(L, ZL.T @ X, lower=True)
    schur = X.T @ X - RZX.T @ RZX
    beta = np.linalg.solve(schur, X.T @ y - RZX.T @ cu)
    u = sla.solve_triangular(L.T, cu - RZX @ beta, lower=False)
    pwrss = float(np.sum((y - X @ beta - ZL @ u) ** 2) + u @ u)
    Ainv = np.linalg.inv(L @ L.T)
    return {
        "ldL2": 2.0 * float(np.log(np.diag(L)).sum()),
        "ldRX2": float(np.linalg.slogdet(schur)[1]),
        "pwrss": pwrss,
        "beta": beta,
        "b": Lam @ u,
        "condvar": Lam @ Ainv @ Lam.T,
    }


@pytest.mark.parametrize("name", list(CASES))
def test_blocked_solve_equals_dense_algebra(name):
    spec = ModelSpec("y", ("x",), CASES[name])
    design = build_design(_frame(), spec)
    stats = model_stats(design)
    model = BlockedModel(stats)
    rng = np.random.default_rng(1)
    for _ in range(3):
        theta = np.where(np.isfinite(model.lower_bounds), 1.0, 0.3) * rng.uniform(
            0.2, 1.5, model.start.size
        )
        sol = model.solve(theta)
        dense = _dense_solve(design, model.split(theta))
        assert sol.ldL2 == pytest.approx(dense["ldL2"], rel=1e-10)
        assert sol.ldRX2 == pytest.approx(dense["ldRX2"], rel=1e-10, abs=1e-10)
        assert sol.pwrss == pytest.approx(dense["pwrss"], rel=1e-10)
        np.testing.assert_allclose(sol.beta, dense["beta"], rtol=1e-9, atol=1e-12)
        modes = model.conditional_modes(theta, sol)
        condvar = model.conditional_covariances(theta, sol, 1.0)
        at = 0
        for term, b, cv in zip(design.terms, modes, condvar, strict=True):
            size = term.nlevels * term.q
            expected_b = dense["b"][at : at + size].reshape(term.nlevels, term.q).T
            np.testing.assert_allclose(b, expected_b, rtol=1e-8, atol=1e-11)
            block = dense["condvar"][at : at + size, at : at + size]
            for g in range(term.nlevels):
                sl = slice(g * term.q, (g + 1) * term.q)
                np.testing.assert_allclose(cv[:, :, g], block[sl, sl], rtol=1e-8, atol=1e-12)
            at += size


def test_nested_blocks_stay_block_diagonal_and_crossed_ones_fill_in():
    frame = _frame()
    nested = build_design(frame, ModelSpec("y", ("x",), CASES["nested3"]))
    crossed = build_design(frame, ModelSpec("y", ("x",), CASES["crossed3"]))
    n_stats, c_stats = model_stats(nested), model_stats(crossed)
    assert BlockedModel(n_stats).dense_diag == [False, False, False]
    assert BlockedModel(c_stats).dense_diag[1:] == [True, True]


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("name", list(CASES))
def test_exact_gradient_equals_central_differences(name, reml):
    """gradient.blocked_parts (from (I - [M^-1]_uu) Lambda^-1 and u) against
    central differences of log|L|^2 (+ log|R_X|^2) and r^2."""
    spec = ModelSpec("y", ("x",), CASES[name])
    stats = model_stats(build_design(_frame(), spec))
    model = BlockedModel(stats)
    rng = np.random.default_rng(2)
    theta = np.where(np.isfinite(model.lower_bounds), 1.0, 0.3) * rng.uniform(
        0.2, 1.5, model.start.size
    )
    got = blocked_parts(model, theta[None], reml)
    assert got.exact.all()
    dg, dr2 = got.dlogdet[0], got.dr2[0]

    def parts(point):
        s = model.solve(point)
        return np.array([s.ldL2 + (s.ldRX2 if reml else 0.0), s.pwrss])

    h = 1e-6
    numeric = np.array(
        [(parts(theta + h * e) - parts(theta - h * e)) / (2 * h) for e in np.eye(theta.size)]
    )
    np.testing.assert_allclose(
        dg, numeric[:, 0], rtol=1e-6, atol=1e-7 * np.abs(numeric[:, 0]).max()
    )
    np.testing.assert_allclose(
        dr2, numeric[:, 1], rtol=1e-6, atol=1e-7 * np.abs(numeric[:, 1]).max()
    )


def test_no_exact_gradient_with_a_variance_at_zero():
    """Lambda is singular there: the caller must fall back to differences."""
    spec = ModelSpec("y", ("x",), CASES["nested3"])
    stats = model_stats(build_design(_frame(), spec))
    model = BlockedModel(stats)
    theta = np.array([0.5, 0.0, 0.7])
    got = blocked_parts(model, theta[None], True)
    assert not got.exact.any()
    assert np.isnan(got.dlogdet).all()
    assert np.isfinite(got.criteria(model.nobs, model.p, True)).all()
