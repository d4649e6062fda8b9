"""Badly scaled columns: the fit must not depend on how a predictor is coded.

The same model written with ``year`` (values near 2000) or ``year - 2000``, an
outcome in units or in millions, a predictor in units or in micro-units, must
reach the same optimum; numbers that depend on the coding must follow the
coding exactly (lib.lmm.conditioning's docstring has the formulas).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lib.lmm import conditioning, fit_lmm
from lib.lmm.fit import fit_design
from lib.model.design import build_design
from lib.model.spec import ModelSpec, RandomTerm


@pytest.fixture(scope="module")
def years() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    groups, per = 30, 20
    g = np.repeat(np.arange(groups), per)
    year = rng.integers(1990, 2011, groups * per).astype(float)
    b0, b1 = rng.normal(0, 2, groups), rng.normal(0, 0.3, groups)
    y = 5e6 + (0.8 + b1[g]) * (year - 2000) * 1000 + b0[g] * 1000 + rng.normal(0, 1500, g.size)
    rater = rng.integers(0, 8, g.size)
    return pd.DataFrame(
        {
            "y": y,
            "y_millions": y / 1e6,
            "y_thousands_c": (y - 5e6) / 1e3,
            "year": year,
            "year_c": year - 2000.0,
            "micro": (year - 2000.0) * 1e-6,
            "g": [f"g{k:02d}" for k in g],
            "rater": [f"r{k}" for k in rater],
        }
    )


def _spec(y: str, x: str, ml: bool, crossed: bool = False) -> ModelSpec:
    terms = (RandomTerm(("g",), slopes=(x,)),)
    if crossed:
        terms += (RandomTerm(("rater",)),)
    return ModelSpec(y, (x,), terms, reml=not ml)


@pytest.mark.parametrize("crossed", [False, True])
@pytest.mark.parametrize("ml", [False, True])
def test_year_and_centred_year_reach_the_same_optimum(years, ml, crossed):
    raw = fit_lmm(years, _spec("y", "year", ml, crossed))
    centred = fit_lmm(years, _spec("y", "year_c", ml, crossed))
    assert raw.conditioning.applied
    # Centring x changes neither the likelihood nor, since det G = 1, the REML criterion.
    assert raw.criterion == pytest.approx(centred.criterion, rel=1e-9)
    assert raw.sigma == pytest.approx(centred.sigma, rel=1e-6)
    assert raw.beta[1] == pytest.approx(centred.beta[1], rel=1e-6)
    assert raw.beta_se[1] == pytest.approx(centred.beta_se[1], rel=1e-5)
    assert raw.beta_df[1] == pytest.approx(centred.beta_df[1], rel=1e-4)
    # The slope variance does not depend on where x = 0 is; the intercept's does,
    # exactly as Var(b0 - 2000 b1) = Var(b0) - 4000 Cov + 2000^2 Var(b1).
    vr, vc = raw.varcorr.terms[0].covariance, centred.varcorr.terms[0].covariance
    assert vr[1, 1] == pytest.approx(vc[1, 1], rel=1e-5)
    expected = vc[0, 0] - 2 * 2000 * vc[0, 1] + 2000**2 * vc[1, 1]
    assert vr[0, 0] == pytest.approx(expected, rel=1e-5)
    # Fitted values are the same model's.
    np.testing.assert_allclose(raw.fitted, centred.fitted, rtol=1e-8)


def test_outcome_in_millions_shifts_the_criterion_by_the_jacobian(years):
    units = fit_lmm(years, _spec("y", "year_c", ml=True))
    millions = fit_lmm(years, _spec("y_millions", "year_c", ml=True))
    # y = 1e6 y': -2 log L changes by 2 n log(1e6), every estimate scales by 1e6.
    shift = 2 * units.nobs * np.log(1e6)
    assert units.criterion == pytest.approx(millions.criterion + shift, rel=1e-10)
    assert units.sigma == pytest.approx(1e6 * millions.sigma, rel=1e-6)
    np.testing.assert_allclose(units.beta, 1e6 * millions.beta, rtol=1e-6)


def test_micro_units_give_the_same_likelihood(years):
    units = fit_lmm(years, _spec("y", "year_c", ml=True))
    micro = fit_lmm(years, _spec("y", "micro", ml=True))
    assert micro.conditioning.applied
    assert micro.criterion == pytest.approx(units.criterion, rel=1e-9)
    assert micro.beta[1] == pytest.approx(units.beta[1] * 1e6, rel=1e-6)


def test_conditioning_changes_nothing_on_a_well_scaled_model(years):
    """Forcing the map on a well-conditioned model reproduces the direct fit."""
    spec = _spec("y_thousands_c", "year_c", ml=False, crossed=True)
    design = build_design(years, spec)
    direct = fit_design(design, spec)
    assert not direct.conditioning.applied
    cond = conditioning.choose(design)
    forced = replace(
        cond,
        applied=True,
        centre=np.array([0.0, 3.0]),
        scale=np.array([1.0, 7.0]),
        y_centre=2.0,
        y_scale=0.5,
    )
    work = conditioning.apply(design, forced)
    np.testing.assert_allclose(work.X[:, 1], (design.X[:, 1] - 3.0) / 7.0)
    original = conditioning.choose
    try:
        conditioning.choose = lambda d: forced
        mapped = fit_design(design, spec)
    finally:
        conditioning.choose = original
    assert mapped.criterion == pytest.approx(direct.criterion, rel=1e-10)
    np.testing.assert_allclose(mapped.beta, direct.beta, rtol=1e-6)
    np.testing.assert_allclose(mapped.beta_df, direct.beta_df, rtol=1e-4)
    for a, b in zip(mapped.varcorr.terms, direct.varcorr.terms, strict=True):
        np.testing.assert_allclose(a.covariance, b.covariance, rtol=1e-5, atol=1e-12)
    for a, b in zip(mapped.ranef, direct.ranef, strict=True):
        # A mode near 0 is judged against the factor's largest: the two searches
        # (crossed, so BOBYQA) agree on theta to the criterion's resolution, ~1e-7.
        # (A singular factor's modes are ~1e-22 either way: absolute floor from sigma.)
        scale = max(float(np.abs(b.modes).max()), direct.sigma)
        np.testing.assert_allclose(a.modes, b.modes, rtol=1e-5, atol=1e-7 * scale)
        np.testing.assert_allclose(a.condvar, b.condvar, rtol=1e-5, atol=1e-12)
