"""The GLMM engine's fast paths give the linear engine's numbers.

``lib.glmm.reweighted`` (the row-plan solve PIRLS uses) against
``lib.lmm.blocked.BlockedModel`` on the same sqrt(W)-scaled rows (the path it
replaced), for one term with a correlated slope, crossed scalar terms, nested
terms and a crossed term with a slope; ``lib.glmm.deviance`` against the family's
own ``dev_resids``/``aic``; ``lib.glmm.hessian`` on a quadratic; and a fit whose
PIRLS runs through the row plan against one through the linear engine's factor.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from lib.glmm.deviance import DevianceSum
from lib.glmm.family import family
from lib.glmm.fit import fit_glmm_design
from lib.glmm.hessian import central_hessian
from lib.glmm.pirls import Pirls, Response
from lib.glmm.reweighted import ReweightedSystem
from lib.model.design import build_design
from lib.model.spec import ModelSpec, RandomTerm

RNG = np.random.default_rng(20261206)


def frame(n: int = 600) -> pd.DataFrame:
    g = RNG.integers(0, 40, n)
    return pd.DataFrame(
        {
            "y": RNG.integers(0, 2, n).astype(float),
            "x": RNG.normal(size=n),
            "z": RNG.normal(size=n),
            "g": [f"g{v:02d}" for v in g],
            "h": [f"h{v}" for v in RNG.integers(0, 7, n)],
            # nested in g: every g lies in one school
            "school": [f"s{v // 8}" for v in g],
        }
    )


SPECS = {
    "slope": ModelSpec(outcome="y", fixed=("x", "z"), random=(RandomTerm(("g",), ("x",)),)),
    "crossed": ModelSpec(
        outcome="y", fixed=("x",), random=(RandomTerm(("g",)), RandomTerm(("h",)))
    ),
    "nested": ModelSpec(
        outcome="y", fixed=("x",), random=(RandomTerm(("g",)), RandomTerm(("school",)))
    ),
    "crossed_slope": ModelSpec(
        outcome="y",
        fixed=("x", "z"),
        random=(RandomTerm(("g",)), RandomTerm(("h",), ("z",))),
    ),
}


def pirls_for(spec: ModelSpec) -> tuple[Pirls, np.ndarray]:
    d = build_design(frame(), spec)
    n = d.nobs
    pirls = Pirls(d, family("binomial"), Response(d.y, np.ones(n), np.ones(n), np.zeros(n)))
    theta = np.concatenate([lay.start for lay in pirls.layouts]) * 0.7
    theta[theta == 0.0] = 0.2  # a non-zero correlation where there is one
    return pirls, theta


@pytest.mark.parametrize("name", list(SPECS))
@pytest.mark.parametrize("joint", [False, True])
def test_reweighted_solve_equals_the_blocked_factor(name: str, joint: bool) -> None:
    pirls, theta = pirls_for(SPECS[name])
    assert pirls.system is not None
    n = pirls.n
    eta = RNG.normal(size=n) * 0.8
    mu = pirls.family.linkinv(eta)
    fixed = pirls.design.X @ RNG.normal(size=pirls.design.X.shape[1]) * 0.3
    fast = pirls.solve(theta, eta, mu, fixed, joint)
    system, pirls.system = pirls.system, None  # the linear engine's path
    try:
        slow = pirls.solve(theta, eta, mu, fixed, joint)
    finally:
        pirls.system = system
    assert fast.ldL2 == pytest.approx(slow.ldL2, rel=1e-12)
    for a, b in zip(fast.u, slow.u, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)
    factor_only = pirls.solve(theta, eta, mu, fixed, joint, modes=False)
    assert factor_only.ldL2 == pytest.approx(fast.ldL2, rel=1e-14)
    if joint:
        np.testing.assert_allclose(fast.beta, slow.beta, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(fast.RXt, slow.RXt, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(factor_only.RXt, fast.RXt, rtol=1e-14)
    else:
        assert fast.beta is None and fast.RXt is None


def test_a_large_later_term_keeps_the_linear_engines_factor() -> None:
    d = build_design(frame(), SPECS["crossed"])
    many = dataclasses.replace(
        d.terms[1], levels=tuple(f"l{i}" for i in range(500)), codes=d.terms[1].codes
    )
    assert ReweightedSystem.supports(d)
    assert not ReweightedSystem.supports(dataclasses.replace(d, terms=(d.terms[0], many)))


@pytest.mark.parametrize(
    "name, y, trials",
    [
        ("binomial", np.array([0.0, 1.0, 1.0, 0.0, 1.0]), np.ones(5)),
        ("binomial", np.array([0.0, 0.25, 1.0, 0.5, 0.75]), np.array([3.0, 4.0, 2.0, 6.0, 4.0])),
        ("poisson", np.array([0.0, 3.0, 1.0, 7.0, 2.0]), np.ones(5)),
    ],
)
def test_deviance_sum_equals_the_familys(name: str, y: np.ndarray, trials: np.ndarray) -> None:
    fam = family(name)
    dev = DevianceSum(fam, y, trials, trials)
    for mu in (np.array([0.2, 0.6, 0.9, 0.4, 0.5]), np.array([0.01, 0.3, 0.99, 0.7, 0.55])):
        mu = mu if name == "binomial" else 4.0 * mu
        want = float(fam.dev_resids(y, mu, trials).sum())
        assert dev(mu) == pytest.approx(want, rel=1e-13, abs=1e-13)
        assert dev.aic(mu) == pytest.approx(fam.aic(y, trials, mu, trials), rel=1e-13)


def test_central_hessian_of_a_quadratic_is_exact() -> None:
    A = np.array([[4.0, 1.0, -0.5], [1.0, 3.0, 0.2], [-0.5, 0.2, 2.0]])
    g = np.array([0.3, -1.0, 0.5])

    def f(points: np.ndarray) -> np.ndarray:
        return 0.5 * np.einsum("bi,ij,bj->b", points, A, points) + points @ g

    x = np.array([0.4, -0.2, 1.1])
    H, gradient, value = central_hessian(f, x, np.full(3, 1e-3))
    np.testing.assert_allclose(H, A, rtol=1e-6)
    np.testing.assert_allclose(gradient, A @ x + g, rtol=1e-8)
    assert value == pytest.approx(float(f(x[None, :])[0]))


def test_fit_through_the_row_plan_equals_the_linear_engines_path(monkeypatch) -> None:
    """The whole fit (both stages, SEs) with PIRLS on the row plan and on the
    linear engine's factor: the same optimum and standard errors."""
    d = build_design(frame(), SPECS["crossed_slope"])
    n = d.nobs
    resp = Response(d.y, np.ones(n), np.ones(n), np.zeros(n))
    fast = fit_glmm_design(d, family("binomial"), resp)
    monkeypatch.setattr(ReweightedSystem, "supports", staticmethod(lambda design: False))
    slow = fit_glmm_design(d, family("binomial"), resp)
    assert fast.deviance == pytest.approx(slow.deviance, rel=1e-10)
    np.testing.assert_allclose(fast.beta, slow.beta, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fast.se, slow.se, rtol=1e-4)
    np.testing.assert_allclose(fast.theta, slow.theta, rtol=1e-3, atol=1e-5)
