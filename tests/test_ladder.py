"""lib.classroom.ladder against lme4's anova() tables and R's lm numbers, on two and three
levels, and its presets on nested and crossed data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from lmm_reference import frame, reference

from lib.classroom.comparison import NO_SMALLER_NESTED
from lib.classroom.ladder import (
    COMPLETE_OLS,
    DUMMY_OLS,
    FULL,
    NULL,
    RI,
    RS,
    describe_preset,
    ladder,
    ladder_specs,
    ladder_table,
    presets,
)
from lib.model.levels import LevelEffects
from lib.model.spec import CROSSED, GroupLevel
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


# ---------------------------------------------- several grouping levels: presets keep them


def _pupils_reference() -> dict:
    path = Path(__file__).parent / "reference" / "classroom_comparison.json"
    return next(c for c in json.loads(path.read_text())["cases"] if c["name"] == "pupils")


def test_three_level_ladder_keeps_the_class_level():
    levels = (GroupLevel("class"),)
    result = ladder(load_bundled("pupils"), "score", "hours", "school", levels=levels)
    ref = {m["label"]: m for m in _pupils_reference()["models"]}
    for name in (NULL, RI, RS, FULL):
        step = result.step(name)
        # Every step keeps (1 | class:school): the R formulas of classroom_comparison.R.
        assert step.formula == ref[name]["formula"] and "(1 | class:school)" in step.formula
        assert step.npar == ref[name]["npar"]
        assert step.criterion == pytest.approx(ref[name]["reml_criterion"], rel=1e-6)
        assert step.aic == pytest.approx(ref[name]["aic"], rel=1e-6)
    pairs = {(p["smaller"], p["larger"]): p for p in _pupils_reference()["pairs"]}
    full = result.step(FULL)
    assert full.parent == RI and full.on_boundary
    assert full.chisq == pytest.approx(pairs[(RI, FULL)]["chisq"], rel=1e-5)
    assert math.isnan(result.step(RS).p) and result.step(RS).reason == NO_SMALLER_NESTED


def test_presets_say_what_they_change_and_keep():
    found = {p.name: p for p in presets("score", "hours", "school", levels=(GroupLevel("class"),))}
    assert all(p.offered and p.kept == ("(1 | class:school)",) for p in found.values())
    assert found[RS].top_terms == ("(0 + hours | school)",) and not found[RS].fixed_slope
    assert found[FULL].top_terms == ("(1 + hours | school)",) and found[FULL].fixed_slope
    assert describe_preset(found[RI], "school", "hours") == (
        "Random intercept: sets the top level 'school' to (1 | school) with the fixed slope of "
        "'hours'; keeps (1 | class:school) as chosen."
    )
    # The lower level's own effects are kept as chosen, slope included.
    lower = (LevelEffects(intercept=True, slope=True, correlated=False),)
    kept = presets("score", "hours", "school", levels=(GroupLevel("class"),), lower=lower)
    assert kept[0].kept == ("(1 | class:school) + (0 + hours | class:school)",)


def test_presets_without_a_predictor_are_not_offered_on_crossed_data():
    # Penicillin: plate crossed with sample, no numeric predictor. The random slope step used
    # to drop the plate term and still call the result (1 | sample) a random slope.
    crossed = (GroupLevel("sample", CROSSED),)
    found = {p.name: p for p in presets("diameter", None, "plate", levels=crossed)}
    assert found[NULL].offered and found[NULL].spec.formula() == (
        "diameter ~ 1 + (1 | plate) + (1 | sample)"
    )
    for name in (RI, RS, FULL):
        assert not found[name].offered and found[name].spec is None
    assert found[RI].reason == "needs a numeric predictor for its fixed slope, and none is chosen"
    assert found[RS].reason == "needs a numeric predictor for its random slope, and none is chosen"
    assert describe_preset(found[RS], "plate", None).startswith("Random slope: not offered; it")
    assert list(ladder_specs("diameter", None, "plate", levels=crossed)) == [NULL]
    # With a predictor, the random slope keeps the crossed sample term.
    specs = ladder_specs("diameter", "x", "plate", levels=crossed)
    assert specs[RS].formula() == "diameter ~ 1 + (0 + x | plate) + (1 | sample)"
