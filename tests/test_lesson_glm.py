"""lib.ols.glm against R's glm() (tests/reference/lesson_glm.R and its JSON): the lesson's
single-level steps for a binomial or Poisson outcome, and the separation rule."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.glmm.family import family
from lib.model.response import ResponseFamily
from lib.ols import glm

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = json.loads((ROOT / "tests" / "reference" / "lesson_glm.json").read_text())
CASES = {case["id"]: case for case in REFERENCE["cases"]}
RTOL = 1e-6  # estimates within 1e-6 of their SE, SEs and deviances 1e-6 relative


def _data(case: dict) -> tuple[pd.DataFrame, str, ResponseFamily]:
    """The case's data and family as the app holds them (R's lhs as columns)."""
    frame = pd.read_csv(ROOT / case["data"])
    link = None if case["link"] in ("logit", "log") else case["link"]
    if case["id"].startswith("contraception"):
        return frame, "use", ResponseFamily("binomial", link=link, success="Y")
    if case["id"] == "cbpp_trials":
        frame["period"] = frame["period"].astype(float)  # as.numeric(period)
        return frame, "incidence", ResponseFamily("binomial", trials="size")
    if case["offset"]:
        frame["log_brood"] = np.log(frame["BroodSize"])
        return frame, case["lhs"], ResponseFamily("poisson", offset="log_brood")
    return frame, case["lhs"], ResponseFamily(case["family"])


def _values(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _agrees(fit: glm.GlmFit, ref: dict, rtol: float = RTOL) -> None:
    names = list(ref["names"])
    assert [n for n in fit.names if n in names] == names
    k = [fit.names.index(n) for n in names]
    coef, se = _values(ref["coef"]), _values(ref["se"])
    aliased = np.isnan(coef)
    assert np.array_equal(np.isnan(fit.coef[k]), aliased)
    # glm()'s convergence is on the deviance, so its estimates are within a small part
    # of their SE of the optimum, not to 1e-6 relative (a slope of 0.004 moves 1e-7).
    assert np.all(np.abs(fit.coef[k] - coef)[~aliased] <= rtol * se[~aliased])
    np.testing.assert_allclose(fit.se[k][~aliased], se[~aliased], rtol=rtol)
    assert fit.deviance == pytest.approx(ref["deviance"], rel=rtol, abs=1e-8)
    assert fit.null_deviance == pytest.approx(ref["null_deviance"], rel=1e-9)
    assert fit.df_resid == ref["df_resid"] and fit.df_null == ref["df_null"]
    assert fit.loglik == pytest.approx(ref["loglik"], rel=rtol)
    assert fit.aic == pytest.approx(ref["aic"], rel=rtol)


@pytest.mark.parametrize("case_id", list(CASES))
def test_one_regression_ignoring_the_groups_equals_glm(case_id):
    case = CASES[case_id]
    frame, y, fam = _data(case)
    fit = glm.fit_glm(frame, y, [case["predictor"]], fam)
    _agrees(fit, case["complete"])
    assert fit.family == case["family"] and fit.link == case["link"]
    z = fit.coef / fit.se
    np.testing.assert_allclose(fit.z, z)
    assert fit.ratio(case["predictor"]) == pytest.approx(np.exp(case["complete"]["coef"][1]))


@pytest.mark.parametrize("case_id", list(CASES))
def test_dummy_model_is_the_limit_of_glm_without_the_all_same_groups(case_id):
    case = CASES[case_id]
    frame, y, fam = _data(case)
    fit = glm.fit_glm(frame, y, [case["predictor"]], fam, group=case["group"])
    subset = case["dummy_subset"]
    assert fit.infinite == tuple(str(v) for v in subset["dropped"])
    tol = 2e-5 if case["dummy_epsilon"] > 1e-10 else RTOL  # R's default epsilon there
    # Coefficients, SEs and deviance are those of glm() on the other groups' rows ...
    names = list(subset["names"])
    k = [fit.names.index(n) for n in names]
    coef, se = _values(subset["coef"]), _values(subset["se"])
    finite = ~np.isnan(coef)
    assert np.all(np.abs(fit.coef[k] - coef)[finite] <= tol * se[finite])
    np.testing.assert_allclose(fit.se[k][finite], se[finite], rtol=tol)
    assert fit.deviance == pytest.approx(subset["deviance"], rel=tol)
    # ... and every row and dummy counts, as in glm() on all rows, whose run-away
    # estimates approach these (its deviance and AIC agree, its separated dummies are
    # huge with huge SEs).
    full = case["dummy_all"]
    assert fit.nobs == full["df_null"] + 1 and fit.df_resid == full["df_resid"]
    assert fit.aic == pytest.approx(full["aic"], rel=1e-5)
    assert fit.null_deviance == pytest.approx(full["null_deviance"], rel=1e-9)
    for level in fit.infinite:
        name = f"{case['group']}{level}"
        assert np.isinf(fit.coefficient(name))
        if name not in full["names"]:  # the first level: glm()'s intercept runs away
            assert full["se"][0] > 1000
            assert np.sign(full["coef"][0]) == np.sign(fit.coefficient(name))
            # The reference is then the first level with a finite estimate, as in R's
            # fit without the all-0 groups (droplevels).
            assert fit.reference not in fit.infinite
            assert f"{case['group']}{fit.reference}" not in (*fit.names, *subset["names"])
            continue
        j = full["names"].index(name)
        assert full["se"][j] > 1000  # (the estimate: about 30 for logit, 7.5 for probit)
        if f"{case['group']}{fit.reference}" not in full["names"]:  # R's reference too
            assert np.sign(fit.coefficient(name)) == np.sign(full["coef"][j])


@pytest.mark.parametrize("case_id", list(CASES))
def test_separate_regressions_equal_glm_and_name_the_unfittable_groups(case_id):
    case = CASES[case_id]
    frame, y, fam = _data(case)
    result = glm.fit_glm_per_group(frame, y, case["predictor"], case["group"], fam)
    refs = case["per_group"]
    assert list(result.levels) == [str(r["level"]) for r in refs]
    assert result.sizes.tolist() == [r["n"] for r in refs]
    for fit, reason, ref in zip(result.fits, result.reasons, refs, strict=True):
        if fit is not None:
            assert reason == ""
            _agrees(fit, ref)
        elif reason in (glm.CONSTANT, glm.ONE_ROW):
            assert ref["coef"][1] is None  # glm() gives the slope NA
        else:
            # glm() runs towards infinity and stops at a huge SE.
            assert reason in (glm.ALL_ZERO, glm.ALL_ONE, glm.SEPARATED)
            assert ref["max_se"] > 1000, ref["level"]


def test_contraception_groups_that_cannot_be_fitted():
    frame, y, fam = _data(CASES["contraception_logit"])
    result = glm.fit_glm_per_group(frame, y, "age", "district", fam)
    assert result.unfitted() == {
        glm.ALL_ONE: ("3",),
        glm.ALL_ZERO: ("11", "49"),
        glm.SEPARATED: ("55",),
    }
    slopes = result.slopes()
    assert np.isnan(slopes[result.levels.index("55")])
    assert np.isfinite(slopes).sum() == 56


@pytest.mark.parametrize(
    ("y", "x", "name", "expected"),
    [
        ([0, 1], [1.0, 2.0], "binomial", glm.SEPARATED),
        ([0, 1, 0, 1], [1.0, 2.0, 3.0, 4.0], "binomial", ""),
        ([0, 0.5, 1], [1.0, 2.0, 3.0], "binomial", glm.SEPARATED),  # quasi-complete
        ([0.5, 0, 1], [1.0, 2.0, 3.0], "binomial", ""),  # a proportion overlaps
        ([0, 0.5, 1], [1.0, 2.0, 2.0], "binomial", glm.SEPARATED),
        ([1, 1, 1], [1.0, 2.0, 3.0], "binomial", glm.ALL_ONE),
        ([0, 0, 0], [1.0, 2.0, 3.0], "poisson", glm.ALL_ZERO),
        ([0, 0, 3], [1.0, 2.0, 3.0], "poisson", glm.SEPARATED),
        ([0, 3, 0], [1.0, 2.0, 3.0], "poisson", ""),  # zeros on both sides: finite
        ([1, 3, 0], [1.0, 2.0, 3.0], "poisson", ""),
        ([1, 3], [2.0, 2.0], "poisson", glm.CONSTANT),
        ([1], [2.0], "poisson", glm.ONE_ROW),
    ],
)
def test_separation_rule(y, x, name, expected):
    link = "logit" if name == "binomial" else "log"
    assert glm.separation(np.array(y, float), np.array(x), family(name, link)) == expected


def test_bad_input_gets_a_clear_message():
    frame = pd.DataFrame({"y": [0, 1, 2], "x": [1.0, 2.0, 3.0], "g": ["a", "a", "b"]})
    with pytest.raises(SpecError, match="binomial or Poisson"):
        glm.fit_glm(frame, "y", ["x"], ResponseFamily())
    with pytest.raises(DataError, match="must be 0/1"):
        glm.fit_glm(frame, "y", ["x"], ResponseFamily("binomial"))
    with pytest.raises(DataError, match="No column 'z'"):
        glm.fit_glm(frame, "y", ["z"], ResponseFamily("poisson"))
    with pytest.raises(SpecError, match="cannot also be"):
        glm.fit_glm_per_group(frame, "y", "x", "x", ResponseFamily("poisson"))
