"""Models without a fixed intercept (``0 +``) against lme4 and performance.

Reference: tests/reference/no_intercept_reference.R (lme4 1.1-31, performance 0.10.2,
insight 0.19.0), fitted with a tight bobyqa so that its optimum is the optimum. The
engine fits these models (``lib.lmm.conditioning`` only scales columns when there is no
intercept to absorb a shift); ICC and Nakagawa R^2 are performance's when the fixed
columns span the constant (``0 + sex``: the model with an intercept written another
way) and are not given otherwise (``lib.lmm.variance.spans_constant``), where
performance's numbers count the outcome's distance from zero as group variance.

Tolerances: criterion 1e-7 relative (the engine may only be lower), fixed effects and
sigma 1e-5, SEs and theta 1e-4, ICC and R^2 1e-5 (they follow the variance components).
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest

from lib.lmm import LmmFit, fit_lmm
from lib.model.formula import parse_formula
from tests.lmm_reference import ROOT

REFERENCE = ROOT / "tests" / "reference" / "no_intercept_reference.json"
CASES = json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]
IDS = [c["id"] for c in CASES]


@cache
def fitted(case_id: str) -> tuple[dict, LmmFit]:
    c = next(c for c in CASES if c["id"] == case_id)
    data = pd.read_csv(
        ROOT / "tests" / "reference" / "data" / c["data"], dtype={f: str for f in c["factors"]}
    )
    for f in c["factors"]:
        data[f] = data[f].astype("category")
    return c, fit_lmm(data, parse_formula(c["formula"], reml=c["reml"]))


def rel(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


@pytest.mark.parametrize("case_id", IDS)
def test_fit_matches_lme4(case_id):
    c, fit = fitted(case_id)
    assert list(fit.fixef_names) == c["fixef_names"]
    assert fit.criterion <= c["criterion"] * (1 + 1e-7)
    assert rel(fit.criterion, c["criterion"]) < 1e-7
    assert rel(fit.beta, c["fixef"]) < 1e-5
    assert rel(fit.sigma, c["sigma"]) < 1e-5
    assert rel(fit.beta_se, c["se"]) < 1e-4
    assert np.max(np.abs(fit.theta - np.atleast_1d(c["theta"]))) < 1e-4 * max(
        1.0, float(np.max(np.abs(c["theta"])))
    )


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if c["spans"]])
def test_icc_and_r2_are_performance_s_when_the_columns_span_the_constant(case_id):
    c, fit = fitted(case_id)
    assert rel(fit.icc.adjusted, c["icc_adjusted"]) < 1e-5
    assert rel(fit.icc.unadjusted, c["icc_unadjusted"]) < 1e-5
    assert rel(fit.r2.marginal, c["r2_marginal"]) < 1e-5
    assert rel(fit.r2.conditional, c["r2_conditional"]) < 1e-5


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES if not c["spans"]])
def test_no_icc_or_r2_without_a_constant_in_the_fixed_part(case_id):
    c, fit = fitted(case_id)
    assert "(Intercept)" not in fit.fixef_names
    assert fit.icc is None and fit.r2 is None
    # performance reports an "ICC" near 1 here for the intercept-free sleepstudy fit
    # (the random intercepts hold the mean reaction time): a number the app must not show.
    assert c["icc_adjusted"] is not None


@pytest.mark.parametrize("case_id", ["scots_sex_cells", "hsb82_sector_slope"])
def test_cell_means_model_is_the_intercept_model(case_id):
    _, free = fitted(case_id)
    _, with_intercept = fitted(case_id + "_intercept")
    assert rel(free.criterion, with_intercept.criterion) < 1e-9
    assert rel(free.icc.adjusted, with_intercept.icc.adjusted) < 1e-6
    assert rel(free.r2.marginal, with_intercept.r2.marginal) < 1e-6


def test_badly_scaled_intercept_free_model_is_rescaled_without_a_shift():
    _, fit = fitted("sleep_badly_scaled")
    assert fit.conditioning.applied
    assert fit.conditioning.y_centre == 0.0
    assert np.all(fit.conditioning.centre == 0.0)
    assert fit.conditioning.scale[0] != 1.0
