"""Formulas with interactions, nesting, ``||``, no intercept and dropped columns, against R.

Reference: tests/reference/formula_reference.R (lme4 1.1-31, lmerTest 3.1-3,
broom.mixed 0.2.9.4) on mlmRev's Exam and Hsb82 and nlme's Oats, committed as
tests/reference/formula_reference.json with the CSV files it read back. Each
formula is read by ``lib.model.formula.parse_formula``, so these tests check the
parser, R's model-matrix rules and the fit together.

Tolerances are those of tests/test_multilevel_reference.py: the REML/ML
criterion 1e-6 relative to lme4's default fit, and the engine may only be lower
(lme4's optimizer stops within its tolerance: on the two random-slope models
here its criterion is 1.2e-6 and 8.7e-7 above the optimum, which moves theta in
its 4th digit). Every other number is compared with R's ``best`` fit, the same
model refitted from lme4's optimum with tolerances near machine precision: fixed
effects and SEs 1e-5 relative; theta, variance components and conditional modes
1e-4; Satterthwaite df 1e-3 and p-values 5e-3 relative (numerical derivatives
of the criterion in both programs).

Intercept-free models: ICC and R^2 (performance's) are compared in
tests/test_no_intercept_reference.py; every other number of those fits is compared here.
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

from lib.lmm import LmmFit, fit_lmm
from lib.model.design import RankDeficiencyWarning, build_design
from lib.model.formula import parse_formula
from tests.lmm_reference import ROOT

REFERENCE = ROOT / "tests" / "reference" / "formula_reference.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@cache
def frame(name: str, factors: tuple[str, ...]) -> pd.DataFrame:
    dtype = {f: str for f in factors}
    data = pd.read_csv(ROOT / "tests" / "reference" / "data" / name, dtype=dtype)
    for f in factors:
        data[f] = data[f].astype("category")
    return data


def case(case_id: str) -> dict:
    return next(c for c in reference()["cases"] if c["id"] == case_id)


CASE_IDS = [c["id"] for c in json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]]


@cache
def fitted(case_id: str) -> tuple[dict, LmmFit, tuple[str, ...]]:
    """Each case fitted once; also the messages the design gave. ``c["best"]`` and
    ``c["default"]`` hold R's numbers (module docstring)."""
    c = case(case_id)
    spec = parse_formula(c["formula"], reml=c["reml"])
    data = frame(c["data"], tuple(c["factors"]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = fit_lmm(data, spec)
    messages = tuple(str(w.message) for w in caught if w.category is RankDeficiencyWarning)
    return c, fit, messages


def rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fixed_effect_names_and_order_are_lme4s(case_id):
    c, fit, messages = fitted(case_id)
    assert list(fit.fixef_names) == c["fixef_names"]
    assert list(messages) == c["messages"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_criterion_matches_lme4(case_id):
    c, fit, _ = fitted(case_id)
    default, best = c["default"]["criterion"], c["best"]["criterion"]
    assert fit.criterion == pytest.approx(default, rel=1e-6)
    assert fit.criterion <= default + 1e-9 * abs(default)
    assert fit.criterion == pytest.approx(best, rel=1e-10)
    assert fit.nobs == c["nobs"]
    assert {k: v for k, v in fit.ngroups.items()} == c["ngroups"]


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fixed_effects_and_standard_errors_match_lme4(case_id):
    c, fit, _ = fitted(case_id)
    c = c["best"]
    assert np.allclose(fit.beta, c["fixef"], rtol=1e-5, atol=1e-8)
    assert rel(fit.beta_se, c["se"]) < 1e-5
    assert rel(fit.beta_t, c["t"]) < 1e-4 or np.allclose(fit.beta_t, c["t"], atol=1e-5)
    corr = np.asarray(c["fixef_corr"], float)
    assert np.allclose(fit.fixef_corr, corr, atol=1e-5)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_satterthwaite_df_and_p_match_lmertest(case_id):
    c, fit, _ = fitted(case_id)
    c = c["best"]
    assert rel(fit.beta_df, c["df"]) < 1e-3
    assert np.allclose(fit.beta_p, c["p"], rtol=5e-3, atol=1e-12)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_variance_components_match_lme4(case_id):
    c, fit, _ = fitted(case_id)
    c = c["best"]
    assert fit.sigma == pytest.approx(c["sigma"], rel=1e-4)
    assert np.allclose(fit.theta, c["theta"], rtol=1e-4, atol=1e-5)
    ours = {}
    for term in fit.varcorr.terms:
        for i, a in enumerate(term.names):
            ours[(term.group, a, None)] = (term.variances[i], term.sd[i])
            if term.correlated:
                for j in range(i + 1, len(term.names)):
                    ours[(term.group, a, term.names[j])] = (
                        term.covariance[i, j],
                        term.correlation[i, j],
                    )
    for row in c["varcorr"]:
        if row["grp"] == "Residual":
            assert fit.varcorr.residual_variance == pytest.approx(row["vcov"], rel=1e-4)
            continue
        # lme4 names the blocks of (x || g) "g", "g.1"; ours are one term named "g"
        group = row["grp"].split(".")[0] if row["grp"] not in fit.ngroups else row["grp"]
        vcov, sdcor = ours[(group, row["var1"], row["var2"])]
        assert vcov == pytest.approx(row["vcov"], rel=1e-4, abs=1e-7)
        assert sdcor == pytest.approx(row["sdcor"], rel=1e-4, abs=1e-5)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_conditional_modes_match_lme4(case_id):
    c, fit, _ = fitted(case_id)
    c = c["best"]
    factors = {f.group: f for f in fit.ranef}
    for block in c["ranef"]:
        factor = factors[block["group"].replace("(", "").replace(")", "")]
        for level, values in zip(block["levels"], block["values"], strict=True):
            k = factor.levels.index(level)
            for name, value in values.items():
                got = factor.modes[k, factor.names.index(name)]
                assert got == pytest.approx(value, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_scaled_residual_quantiles_match_lme4(case_id):
    c, fit, _ = fitted(case_id)
    c = c["best"]
    assert np.allclose(fit.scaled_resid_quantiles, c["scaled_resid_quantiles"], rtol=1e-4)


MATRICES = json.loads(REFERENCE.read_text(encoding="utf-8"))["matrices"]


@pytest.mark.parametrize("entry", MATRICES, ids=[m["formula"] for m in MATRICES])
def test_model_matrix_is_rs(entry):
    """Column names, order and values as model.matrix; kept columns as lme4's lFormula."""
    data = frame("formula_exam.csv", ("school", "student", "schgend", "sex", "vr", "type"))
    data = data.assign(I_std=2 * data["standLRT"] + 1)
    spec = parse_formula(entry["formula"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        design = build_design(data, spec)
    assert [str(w.message) for w in caught] == entry["messages"]
    assert list(design.fixef_names) == entry["kept"]
    assert design.fixef_dropped == tuple(n for n in entry["names"] if n not in entry["kept"])
    kept = [entry["names"].index(n) for n in entry["kept"]]
    assert np.allclose(design.X.sum(axis=0), np.asarray(entry["col_sums"])[kept], rtol=1e-12)
    assert np.allclose((design.X**2).sum(axis=0), np.asarray(entry["col_sumsq"])[kept])
