"""lib.present.report_glmm: a generalized model's report sections, rendered by build_report."""

from __future__ import annotations

import html
import math

import pytest

from lib.present import report
from lib.present.report_glmm import glmm_fit_sections
from tests.glmm_reference import case
from tests.test_api_glmm import cbpp, owls


def test_binomial_report_holds_glmers_numbers_and_odds_ratios():
    m = cbpp()
    sections = glmm_fit_sections(m.fit, m.spec, m.response)
    headings = [s.heading for s in sections]
    assert headings == [
        "Model", "Scaled residuals", "Random effects", "Fixed effects", "Odds ratios",
    ]  # fmt: skip
    text = report.build_report("Report", ["Data: cbpp"], sections)
    assert html.escape("cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)") in text
    expected = case("cbpp_laplace").expected
    assert f"<td>{expected['deviance_summary']:,.4f}</td>" in text  # 184.0526
    for b in m.fit.beta:
        assert f"<td>{b:,.4f}</td>" in text
        assert f"<td>{math.exp(b):,.4f}</td>" in text
    assert "z value" in text and "Residual" not in text
    assert "Family: binomial  ( logit )" in text
    assert "<script" not in text


def test_poisson_report_has_rate_ratios_and_the_dispersion_check():
    m = owls()
    sections = glmm_fit_sections(
        m.fit, m.spec, m.response, readings={"Model": "Mine."}, variances=m.variances()
    )
    by_heading = {s.heading: s for s in sections}
    assert "Rate ratios" in by_heading and "Dispersion" in by_heading
    assert "overdispersion" in by_heading["Dispersion"].text[0]
    assert by_heading["Model"].text == ("Mine.",)
    assert "offset(logBroodSize)" in by_heading["Model"].code
    icc = by_heading["Intraclass correlation and R²"].tables[0][1]
    expected = case("owls_offset").expected["icc"]["adjusted"]
    assert icc.loc["Adjusted ICC", "Value"] == pytest.approx(expected, rel=2e-3)


def test_group_baselines_on_the_probability_scale():
    from lib.present.glmm_summary import group_baselines

    m = cbpp()
    table = group_baselines(m.fit, m.response)
    ref = case("cbpp_laplace").expected
    b0 = ref["fixef"]["estimate"][0]
    modes = dict(zip(ref["ranef"]["herd"]["levels"], ref["ranef"]["herd"]["values"], strict=True))
    for level, row in table.iterrows():
        eta = b0 + modes[str(level)][0]
        assert row["Probability"] == pytest.approx(1 / (1 + math.exp(-eta)), abs=2e-4)
        assert row["lower"] < row["Probability"] < row["upper"]
    assert table["n"].sum() == ref["nobs"]
    assert list(table.columns) == ["n", "link", "Probability", "lower", "upper"]
