"""tidy() of a GLMM (lib.glmm.tidy) against broom.mixed::tidy(fit, conf.int = TRUE)
(tests/reference/glmm_reference.json ``tidy``: Wald limits). Estimates within 2e-3 SE
(SDs 2e-3 relative), SEs/z 2e-3 relative, p on the log scale 5e-3."""

from __future__ import annotations

import numpy as np
import pytest

from lib.errors import SpecError
from lib.glmm.intervals import wald_intervals
from lib.glmm.tidy import tidy
from tests.glmm_fits import fit_of
from tests.glmm_reference import case

CASES = ["cbpp_laplace", "owls_offset", "grouseticks_poisson", "contraception_ri"]


@pytest.mark.parametrize("case_id", CASES)
def test_tidy_is_broom_mixeds(case_id: str) -> None:
    fit = fit_of(case_id)
    got = tidy(fit, wald_intervals(fit))
    want = case(case_id).expected["tidy"]
    assert list(got.columns) == [
        "effect", "group", "term", "estimate", "std.error", "statistic", "p.value",
        "conf.low", "conf.high",
    ]  # fmt: skip
    assert len(got) == len(want)
    for (_, row), w in zip(got.iterrows(), want, strict=True):
        assert (row["effect"], row["group"], row["term"]) == (w["effect"], w["group"], w["term"])
        if w["effect"] == "fixed":
            assert abs(row["estimate"] - w["estimate"]) <= 2e-3 * w["std.error"]
            assert row["std.error"] == pytest.approx(w["std.error"], rel=2e-3)
            assert row["statistic"] == pytest.approx(w["statistic"], rel=2e-3)
            assert np.log(row["p.value"]) == pytest.approx(np.log(w["p.value"]), rel=5e-3)
            assert abs(row["conf.low"] - w["conf.low"]) <= 5e-3 * w["std.error"]
        else:
            assert row["estimate"] == pytest.approx(w["estimate"], rel=2e-3)
            assert np.isnan(row["std.error"]) and w["std.error"] is None


def test_exponentiate_gives_ratios_and_delta_method_errors() -> None:
    fit = fit_of("cbpp_laplace")
    plain = tidy(fit, wald_intervals(fit))
    ratios = tidy(fit, wald_intervals(fit), exponentiate=True)
    fixed = plain["effect"] == "fixed"
    np.testing.assert_allclose(ratios.loc[fixed, "estimate"], np.exp(plain.loc[fixed, "estimate"]))
    np.testing.assert_allclose(
        ratios.loc[fixed, "conf.high"], np.exp(plain.loc[fixed, "conf.high"])
    )
    np.testing.assert_allclose(
        ratios.loc[fixed, "std.error"],
        np.exp(plain.loc[fixed, "estimate"]) * plain.loc[fixed, "std.error"],
    )
    assert ratios.loc[~fixed, "estimate"].tolist() == plain.loc[~fixed, "estimate"].tolist()


def test_intervals_of_another_model_are_refused() -> None:
    with pytest.raises(SpecError, match="another model"):
        tidy(fit_of("cbpp_laplace"), wald_intervals(fit_of("cbpp_null")))
