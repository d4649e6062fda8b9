"""``python -m lib fit --formula`` with a categorical column on the left of "|" (glmer's
``(urban | district)`` on Contraception), against tests/reference/factor_slopes_reference.json
at the GLMM tolerances of tests/test_factor_slopes_reference.py."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.lmm_reference import ROOT
from tests.test_cli import run_cli
from tests.test_factor_slopes_reference import case


def test_cli_fits_a_categorical_random_slope_with_lme4s_names() -> None:
    c = case("contraception_urban")
    path = ROOT / "tests" / "reference" / "data" / c["data"]
    proc = run_cli(
        "fit", str(path), "--formula", c["formula"], "--family", "binomial", "--predictions"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["formula"] == "use ~ 1 + age + urban + (1 + urban | district)"
    assert doc["loglik"] >= c["loglik"] - 1e-9 * abs(c["loglik"])
    assert doc["loglik"] == pytest.approx(c["loglik"], rel=1e-6)
    (term,) = doc["varcorr"]["terms"]
    assert term["names"] == c["varcorr"][0]["names"] == ["(Intercept)", "urbanY"]
    np.testing.assert_allclose(
        [term["sd"][n] for n in term["names"]], c["varcorr"][0]["sd"], rtol=2e-3
    )
    assert list(doc["fixef"]) == c["fixef_names"]
    modes = doc["ranef"]["district"]
    ref = c["ranef"][0]
    got = np.array([[modes[level][n] for n in ref["names"]] for level in ref["levels"]])
    theirs = np.asarray(ref["modes"])
    np.testing.assert_allclose(got, theirs, atol=2e-3 * np.abs(theirs).max())
    head = doc["predictions"]["conditional_response"][: len(c["fitted_head"])]
    np.testing.assert_allclose(head, c["fitted_head"], rtol=2e-3)
