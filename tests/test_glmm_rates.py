"""Rates per group for generalized models (issue 16): lib.explore.rates (Explore),
lib.classroom.pooling_glmm (Pooling), lib.charts.rates, and the Model page's tables
(ui.views.model_glmm) against the fit they show."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from lib.charts.rates import rate_rows_chart
from lib.classroom.pooling_glmm import group_curves, rate_pooling, rate_table
from lib.errors import SpecError
from lib.explore.rates import group_rates, rates_table
from lib.glmm.fit import fit_glmm
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.table.catalogue import load_bundled
from ui.views import model_glmm

CBPP = Path(__file__).resolve().parent / "reference" / "data" / "glmm_cbpp.csv"


@pytest.fixture(scope="module")
def contraception_null():
    data = load_bundled("contraception")
    spec = parse_formula("use ~ 1 + (1 | district)")
    fam = ResponseFamily("binomial")
    return data, spec, fam, fit_glmm(data, spec, fam)


def test_null_model_pooled_rate_is_the_conditional_mode_on_the_probability_scale(
    contraception_null,
):
    frame, spec, fam, fit = contraception_null
    result = rate_pooling(frame, spec, fam, fit, "district")
    factor = fit.ranef[0]
    assert tuple(factor.levels) == result.levels
    expected = expit(fit.beta[0] + factor.modes[:, 0])
    np.testing.assert_allclose(result.partial, expected, rtol=1e-10)
    np.testing.assert_allclose(result.population, expit(fit.beta[0]), rtol=1e-12)
    assert result.overall == pytest.approx(expit(fit.beta[0]), rel=1e-12)
    # Every district's estimate lies between its own proportion and the population's.
    lo = np.minimum(result.observed, result.population) - 1e-12
    hi = np.maximum(result.observed, result.population) + 1e-12
    assert np.all((lo <= result.partial) & (result.partial <= hi))
    pull = result.pull[np.isfinite(result.pull)]
    assert np.all((pull > 0) & (pull < 1))
    table = rate_table(result)
    assert list(table.columns) == [
        "district",
        "rows",
        "observed proportion",
        "model estimate",
        "population",
    ]
    assert int(table["rows"].sum()) == fit.nobs == 1934


def test_binomial_with_trials_weights_rates_by_trials():
    data = pd.read_csv(CBPP)
    spec = parse_formula("incidence ~ period + (1 | herd)")
    fam = ResponseFamily("binomial", trials="size")
    fit = fit_glmm(data, spec, fam)
    result = rate_pooling(data, spec, fam, fit, "herd")
    by_herd = data.groupby(data["herd"].astype(str))[["incidence", "size"]].sum()
    observed = (by_herd["incidence"] / by_herd["size"]).reindex(result.levels)
    np.testing.assert_allclose(result.observed, observed.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(result.trials, by_herd["size"].reindex(result.levels))
    assert "trials" in rate_table(result).columns
    rates = group_rates(data, "incidence", ("herd",), "binomial", trials="size")
    np.testing.assert_allclose(rates.rate, result.observed, rtol=1e-12)
    assert rates.overall == pytest.approx(data["incidence"].sum() / data["size"].sum())


def test_rate_pooling_refuses_a_gaussian_family(contraception_null):
    frame, spec, _, fit = contraception_null
    with pytest.raises(SpecError, match="binomial or Poisson"):
        rate_pooling(frame, spec, ResponseFamily(), fit, "district")


def test_poisson_group_rates_give_mean_and_variance():
    frame = pd.DataFrame({"g": ["a", "a", "a", "b", "b"], "n": [0, 2, 4, 1, 1]})
    rates = group_rates(frame, "n", ("g",), "poisson")
    np.testing.assert_allclose(rates.rate, [2.0, 1.0])
    np.testing.assert_allclose(rates.variance, [4.0, 0.0])
    assert rates.overall == pytest.approx(8 / 5)
    assert list(rates_table(rates).columns) == [
        "g",
        "rows",
        "total count",
        "mean count",
        "variance",
    ]


def test_rate_chart_draws_observed_pooled_and_population_layers(contraception_null):
    frame, spec, fam, fit = contraception_null
    result = rate_pooling(frame, spec, fam, fit, "district")
    spec_dict = rate_rows_chart(
        result.levels,
        result.sizes,
        result.observed,
        partial=result.partial,
        population=result.population,
        overall=result.overall,
    ).to_dict()
    marks = [layer["mark"]["type"] for layer in spec_dict["layer"][0]["layer"]]
    assert marks == ["rule", "point", "point", "tick"]
    assert spec_dict["layer"][1]["mark"]["strokeDash"] == [14, 6]
    x = spec_dict["layer"][0]["layer"][1]["encoding"]["x"]
    assert x["scale"]["domain"] == [0, 1]


def test_the_model_page_names_the_level_counted_as_success(contraception_null):
    *_, fam, fit = contraception_null
    named = model_glmm.named_success(fam, fit)
    assert named.success == "Y" and fam.success is None
    chosen = ResponseFamily("binomial", success="N")
    assert model_glmm.named_success(chosen, fit) is chosen
    shown = model_glmm.p_shown(pd.DataFrame({"Pr(>|z|)": [3.07e-10, 0.1123]}))
    assert shown["Pr(>|z|)"].tolist() == ["3.07e-10", "0.112"]


def test_group_curves_are_the_inverse_link_of_each_groups_line():
    data = load_bundled("contraception")
    spec = parse_formula("use ~ age + (1 + age | district)")
    fam = ResponseFamily("binomial")
    fit = fit_glmm(data, spec, fam)
    curves = group_curves(fit, fam, "district", "age", (-10.0, 20.0), groups=("1", "2"))
    assert set(curves["group"]) == {"1", "2", "All (fixed effects)"}
    factor = fit.ranef[0]
    k = factor.levels.index("2")
    two = curves[curves["group"] == "2"]
    a = fit.beta[0] + factor.modes[k, 0]
    b = fit.beta[1] + factor.modes[k, 1]
    np.testing.assert_allclose(two["y"], expit(a + b * two["x"]), rtol=1e-12)
    overall = curves[curves["group"] == "All (fixed effects)"]
    np.testing.assert_allclose(overall["y"], expit(fit.beta[0] + fit.beta[1] * overall["x"]))
    assert overall["x"].min() == -10.0 and overall["x"].max() == 20.0


def test_poisson_rates_with_an_offset_give_counts_per_exposure():
    frame = pd.DataFrame(
        {"g": ["a", "a", "b"], "n": [2, 4, 3], "log_days": np.log([1.0, 3.0, 6.0])}
    )
    rates = group_rates(frame, "n", ("g",), "poisson", offset="log_days")
    np.testing.assert_allclose(rates.exposure, [4.0, 6.0])
    table = rates_table(rates)
    np.testing.assert_allclose(table["count per exposure"], [6 / 4, 3 / 6])
