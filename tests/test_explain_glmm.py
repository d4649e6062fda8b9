"""``lib.present.explain_glmm``: odds and rate ratios in words, dispersion, on glmer's fits."""

from __future__ import annotations

import math
from functools import cache

from lib import GlmerModel, glmer
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.present import explain_glmm
from tests.glmm_reference import case
from tests.test_api_glmm import cbpp, owls


@cache
def contraception() -> GlmerModel:
    frame = case("contraception_slope").frame
    frame["urbanY"] = (frame["urban"] == "Y").astype(int)
    frame["use01"] = (frame["use"] == "Y").astype(int)
    return glmer("use01 ~ age + urbanY + livch + (urbanY | district)", frame, family="binomial")


def test_odds_ratio_per_unit_in_words():
    m = contraception()
    text = explain_glmm.fixef(m.fit, m.spec, m.response)
    fe = case("contraception_slope").expected["fixef"]
    estimate = dict(zip(fe["names"], fe["estimate"], strict=True))
    ratio = math.exp(estimate["urbanY"])
    assert f"The odds are {ratio:.2f} times as high for each extra unit of **urbanY**" in text
    age = math.exp(estimate["age"])
    assert f"The odds are {age:.2f} times as high ({100 * (1 - age):.1f}% lower)" in text
    # The outcome is named; the factor level is escaped for Markdown.
    assert "the odds that **use01** is 1" in text
    assert "where **livch** is **3\\+** as at its reference category" in text
    assert "random effects held at 0" in text


def test_rate_ratios_and_the_offset_for_poisson():
    m = owls()
    text = explain_glmm.fixef(m.fit, m.spec, m.response)
    assert "the expected rate of **SiblingNegotiation**" in text
    satiated = math.exp(case("owls_offset").expected["fixef"]["estimate"][1])
    assert (
        f"The expected rate is {satiated:.2f} times as high ({100 * (1 - satiated):.1f}% lower) "
        "where **FoodTreatment** is **Satiated**"
    ) in text


def test_trials_intercept_gives_odds_and_probability():
    m = cbpp()
    text = explain_glmm.fixef(m.fit, m.spec, m.response)
    b0 = case("cbpp_laplace").expected["fixef"]["estimate"][0]
    assert f"are {math.exp(b0):.3f} for a typical group: a probability of " in text
    assert f"{1 / (1 + math.exp(-b0)):.3f}" in text
    assert "(**incidence** out of **size**)" in text


def test_group_spread_as_a_ratio():
    m = cbpp()
    sd = case("cbpp_laplace").expected["varcorr"][0]["sd"]["(Intercept)"]
    text = explain_glmm.varcorr(m.fit, m.response)
    assert f"SD of {sd:.3f} on the log-odds scale" in text
    assert f"has odds {math.exp(sd):.2f} times as high as an average group" in text


def test_overdispersion_is_named_for_poisson_only():
    m = owls()
    expected = case("owls_offset").expected["pearson"]["dispersion_ratio"]
    text = explain_glmm.dispersion(m.fit, m.response)
    assert text is not None and "strong **overdispersion**" in text
    assert f"is {expected:.2f} (p < 2e-16)" in text
    assert explain_glmm.dispersion(cbpp().fit, cbpp().response) is None  # no trials given
    trials = case("cbpp_laplace").frame["size"].to_numpy()
    herd = explain_glmm.dispersion(cbpp().fit, cbpp().response, trials)
    assert herd is not None and "no sign of overdispersion" in herd


def test_icc_and_r2_in_words():
    m = contraception()
    text = explain_glmm.icc_r2(m.variances())
    expected = case("contraception_slope").expected
    assert f"{100 * expected['r2']['marginal']:.1f}% of the latent variance" in text


def test_success_level_names_the_outcome():
    spec = parse_formula("use ~ age + (1 | district)")
    words = explain_glmm.outcome_words(spec, ResponseFamily("binomial", success="Y*"))
    assert words == "the odds that **use** is **Y\\***"


def test_probit_is_described_on_its_scale():
    frame = case("cbpp_probit").frame
    response = ResponseFamily("binomial", "probit", trials="size")
    m = glmer("incidence ~ period + (1 | herd)", frame, family=response)
    text = explain_glmm.fixef(m.fit, m.spec, m.response)
    assert "shifts the probit of the probability" in text and "times as high" not in text
    assert explain_glmm.varcorr(m.fit, m.response).endswith("on the probit scale.")


def test_summary_paragraphs_in_order():
    m = owls()
    paragraphs = explain_glmm.summary(m.fit, m.spec, m.response)
    assert len(paragraphs) == 4
    assert paragraphs[0].startswith("When every predictor is 0")
    assert "dispersion ratio" in paragraphs[2]
    assert paragraphs[3].startswith("The deviance")
