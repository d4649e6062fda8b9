"""lib.classroom.ladder against lme4's anova() tables and R's lm numbers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from lmm_reference import frame, reference

from lib.classroom.ladder import COMPLETE_OLS, DUMMY_OLS, FULL, NULL, RI, RS, ladder, ladder_table
from lib.table.catalogue import load_bundled


def _comparison(name: str) -> dict:
    return next(c for c in reference()["comparisons"] if c["name"] == name)


def _row(comp: dict, formula: str) -> dict:
    return next(r for r in comp["table"] if r["formula"] == formula)


@pytest.fixture(scope="module")
def schools():
    return ladder(load_bundled("schools"), "test_score", "study_time", "school")


def test_ml_numbers_equal_lme4_anova(schools):
    comp = _comparison("schools_tutorial")
    for step in schools.steps[:4]:
        ref = _row(comp, step.formula)
        assert step.npar == ref["npar"]
        assert step.aic == pytest.approx(ref["aic"], rel=1e-6), step.name
        assert step.bic == pytest.approx(ref["bic"], rel=1e-6), step.name
        assert step.loglik == pytest.approx(ref["loglik"], rel=1e-6), step.name


def test_intercept_and_slope_step_is_lme4s_test(schools):
    """lme4's anova row for (1 + x | g) is exactly the ladder's step from the random intercept."""
    ref = _row(_comparison("schools_tutorial"), schools.step(FULL).formula)
    step = schools.step(FULL)
    assert step.parent == RI
    assert step.chisq == pytest.approx(ref["chisq"], rel=1e-5)
    assert step.df == ref["df"] == 2
    assert step.p == pytest.approx(ref["p"], rel=1e-3)


def test_random_intercept_step_from_reference_logliks(schools):
    comp = _comparison("schools_tutorial")
    step = schools.step(RI)
    null = _row(comp, schools.step(NULL).formula)
    ri = _row(comp, step.formula)
    assert step.chisq == pytest.approx(2 * (ri["loglik"] - null["loglik"]), rel=1e-6)
    assert step.df == 1
    assert schools.step(RS).parent is None and math.isnan(schools.step(RS).chisq)


def test_criteria_and_icc_are_the_tutorials(schools):
    # REML criteria as the tutorial prints them; ICC 0.359 of the null model.
    crit = [round(s.criterion, 1) for s in schools.steps[:4]]
    assert crit == [1221.5, 984.8, 1022.2, 916.8]
    assert round(schools.step(NULL).icc, 3) == 0.359
    cases = {c["name"]: c["result"] for c in reference()["cases"]}
    full = cases["schools_full_reml"]
    assert schools.step(FULL).icc == pytest.approx(full["icc"]["adjusted"], rel=1e-4)
    assert schools.step(FULL).r2_marginal == pytest.approx(full["r2"]["marginal"], rel=1e-4)


def test_sleepstudy_nested_steps_equal_anova():
    """sleep_nested is null -> random intercept -> intercept and slope: two ladder steps."""
    comp = _comparison("sleep_nested")
    result = ladder(frame(comp["data"]), "Reaction", "Days", "Subject")
    for name, ref in ((RI, comp["table"][1]), (FULL, comp["table"][2])):
        step = result.step(name)
        assert step.formula == ref["formula"]
        assert step.chisq == pytest.approx(ref["chisq"], rel=1e-5)
        assert step.df == ref["df"]
        assert step.p == pytest.approx(ref["p"], rel=1e-3)


def test_ols_rows_are_rs_lm(schools):
    simple, dummy = schools.step(COMPLETE_OLS), schools.step(DUMMY_OLS)
    assert simple.r2_marginal == pytest.approx(0.5616, abs=5e-5)  # tutorial's Multiple R-squared
    assert dummy.r2_marginal == pytest.approx(0.813, abs=5e-4)
    n = 183
    # R's logLik.lm from the tutorial's residual SE 5.266 on 181 df:
    rss = 5.266**2 * 181
    assert simple.loglik == pytest.approx(-n / 2 * (np.log(2 * np.pi * rss / n) + 1), rel=1e-4)
    assert simple.aic == pytest.approx(-2 * simple.loglik + 2 * 3)
    assert dummy.npar == 5


def test_table_has_one_row_per_step(schools):
    table = ladder_table(schools)
    assert list(table.index) == [NULL, RI, RS, FULL, COMPLETE_OLS, DUMMY_OLS]
    assert table.loc[FULL, "tested against"] == RI
