"""lib.classroom.lesson_glmm: the steps' words and "what to look at" texts for a binomial
or Poisson outcome, written from the fits' numbers (never canned)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from lib.classroom import lesson, lesson_glmm
from lib.explore.rates import group_rates
from lib.glmm.fit import fit_glmm
from lib.glmm.variance import latent_variances
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.ols.glm import fit_glm, fit_glm_per_group
from lib.present.numbers import num, pct
from lib.table.catalogue import load_bundled
from lib.table.outcome_kind import with_binary_outcome

OWLS = Path(__file__).resolve().parent / "reference" / "data" / "glmm_owls.csv"
BINOMIAL = ResponseFamily("binomial", success="Y")
NULL = ModelSpec.one_factor("use", "district", reml=False)
RI = ModelSpec.one_factor("use", "district", fixed=("age",), reml=False)


def plain(text: str) -> str:
    """The sentence without Markdown bold and escapes."""
    return re.sub(r"\\(.)", r"\1", text.replace("**", ""))


@pytest.fixture(scope="module")
def contraception() -> pd.DataFrame:
    return load_bundled("contraception")


@pytest.fixture(scope="module")
def owls() -> pd.DataFrame:
    frame = pd.read_csv(OWLS)
    return frame.assign(log_brood=np.log(frame["BroodSize"]))


def test_steps_follow_the_linear_lesson_with_the_family_in_their_words():
    for family, name in (
        (BINOMIAL, "One logistic regression"),
        (ResponseFamily("binomial", link="probit"), "One probit regression"),
        (ResponseFamily("poisson"), "One Poisson regression"),
    ):
        steps = lesson_glmm.steps(family)
        assert [s.key for s in steps] == [s.key for s in lesson.STEPS]
        assert [s.number for s in steps] == list(range(1, 10))
        assert [s.needs_predictor for s in steps] == [s.needs_predictor for s in lesson.STEPS]
        assert steps[1].title == name
    assert "proportions" in lesson_glmm.steps(BINOMIAL)[0].question
    assert "mean counts" in lesson_glmm.steps(ResponseFamily("poisson"))[0].question


def test_look_data_names_the_extremes_and_the_groups_at_0_or_1(contraception):
    data = with_binary_outcome(contraception, "use", "Y")
    rates = group_rates(data, "use", ("district",), "binomial")
    text = plain(lesson_glmm.look_data(rates, BINOMIAL))
    assert "The proportion of rows with use = Y runs from 0.000 (district 11, 21 rows)" in text
    assert "to 1.000 (district 3, 2 rows) across 60 groups" in text
    assert f"over all rows it is {rates.overall:.3f}" in text
    assert "3 of the groups sit at 0 or 1 (3, 11, 49)" in text


def test_look_complete_reads_the_slope_as_an_odds_ratio(contraception):
    fit = fit_glm(contraception, "use", ["age"], BINOMIAL)
    text = plain(lesson_glmm.look_complete(fit, "age", "district", BINOMIAL))
    b = fit.coefficient("age")
    assert f"multiplies the odds that use is Y by {math.exp(b):.3f}" in text
    assert f"log-odds slope {b:.4f}, SE {fit.se[1]:.4f}" in text
    assert f"residual deviance is {fit.deviance:,.1f} on {fit.df_resid:,} df" in text
    probit = ResponseFamily("binomial", link="probit", success="Y")
    fit = fit_glm(contraception, "use", ["age"], probit)
    text = plain(lesson_glmm.look_complete(fit, "age", "district", probit))
    assert f"shifts the probit of the probability by {fit.coefficient('age'):.4f}" in text


def test_look_dummy_names_the_infinite_dummies(contraception):
    complete = fit_glm(contraception, "use", ["age"], BINOMIAL)
    dummy = fit_glm(contraception, "use", ["age"], BINOMIAL, group="district")
    text = plain(lesson_glmm.look_dummy(dummy, complete, "age", "district"))
    assert f"all share the slope {dummy.coefficient('age'):.4f}" in text
    assert f"drops from {complete.deviance:,.1f} to {dummy.deviance:,.1f}" in text
    assert f"AIC goes from {complete.aic:,.1f} to {dummy.aic:,.1f}" in text
    assert dummy.aic < complete.aic and "explain more than their parameters cost" in text
    assert "59 dummy variables, one per group but the reference (1)" in text
    assert "3 groups (3, 11, 49) have outcomes all 0 or all 1" in text


def test_look_separate_names_the_groups_that_cannot_be_fitted(contraception):
    per_group = fit_glm_per_group(contraception, "use", "age", "district", BINOMIAL)
    text = plain(lesson_glmm.look_separate(per_group, BINOMIAL))
    slopes = per_group.slopes()
    assert "Among the 56 groups that can be fitted" in text
    assert f"from {np.nanmin(slopes):.4f}" in text and f"to {np.nanmax(slopes):.4f}" in text
    assert "4 of 60 groups cannot be fitted: 3 (no failures); 11, 49 (no successes); " in text
    assert "55 (age separates the outcomes)" in text
    assert "one reason to pool" in text


def test_look_null_is_the_latent_icc(contraception):
    fit = fit_glmm(contraception, NULL, BINOMIAL)
    variances = latent_variances(fit, contraception, NULL, BINOMIAL)
    tau2 = float(fit.varcorr[0].covariance[0, 0])
    icc = tau2 / (tau2 + np.pi**2 / 3)
    assert variances.icc_adjusted == pytest.approx(icc, rel=1e-12)
    text = plain(lesson_glmm.look_null(fit, variances, BINOMIAL))
    assert f"π²/3 = {np.pi**2 / 3:.3f}" in text
    assert f"The ICC is {tau2:.3f} / ({tau2:.3f} + {np.pi**2 / 3:.3f}) = {icc:.3f}" in text
    assert f"{100 * icc:.1f}% of the latent variation" in text


def test_look_null_of_counts_uses_the_lognormal_approximation(owls):
    family = ResponseFamily("poisson", offset="log_brood")
    spec = ModelSpec.one_factor("SiblingNegotiation", "Nest", reml=False)
    fit = fit_glmm(owls, spec, family)
    variances = latent_variances(fit, owls, spec, family)
    mu = math.exp(float(fit.beta[0]))
    assert variances.distribution == pytest.approx(math.log1p(1 / mu))
    text = plain(lesson_glmm.look_null(fit, variances, family))
    assert f"ln(1 + 1/μ) = {math.log1p(1 / mu):.3f}, with μ = {mu:.3f}" in text
    assert f"= {variances.icc_adjusted:.3f}: {pct(variances.icc_adjusted)}" in text


def test_look_random_intercept_against_one_curve(contraception):
    fit = fit_glmm(contraception, RI, BINOMIAL)
    null = fit_glmm(contraception, NULL, BINOMIAL)
    complete = fit_glm(contraception, "use", ["age"], BINOMIAL)
    text = plain(lesson_glmm.look_random_intercept(fit, null, complete, "age", BINOMIAL))
    assert f"by {math.exp(fit.beta[1]):.3f} (log-odds slope {fit.beta[1]:.4f}" in text
    assert f"against {complete.coefficient('age'):.4f}" in text
    tau0, tau1 = null.varcorr[0].covariance[0, 0], fit.varcorr[0].covariance[0, 0]
    assert f"from {tau0:.3f} to {tau1:.3f}: it grows, as it can in a logistic model" in text
    assert tau1 > tau0


def test_look_random_slope_and_full(contraception):
    rs = ModelSpec.one_factor("use", "district", random_intercept=False, random_slopes=("age",))
    rs = rs.with_changes(reml=False)
    fit = fit_glmm(contraception, rs, BINOMIAL)
    text = plain(lesson_glmm.look_random_slope(fit, BINOMIAL))
    assert f"baseline ({fit.beta[0]:.3f} on the log-odds scale)" in text
    assert f"SD {fit.varcorr[0].sd[-1]:.3f}" in text
    full = ModelSpec.one_factor(
        "use", "district", fixed=("age",), random_slopes=("age",), reml=False
    )
    fit = fit_glmm(contraception, full, BINOMIAL)
    text = plain(lesson_glmm.look_full(fit, BINOMIAL))
    r = fit.varcorr[0].correlation[1, 0]
    assert f"Their correlation is {num(r, 2)}" in text
    assert f"average slope {fit.beta[1]:.4f} (odds ratio {math.exp(fit.beta[1]):.3f})" in text


def test_curves_are_the_fits_on_the_response_scale(contraception):
    complete = fit_glm(contraception, "use", ["age"], BINOMIAL)
    curve = lesson_glmm.complete_curve(complete, "age", (-10.0, 20.0), "one")
    expected = special.expit(complete.coef[0] + complete.coef[1] * curve["x"])
    np.testing.assert_allclose(curve["y"], expected)
    assert curve["x"].iloc[0] == -10 and curve["x"].iloc[-1] == 20
    dummy = fit_glm(contraception, "use", ["age"], BINOMIAL, group="district")
    lines = lesson_glmm.dummy_curves(dummy, "age", "district", ["1", "2", "11"], (0.0, 1.0))
    assert sorted(lines["group"].unique()) == ["1", "2"]  # 11 is all 0: no finite curve
    two = lines[lines["group"] == "2"]
    shift = dummy.coefficient("district2")
    np.testing.assert_allclose(
        two["y"], special.expit(dummy.coef[0] + shift + dummy.coef[1] * two["x"])
    )
    per_group = fit_glm_per_group(contraception, "use", "age", "district", BINOMIAL)
    lines = lesson_glmm.separate_curves(per_group, "binomial", "logit", (0.0, 1.0), ["1", "55"])
    assert lines["group"].unique().tolist() == ["1"]  # 55 is separated


def test_glm_line_writes_r_code():
    assert (
        lesson_glmm.glm_line("use", "age", BINOMIAL, group="district")
        == "glm(use ~ age + factor(district), data = d, family = binomial)"
    )
    trials = ResponseFamily("binomial", link="probit", trials="size")
    assert lesson_glmm.glm_line("incidence", "period", trials) == (
        "glm(cbind(incidence, size - incidence) ~ period, data = d, "
        'family = binomial(link = "probit"))'
    )
    counts = ResponseFamily("poisson", offset="log_brood")
    assert lesson_glmm.glm_line("n calls", "x", counts) == (
        "glm(`n calls` ~ x + offset(log_brood), data = d, family = poisson)"
    )
