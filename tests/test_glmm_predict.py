"""GLMM predictions (lib.glmm.predict) against lme4's predict.merMod: link and response
scale, with (re.form = NULL) and without (re.form = NA) random effects, for the fitting
rows and for new rows with an unseen level (allow.new.levels = TRUE), with an offset
(Owls). Reference: tests/reference/glmm_reference.json ``predictions``. Tolerance 1e-5
relative or absolute (on the link scale that is about 1e-4 of a prediction's SE: the
predictions inherit the parameters' tolerance, docs/glmm-design.md 3.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.glmm.predict import effect_data, predict, prediction_basis
from tests.glmm_fits import fit_of, frame_of, response_family_of, spec_of
from tests.glmm_reference import case

CASES = ["cbpp_laplace", "contraception_ri", "owls_offset", "grouseticks_poisson", "cbpp_probit"]


def basis_of(case_id: str):
    c = case(case_id)
    return prediction_basis(frame_of(c), spec_of(c), response_family_of(c))


@pytest.mark.parametrize("case_id", CASES)
def test_predictions_for_the_fitting_rows(case_id: str) -> None:
    c = case(case_id)
    fit, basis = fit_of(case_id), basis_of(case_id)
    want = c.expected["predictions"]
    rows = frame_of(c).iloc[want["rows"]]
    for conditional, label in ((True, "conditional"), (False, "marginal")):
        for scale in ("link", "response"):
            got = predict(fit, basis, rows, conditional=conditional, scale=scale)
            np.testing.assert_allclose(got, want[f"{scale}_{label}"], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("case_id", CASES)
def test_new_rows_with_an_unseen_level_get_the_population_prediction(case_id: str) -> None:
    c = case(case_id)
    fit, basis = fit_of(case_id), basis_of(case_id)
    want = c.expected["predictions"]
    rows = pd.DataFrame(want["newdata"])
    if c.offset is not None:
        rows["log_" + c.offset["column"]] = np.log(rows[c.offset["column"]].astype(float))
    for conditional, label in ((True, "conditional"), (False, "marginal")):
        for scale in ("link", "response"):
            got = predict(fit, basis, rows, conditional=conditional, scale=scale)
            np.testing.assert_allclose(got, want[f"newdata_{scale}_{label}"], rtol=1e-5, atol=1e-5)


def test_conditional_fitted_values_are_the_fits_mu() -> None:
    c = case("owls_offset")
    fit = fit_of("owls_offset")
    got = predict(fit, basis_of("owls_offset"), frame_of(c), scale="response")
    np.testing.assert_allclose(got, fit.fitted, rtol=1e-10)


def test_missing_offset_and_bad_scale_are_refused() -> None:
    c = case("owls_offset")
    fit, basis = fit_of("owls_offset"), basis_of("owls_offset")
    rows = frame_of(c).drop(columns="log_BroodSize")
    with pytest.raises(DataError, match="offset column 'log_BroodSize'"):
        predict(fit, basis, rows)
    with pytest.raises(SpecError, match="scale"):
        predict(fit, basis, frame_of(c), scale="probability")


def test_effect_data_is_the_population_curve_on_the_response_scale() -> None:
    """The curve is predict(re.form = NA, type = "response") at the grid; the band is
    the link-scale normal band transformed, so it stays in (0, 1) and is asymmetric."""
    c = case("contraception_ri")
    fit, basis = fit_of("contraception_ri"), basis_of("contraception_ri")
    out = effect_data(fit, basis, "age", moderator="urban", points=5)
    assert list(out["group"].unique()) == ["N", "Y"]
    grid = pd.DataFrame({"age": out["x"], "urban": out["group"], "livch": "0", "district": "1"})
    expected = predict(fit, basis, grid, conditional=False, scale="response")
    np.testing.assert_allclose(out["predicted"], expected, rtol=1e-12)
    assert np.all((out["conf.low"] > 0) & (out["conf.high"] < 1))
    assert np.all(out["conf.low"] < out["predicted"]) and np.all(
        out["predicted"] < out["conf.high"]
    )
    link = effect_data(fit, basis, "age", moderator="urban", points=5, scale="link")
    np.testing.assert_allclose(
        link["conf.high"] - link["predicted"], 1.959963984540054 * link["std.error"], rtol=1e-12
    )
    np.testing.assert_allclose(basis.family.linkinv(link["conf.low"]), out["conf.low"])
    assert c.expected["fixef"]["names"][1] == "age"
