"""Likelihood-ratio tests between GLMMs (lib.glmm.anova and the classroom's one
comparison rule, lib.classroom.comparison.compare_glmms) against lme4's anova() for
glmer fits: period on cbpp (3 df), the urban random slope on Contraception (2 df;
tests/reference/glmm_reference.json ``comparisons``) and SexParent on Owls with an
offset (1 df; glmm_features.json ``lrt_owls_sex``). Chisq within 1e-4 absolute (the
difference of two logLiks each within 1e-8 relative), p 1e-3 relative."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from lib.classroom.comparison import compare_glmm_specs, compare_glmms
from lib.errors import SpecError
from lib.glmm.anova import ComparableGlmm, anova_glmm
from lib.model.spec import RandomTerm
from tests.glmm_fits import fit_of, frame_of, response_family_of, spec_of
from tests.glmm_reference import case, comparisons

FEATURES = json.loads(
    (Path(__file__).parent / "reference" / "glmm_features.json").read_text(encoding="utf-8")
)


def comparable(case_id: str) -> ComparableGlmm:
    c = case(case_id)
    return ComparableGlmm(fit_of(case_id), spec_of(c), response_family_of(c))


def reference(comparison_id: str) -> dict:
    return next(c for c in comparisons() if c["id"] == comparison_id)


def test_period_on_cbpp_is_lme4s_anova() -> None:
    want = reference("cbpp_period")["table"]
    table = anova_glmm([comparable("cbpp_laplace"), comparable("cbpp_null")])
    assert [r.npar for r in table.rows] == [w["npar"] for w in want]
    for row, w in zip(table.rows, want, strict=True):
        assert row.loglik == pytest.approx(w["loglik"], rel=1e-8)
        assert row.aic == pytest.approx(w["aic"], rel=1e-8)
        assert row.deviance == pytest.approx(w["deviance"], rel=1e-8)
    assert table.rows[1].chisq == pytest.approx(want[1]["chisq"], abs=1e-4)
    assert table.rows[1].df == want[1]["df"]
    assert table.rows[1].p == pytest.approx(want[1]["p"], rel=1e-3)
    assert table.rows[1].formula == "cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)"


def test_the_classroom_rule_tests_nested_glmms() -> None:
    want = reference("cbpp_period")["table"][1]
    result = compare_glmms({"null": comparable("cbpp_null"), "period": comparable("cbpp_laplace")})
    pair = result.pair("null", "period")
    assert pair.nested and not pair.on_boundary
    assert pair.chisq == pytest.approx(want["chisq"], abs=1e-4)
    assert pair.p == pytest.approx(want["p"], rel=1e-3)
    assert result.model("period").against == result.index("null")
    assert result.model("period").deviance == pytest.approx(-2 * fit_of("cbpp_laplace").loglik)


def test_random_slope_on_contraception_is_tested_on_the_boundary() -> None:
    """compare_glmm_specs fits both on the common rows; the slope adds a variance."""
    c = case("contraception_ri")
    frame = frame_of(c)
    frame["urbanY"] = (frame["urban"].astype(str) == "Y").astype(float)
    ri = dataclasses.replace(spec_of(c), fixed=("age", "urbanY", "livch"))
    slope = dataclasses.replace(ri, random=(RandomTerm(group=("district",), slopes=("urbanY",)),))
    result = compare_glmm_specs(frame, {"ri": ri, "slope": slope}, response_family_of(c))
    want = reference("contraception_urban_slope")["table"]
    pair = result.pair("ri", "slope")
    assert pair.nested and pair.on_boundary
    assert pair.df == 2
    assert pair.chisq == pytest.approx(want[1]["chisq"], abs=1e-4)
    assert pair.p == pytest.approx(want[1]["p"], rel=1e-3)
    assert result.model("slope").loglik == pytest.approx(want[1]["loglik"], rel=1e-8)


def test_a_poisson_fixed_effect_with_an_offset() -> None:
    want = FEATURES["lrt_owls_sex"]
    c = case("owls_offset")
    smaller = dataclasses.replace(spec_of(c), fixed=("FoodTreatment", "ArrivalTime"))
    result = compare_glmm_specs(
        frame_of(c), {"no_sex": smaller, "sex": spec_of(c)}, response_family_of(c)
    )
    pair = result.pair("no_sex", "sex")
    np.testing.assert_allclose([m.loglik for m in result.models], want["loglik"], rtol=1e-8)
    assert pair.chisq == pytest.approx(want["chisq"], abs=1e-4)
    assert pair.p == pytest.approx(want["p"], rel=1e-3)
    assert "offset(log_BroodSize)" in result.models[0].formula


def test_incomparable_glmms_are_refused() -> None:
    with pytest.raises(SpecError, match="same family, link"):
        anova_glmm([comparable("cbpp_laplace"), comparable("cbpp_probit")])
    with pytest.raises(SpecError, match="Laplace fit .* cannot be"):
        anova_glmm([comparable("cbpp_laplace"), comparable("cbpp_agq9")])
    with pytest.raises(SpecError, match="at least 2"):
        anova_glmm([comparable("cbpp_laplace")])
