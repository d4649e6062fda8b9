"""Latent-scale ICC and Nakagawa R^2 (lib.glmm.variance) against performance::icc,
performance::r2_nakagawa and insight::get_variance (tests/reference/glmm_reference.json:
``icc``, ``r2``, ``insight_variances``, ``insight_null_model``). The numbers inherit the
estimates' tolerance; measured agreement is 1e-5 relative or better: tested at 1e-4."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lib.glmm.fit import fit_glmm
from lib.glmm.variance import latent_variances
from lib.model.spec import RandomTerm
from tests.glmm_fits import fit_of, frame_of, response_family_of, spec_of
from tests.glmm_reference import case

CASES = [
    "cbpp_laplace",  # logit
    "cbpp_probit",  # probit
    "contraception_cloglog",  # cloglog
    "cbpp_null",  # no fixed effects: R^2 marginal 0
    "owls_offset",  # Poisson with an offset: null model refitted with it
    "grouseticks_poisson",  # observation-level INDEX -> dispersion
    "verbagg_crossed",  # crossed
]


def check(v, want: dict) -> None:
    np.testing.assert_allclose(v.icc_adjusted, want["icc"]["adjusted"], rtol=1e-4)
    np.testing.assert_allclose(v.icc_unadjusted, want["icc"]["unadjusted"], rtol=1e-4)
    np.testing.assert_allclose(v.r2_marginal, want["r2"]["marginal"], rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(v.r2_conditional, want["r2"]["conditional"], rtol=1e-4)
    parts = want["insight_variances"]
    np.testing.assert_allclose(v.fixed, parts["var.fixed"], rtol=1e-4, atol=1e-12)
    np.testing.assert_allclose(v.random, parts["var.random"], rtol=1e-4)
    np.testing.assert_allclose(v.distribution, parts["var.distribution"], rtol=1e-4)
    np.testing.assert_allclose(v.dispersion, parts["var.dispersion"], rtol=1e-4)
    np.testing.assert_allclose(v.residual, parts["var.residual"], rtol=1e-4)


@pytest.mark.parametrize("case_id", CASES)
def test_icc_and_r2_are_performances(case_id: str) -> None:
    c = case(case_id)
    v = latent_variances(fit_of(case_id), frame_of(c), spec_of(c), response_family_of(c))
    want = c.expected
    check(v, want)
    if c.family == "poisson":
        null = want["insight_null_model"]["fixef"]["(Intercept)"]
        assert v.null_intercept == pytest.approx(null, rel=1e-4)
        # performance warns "mu of 1.5 is too close to zero" for both.
        assert want["icc_messages"] and "1.5" in v.messages[0]
    else:
        assert v.null_intercept is None and v.messages == ()
    intercepts = want["insight_variances"]["var.intercept"]
    for group, value in v.per_term:
        assert value == pytest.approx(intercepts[group], rel=1e-4)


def test_random_slope_variance_is_the_mean_of_z_sigma_z() -> None:
    """Contraception with (urban | district): insight averages z_i' Sigma z_i over rows."""
    c = case("contraception_slope")
    frame = frame_of(c)
    frame["urbanY"] = (frame["urban"].astype(str) == "Y").astype(float)
    spec = dataclasses.replace(
        spec_of(c),
        fixed=("age", "urbanY", "livch"),
        random=(RandomTerm(group=("district",), slopes=("urbanY",)),),
    )
    rf = response_family_of(c)
    fit = fit_glmm(frame, spec, rf)
    check(latent_variances(fit, frame, spec, rf), c.expected)
