"""Categorical columns on the left of "|" against lme4 (lmer and glmer).

Reference: tests/reference/factor_slopes_reference.R (lme4 1.1-31, tight control)
on mlmRev's Exam (``(sex | school)``, ``(0 + sex | school)``, a numeric and a
categorical slope in one term, ``(0 + standLRT + sex || school)``, an interaction
``(standLRT:sex | school)`` and ``(1 + standLRT:sex || school)``) and Contraception
(``(urban | district)``, the classic
``use ~ age + I(age^2) + urban + livch + (urban | district)``, ``(0 + urban | district)``
and ``(1 + age:urban | district)``), written to factor_slopes_reference.json. Each formula
is read by our parser and fitted through the notebook API (``lib.lmer`` /
``lib.glmer``), so parser, design, engines, names and predictions are checked together.

Tolerances: the criterion (REML/ML, or -2 logLik of a GLMM) within 1e-6 relative
and never worse than lme4's; linear fits: fixed effects within 1e-4 of their SE,
SEs 1e-5 relative, SDs 1e-4 relative, correlations and conditional modes 1e-4;
GLMMs as tests/test_glmm_*: fixed effects within 2e-3 of their SE, SEs, SDs 2e-3
relative, correlations and conditional modes 2e-3. Predictions inherit those.
"""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd
import pytest

import lib
from lib.errors import DataError
from lib.present.summary import varcorr_rows
from tests.lmm_reference import ROOT

REFERENCE = ROOT / "tests" / "reference" / "factor_slopes_reference.json"
DATA = ROOT / "tests" / "reference" / "data"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def case(case_id: str) -> dict:
    return next(c for c in reference()["cases"] if c["id"] == case_id)


CASE_IDS = [c["id"] for c in json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]]
LMER_IDS = [i for i in CASE_IDS if case(i)["kind"] == "lmer"]
GLMER_IDS = [i for i in CASE_IDS if case(i)["kind"] == "glmer"]


@cache
def frame(name: str, factors: tuple[str, ...]) -> pd.DataFrame:
    data = pd.read_csv(DATA / name, dtype={f: str for f in factors})
    return data.astype({f: "category" for f in factors})


@cache
def model(case_id: str):  # noqa: ANN201
    c = case(case_id)
    data = frame(c["data"], tuple(c["factors"]))
    if c["kind"] == "lmer":
        return lib.lmer(c["formula"], data, reml=c["reml"])
    return lib.glmer(c["formula"], data, family="binomial", success="Y")


def tol(case_id: str) -> float:
    return 1e-4 if case(case_id)["kind"] == "lmer" else 2e-3


def blocks(fit) -> list:  # noqa: ANN001
    """(label, names, sd, correlation) per lme4 VarCorr block, labels as lme4 prints them."""
    vc = fit.varcorr
    rows, _, _ = varcorr_rows(vc if hasattr(vc, "terms") else _Terms(vc))
    out = []
    for row in rows:
        if row["Groups"]:
            out.append([row["Groups"], [], []])
        out[-1][1].append(row["Name"])
        out[-1][2].append(row["Std.Dev."])
    return out


class _Terms:
    def __init__(self, terms) -> None:  # noqa: ANN001
        self.terms = terms


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_criterion_matches_and_is_never_worse(case_id: str) -> None:
    c, fit = case(case_id), model(case_id).fit
    if c["kind"] == "lmer":
        ours, theirs = fit.criterion, c["criterion"]
    else:
        ours, theirs = -2.0 * fit.loglik, -2.0 * c["loglik"]
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert ours <= theirs + 1e-9 * abs(theirs)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_fixed_effects_and_standard_errors(case_id: str) -> None:
    c, fit = case(case_id), model(case_id).fit
    assert list(fit.fixef_names) == c["fixef_names"]
    se = np.asarray(c["fixef_se"])
    within = 1e-4 if c["kind"] == "lmer" else 2e-3
    assert np.all(np.abs(np.asarray(fit.beta) - c["fixef"]) <= within * se)
    ours_se = fit.beta_se if c["kind"] == "lmer" else fit.se
    np.testing.assert_allclose(ours_se, se, rtol=1e-5 if c["kind"] == "lmer" else 2e-3)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_variance_components_are_named_and_valued_as_lme4s(case_id: str) -> None:
    c, fit = case(case_id), model(case_id).fit
    ours = blocks(fit)
    theirs = c["varcorr"]
    assert [b[0] for b in ours] == [b["group"] for b in theirs]
    assert [b[1] for b in ours] == [b["names"] for b in theirs]
    for mine, ref in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(mine[2], ref["sd"], rtol=tol(case_id))
    terms = fit.varcorr.terms if hasattr(fit.varcorr, "terms") else fit.varcorr
    correlated = [t for t in terms if t.correlated]
    wanted = [np.asarray(b["correlation"]) for b in theirs if len(b["names"]) > 1]
    assert len(correlated) == len(wanted) >= 1
    for term, corr in zip(correlated, wanted, strict=True):
        np.testing.assert_allclose(term.correlation, corr, atol=tol(case_id))
    if c["kind"] == "lmer":
        assert fit.sigma == pytest.approx(c["sigma"], rel=1e-5)


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_conditional_modes(case_id: str) -> None:
    c, fit = case(case_id), model(case_id).fit
    for ref in c["ranef"]:
        factor = next(f for f in fit.ranef if f.group == ref["group"])
        assert list(factor.names) == ref["names"]
        assert sorted(factor.levels) == sorted(ref["levels"])
        ours = pd.DataFrame(factor.modes, index=factor.levels).loc[ref["levels"]].to_numpy()
        theirs = np.asarray(ref["modes"])
        np.testing.assert_allclose(ours, theirs, atol=tol(case_id) * np.abs(theirs).max())


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_predictions_for_new_rows_with_an_unseen_group(case_id: str) -> None:
    c, m = case(case_id), model(case_id)
    rows = pd.DataFrame(c["newdata"])
    scale = 1e-5 if c["kind"] == "lmer" else 2e-3
    for re_form, key in (("conditional", "predict_conditional"), ("marginal", "predict_marginal")):
        got = m.predict(rows, re_form=re_form)  # the link scale, as lme4's default
        np.testing.assert_allclose(got, c[key], atol=scale * np.abs(c[key]).max())
    # The unseen group (last row) gets the population prediction.
    assert c["predict_conditional"][-1] == pytest.approx(c["predict_marginal"][-1])


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_wald_intervals_of_the_fixed_effects(case_id: str) -> None:
    c, m = case(case_id), model(case_id)
    ci = m.confint("wald")
    fixed = ci[ci["effect"] == "fixed"]
    assert list(fixed["term"]) == c["wald"]["names"]
    width = np.asarray(c["wald"]["high"]) - np.asarray(c["wald"]["low"])
    for side in ("low", "high"):
        gap = np.abs(fixed[f"conf.{side}"].to_numpy() - c["wald"][side])
        assert np.all(gap <= tol(case_id) * width)


def test_profile_intervals_of_a_categorical_slope_model() -> None:
    """confint(method = "profile") of (sex | school), within 5e-3 of the interval width
    (the correlation's interval is [-1, 1] in both)."""
    c, m = case("exam_sex_slope"), model("exam_sex_slope")
    ci = m.confint("profile").set_index("term")
    names = {
        "sd_(Intercept)|school": "sd__(Intercept)",
        "cor_sexM.(Intercept)|school": "cor__(Intercept).sexM",
        "sd_sexM|school": "sd__sexM",
        "sigma": "sd__Observation",
    }
    ref = c["profile"]
    for name, low, high in zip(ref["names"], ref["low"], ref["high"], strict=True):
        row = ci.loc[names.get(name, name)]
        assert row["conf.low"] == pytest.approx(low, abs=5e-3 * (high - low))
        assert row["conf.high"] == pytest.approx(high, abs=5e-3 * (high - low))


def test_the_printed_summary_names_the_dummy_effects() -> None:
    text = str(model("contraception_urban"))
    lines = text.splitlines()
    start = lines.index("Random effects:")
    assert lines[start + 2].split()[:2] == ["district", "(Intercept)"]
    assert lines[start + 3].split()[0] == "urbanY"
    assert "Formula: use ~ age + urban + (urban | district)" in text
    two = str(model("exam_double_bar"))
    assert any(line.split()[:2] == ["school.1", "sexF"] for line in two.splitlines())


def test_two_spellings_of_one_model_agree() -> None:
    """(sex | school) and (0 + sex | school) are the same model: one criterion, and the
    level effects' covariance of one is a linear map of the other's."""
    a, b = model("exam_sex_slope").fit, model("exam_sex_all_levels").fit
    assert a.criterion == pytest.approx(b.criterion, rel=1e-9)
    A = np.array([[1.0, 0.0], [1.0, 1.0]])  # (Intercept, sexM) -> (sexF, sexM)
    np.testing.assert_allclose(
        A @ a.varcorr.terms[0].covariance @ A.T, b.varcorr.terms[0].covariance, rtol=1e-4
    )


def test_double_bar_with_a_factor_is_refused_because_lme4_finds_a_ridge() -> None:
    """lme4 reads (urban || district) as (1 | district) + (0 + urban | district): two of
    its optimizers reach the same logLik with different variances (the reference
    records both), so the model is refused with the models people mean."""
    ridge = reference()["double_bar_ridge"]
    assert ridge[0]["loglik"] == pytest.approx(ridge[1]["loglik"], rel=1e-8)
    assert abs(ridge[0]["theta"][0] - ridge[1]["theta"][0]) > 0.05
    data = frame("glmm_contraception.csv", ("use", "urban", "livch", "district"))
    for formula in (
        "use ~ age + urban + (urban || district)",
        "use ~ age + urban + (1 | district) + (0 + urban | district)",
    ):
        with pytest.raises(DataError, match=r"only those sums can be estimated") as info:
            lib.glmer(formula, data, family="binomial", success="Y")
        assert "(urban | district)" in str(info.value)
        assert "(1 | district) + (1 | district:urban)" in str(info.value)


def test_a_factor_with_one_level_or_very_many_levels_is_refused() -> None:
    data = frame("formula_exam.csv", ("school", "student", "schgend", "sex", "vr", "type"))
    girls = data[data["sex"] == "F"].copy()
    with pytest.raises(DataError, match=r"'sex' on the left of '\| school' has only one value"):
        lib.lmer("normexam ~ standLRT + (sex | school)", girls)
    many = data.copy()
    many["band"] = (np.arange(len(many)) % 12).astype(str)
    with pytest.raises(DataError, match=r"'band' has 12 levels.*\(1 \| school:band\)"):
        lib.lmer("normexam ~ standLRT + (0 + band | school)", many)


@pytest.mark.parametrize("case_id", ["exam_sex_slope", "contraception_urban"])
def test_icc_and_r2_as_performance_computes_them(case_id: str) -> None:
    """insight matches a random effect's name (sexM, urbanY) with the fixed effects'."""
    c, m = case(case_id), model(case_id)
    want = c["performance"]
    if c["kind"] == "lmer":
        got = {
            "icc_adjusted": m.fit.icc.adjusted,
            "icc_unadjusted": m.fit.icc.unadjusted,
            "r2_marginal": m.fit.r2.marginal,
            "r2_conditional": m.fit.r2.conditional,
        }
    else:
        v = m.variances()
        got = {k: getattr(v, k) for k in want}
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=tol(case_id)), key
