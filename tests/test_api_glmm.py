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
    assert list(ratios.columns) == ["Odds ratio", "lower", "upper", "Pr(>|z|)"]
    np.testing.assert_allclose(ratios["lower"], np.exp(fixed["conf.low"]), rtol=1e-12)
    with pytest.raises(SpecError, match="not available yet"):
        m.confint("profile")


def test_offset_in_the_formula_and_rate_ratios():
    m = owls()
    assert m.response.offset == "logBroodSize"
    expected = case("owls_offset").expected
    assert m.fit.loglik == pytest.approx(expected["loglik"], rel=1e-6)
    assert "Rate ratio" in m.ratios().columns
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
    with pytest.raises(SpecError, match="not available yet"):
        m.predict(re_form="marginal")


def test_ranef_and_varcorr_tables():
    m = owls()
    ranef = m.ranef()["Nest"]
    ref = case("owls_offset").expected["ranef"]["Nest"]
    got = ranef.loc[list(ref["levels"]), "(Intercept)"].to_numpy()
    np.testing.assert_allclose(got, [v[0] for v in ref["values"]], atol=2e-4)
    vc = m.varcorr()
    assert list(vc.columns) == ["Groups", "Name", "Variance", "Std.Dev."]
    assert vc["Std.Dev."].iloc[0] == pytest.approx(0.45570732975163447, rel=2e-3)


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
