"""``lib.glmer``: the notebook API for generalized mixed models against glmer's numbers."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from lib import GlmerModel, glmer
from lib.errors import ExplorerError, SpecError
from lib.model.response import ResponseFamily
from tests.glmm_reference import case

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
OWLS = (
    "SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + offset(logBroodSize)"
    " + (1 | Nest)"
)


@cache
def cbpp() -> GlmerModel:
    return glmer(CBPP, case("cbpp_laplace").frame, family="binomial", data_name="cbpp")


@cache
def owls() -> GlmerModel:
    frame = case("owls_offset").frame
    frame["logBroodSize"] = np.log(frame["BroodSize"].astype(float))
    return glmer(OWLS, frame, family="poisson", data_name="owls")


def test_cbind_formula_reads_successes_and_trials():
    m = cbpp()
    assert m.response == ResponseFamily("binomial", trials="size")
    assert m.spec.outcome == "incidence"
    expected = case("cbpp_laplace").expected
    assert m.fit.loglik == pytest.approx(expected["loglik"], rel=1e-6)
    assert list(m.fixef.index) == expected["fixef"]["names"]


def test_tidy_matches_broom_mixed():
    tidy = cbpp().tidy()
    expected = case("cbpp_laplace").expected["tidy"]
    assert list(tidy["term"]) == [r["term"] for r in expected]
    assert list(tidy["effect"]) == [r["effect"] for r in expected]
    for row, ref in zip(tidy.itertuples(index=False), expected, strict=True):
        assert row.estimate == pytest.approx(ref["estimate"], rel=2e-3)
        if ref["std.error"] is not None:
            assert row[4] == pytest.approx(ref["std.error"], rel=2e-3)
            assert row.statistic == pytest.approx(ref["statistic"], rel=2e-3)
        else:
            assert np.isnan(row[4])


def test_wald_confint_and_ratios():
    m = cbpp()
    ci = m.confint("wald")
    wald = case("cbpp_laplace").expected["ci_wald"]
    se = case("cbpp_laplace").expected["fixef"]["se"]
    fixed = ci[ci["effect"] == "fixed"]
    for k, row in enumerate(fixed.itertuples(index=False)):
        low, high = wald[row.term]
        assert row[4] == pytest.approx(low, abs=2e-3 * se[k])
        assert row[5] == pytest.approx(high, abs=2e-3 * se[k])
    assert ci[ci["effect"] == "ran_pars"]["conf.low"].isna().all()
    ratios = m.ratios()
    columns = ["effect", "group", "term", "odds ratio", "conf.low", "conf.high"]
    assert list(ratios.columns) == columns
    np.testing.assert_allclose(ratios["conf.low"], np.exp(fixed["conf.low"]), rtol=1e-12)
    np.testing.assert_allclose(ratios["odds ratio"], np.exp(m.fit.beta), rtol=1e-12)
    with pytest.raises(SpecError, match="choose wald or profile"):
        m.confint("boot")


def test_offset_in_the_formula_and_rate_ratios():
    m = owls()
    assert m.response.offset == "logBroodSize"
    expected = case("owls_offset").expected
    assert m.fit.loglik == pytest.approx(expected["loglik"], rel=1e-6)
    assert "rate ratio" in m.ratios().columns
    text = str(m)
    assert "Family: poisson  ( log )" in text and "offset(logBroodSize)" in text


def test_predictions_on_both_scales_match_lme4():
    m = owls()
    pred = case("owls_offset").expected["predictions"]
    rows = pred["rows"]
    np.testing.assert_allclose(m.predict()[rows], pred["link_conditional"], rtol=2e-4)
    np.testing.assert_allclose(
        m.predict(type="response")[rows], pred["response_conditional"], rtol=5e-4
    )
    np.testing.assert_allclose(
        m.predict(re_form="marginal", type="response")[rows], pred["response_marginal"], rtol=5e-4
    )
    new = pd.DataFrame(pred["newdata"])
    new["logBroodSize"] = np.log(new["BroodSize"].astype(float))
    np.testing.assert_allclose(
        m.predict(new, type="response"), pred["newdata_response_conditional"], rtol=5e-4
    )


def test_ranef_and_varcorr_tables():
    m = owls()
    ranef = m.ranef()["Nest"]
    ref = case("owls_offset").expected["ranef"]["Nest"]
    got = ranef.loc[list(ref["levels"]), "(Intercept)"].to_numpy()
    np.testing.assert_allclose(got, [v[0] for v in ref["values"]], atol=2e-4)
    vc = m.varcorr()
    assert list(vc.columns) == ["Groups", "Name", "Variance", "Std.Dev."]
    assert vc["Std.Dev."].iloc[0] == pytest.approx(0.45570732975163447, rel=2e-3)


def test_variances_dispersion_and_effects():
    m = owls()
    expected = case("owls_offset").expected
    v = m.variances()
    assert v.icc_adjusted == pytest.approx(expected["icc"]["adjusted"], rel=2e-3)
    assert v.r2_marginal == pytest.approx(expected["r2"]["marginal"], rel=2e-3)
    assert m.dispersion().ratio == pytest.approx(
        expected["pearson"]["dispersion_ratio"], rel=2e-3
    )
    effects = m.effects("ArrivalTime", "FoodTreatment")
    assert set(effects["group"]) == {"Deprived", "Satiated"}
    assert (effects["predicted"] > 0).all()


def test_profile_confint_matches_lme4():
    m = cbpp()
    ci = m.confint("profile")
    profile = case("cbpp_laplace").expected["ci_profile"]
    names = {"sd__(Intercept)": ".sig01"}
    for row in ci.itertuples(index=False):
        low, high = profile[names.get(row.term, row.term)]
        assert row[4] == pytest.approx(low, abs=1e-3)
        assert row[5] == pytest.approx(high, abs=1e-3)


def test_success_level_of_a_text_outcome():
    m = glmer("use ~ age + urban + livch + (1 | district)", case("contraception_ri").frame,
              success="Y")  # fmt: skip
    assert m.fit.outcome_levels.success == "Y"
    assert m.fit.loglik == pytest.approx(case("contraception_ri").expected["loglik"], rel=1e-6)


def test_html_is_escaped():
    frame = case("cbpp_laplace").frame.rename(columns={"herd": "<b>herd</b>"})
    m = glmer("incidence ~ period + (1 | `<b>herd</b>`)", frame, trials="size")
    page = m._repr_html_()
    assert "<b>herd" not in page and "&lt;b&gt;herd" in page


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"family": "binomial", "trials": "other"}, "cbind\\(\\) names trials 'size'"),
        ({"family": "poisson"}, "Only a binomial model takes a trials column"),
        ({"family": ResponseFamily("binomial"), "link": "probit"}, "inside the ResponseFamily"),
    ],
)
def test_bad_arguments_say_what_to_change(kwargs, message):
    with pytest.raises(ExplorerError, match=message):
        glmer(CBPP, case("cbpp_laplace").frame, **kwargs)


def test_gaussian_is_lmers():
    with pytest.raises(SpecError, match="use lmer"):
        glmer("incidence ~ period + (1 | herd)", case("cbpp_laplace").frame, family="gaussian")


def test_data_must_be_a_frame():
    with pytest.raises(SpecError, match="must be a pandas DataFrame"):
        glmer(CBPP, {"incidence": [1]})  # type: ignore[arg-type]
    assert isinstance(case("cbpp_laplace").frame, pd.DataFrame)
