"""Overdispersion of a GLMM (lib.glmm.dispersion) against performance::check_overdispersion
(tests/reference/glmm_features.R -> glmm_features.json ``overdispersion``; the fits there
are the same data and models as glmm_reference.json's)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lib.errors import SpecError
from lib.glmm.dispersion import dispersion_check
from lib.glmm.fit import fit_glmm
from lib.model.spec import RandomTerm
from tests.glmm_fits import fit_of, frame_of, response_family_of, spec_of
from tests.glmm_reference import case

WANT = json.loads(
    (Path(__file__).parent / "reference" / "glmm_features.json").read_text(encoding="utf-8")
)["overdispersion"]


def check(got, want: dict) -> None:
    assert got.chisq == pytest.approx(want["chisq"], rel=1e-4)
    assert got.ratio == pytest.approx(want["ratio"], rel=1e-4)
    assert got.df_resid == want["rdf"]
    assert got.p_value == pytest.approx(want["p"], rel=1e-3, abs=1e-300)


def test_owls_is_strongly_overdispersed() -> None:
    got = dispersion_check(fit_of("owls_offset"))
    check(got, WANT["owls_offset"])
    assert got.overdispersed and got.p_value == 0.0
    assert "5.44 times" in got.message


def test_cbpp_successes_of_trials_are_not() -> None:
    c = case("cbpp_laplace")
    got = dispersion_check(fit_of("cbpp_laplace"), trials=c.frame["size"].to_numpy(float))
    check(got, WANT["cbpp_laplace"])
    assert not got.overdispersed and got.message == ""


def test_grouse_ticks_without_the_observation_level_effect() -> None:
    c = case("grouseticks_poisson")
    spec = dataclasses.replace(spec_of(c), random=(RandomTerm(group=("BROOD",)),))
    fit = fit_glmm(frame_of(c), spec, response_family_of(c))
    assert fit.loglik == pytest.approx(WANT["grouseticks_brood"]["loglik"], rel=1e-6)
    got = dispersion_check(fit)
    check(got, WANT["grouseticks_brood"])
    assert got.overdispersed


def test_zero_one_outcomes_are_refused() -> None:
    with pytest.raises(SpecError, match="0/1 outcome"):
        dispersion_check(fit_of("contraception_ri"))
