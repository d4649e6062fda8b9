"""Columns computed in a formula (``log(x)``, ``I(x^2)``, ``scale(x)``...) against lme4.

Reference: tests/reference/transforms_reference.R (lme4 1.1-31, a tight bobyqa). The
formula is read by ``lib.model.formula`` and the columns computed by
``lib.model.transforms`` inside ``lib.model.design.build_design``; nothing is evaluated.
The Scots case keeps rows with a missing ``w`` in the data: ``scale(verbal)`` must use
them, as R's model frame does. Tolerances as tests/test_no_intercept_reference.py.
"""

from __future__ import annotations

import json
import warnings
from functools import cache

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.lmm import LmmFit, fit_lmm
from lib.model.formula import parse_formula
from lib.model.spec import r_name
from lib.model.transforms import derive, source, with_derived
from tests.lmm_reference import ROOT

REFERENCE = ROOT / "tests" / "reference" / "transforms_reference.json"
CASES = json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]


@cache
def fitted(case_id: str) -> tuple[dict, LmmFit]:
    c = next(c for c in CASES if c["id"] == case_id)
    data = pd.read_csv(
        ROOT / "tests" / "reference" / "data" / c["data"], dtype={f: str for f in c["factors"]}
    )
    for f in c["factors"]:
        data[f] = data[f].astype("category")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the cubic case drops one column, as lme4 says
        return c, fit_lmm(data, parse_formula(c["formula"], reml=c["reml"]))


def rel(a, b) -> float:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12)))


@pytest.mark.parametrize("case_id", [c["id"] for c in CASES])
def test_computed_columns_fit_as_lme4(case_id):
    c, fit = fitted(case_id)
    assert list(fit.fixef_names) == c["fixef_names"]
    assert fit.nobs == c["nobs"]
    assert fit.criterion <= c["criterion"] + 1e-7 * abs(c["criterion"])
    assert abs(fit.criterion - c["criterion"]) < 1e-7 * abs(c["criterion"])
    assert rel(fit.beta, c["fixef"]) < 1e-5
    assert rel(fit.beta_se, c["se"]) < 1e-4
    assert rel(fit.sigma, c["sigma"]) < 1e-5


def test_names_are_rs_and_round_trip():
    spec = parse_formula("log(y) ~ scale(`a b`) + I(x^2):g + (1 + I(x^2) | g)")
    assert spec.outcome == "log(y)" and spec.fixed[0] == "scale(`a b`)"
    assert spec.formula() == "log(y) ~ 1 + scale(`a b`) + I(x^2):g + (1 + I(x^2) | g)"
    assert parse_formula(spec.formula()) == spec
    assert source("scale(`a b`)") == ("scale", "a b", 1) and source("I(x^3)") == ("I", "x", 3)
    assert r_name("I(x^2)") == "I(x^2)" and r_name("log(x + 1)") == "`log(x + 1)`"


def test_scale_uses_every_present_value_and_keeps_missing():
    frame = pd.DataFrame({"x": [1.0, 2.0, np.nan, 4.0, 5.0]})
    out = derive(frame, "scale(x)")
    present = np.array([1.0, 2.0, 4.0, 5.0])
    expected = (present - present.mean()) / present.std(ddof=1)
    np.testing.assert_allclose(out[[0, 1, 3, 4]], expected, rtol=1e-15)
    assert np.isnan(out[2])


def test_undefined_values_and_bad_calls_are_refused_with_a_message():
    frame = pd.DataFrame({"x": [1.0, 0.0, -2.0], "t": ["a", "b", "c"]})
    with pytest.raises(DataError, match=r"log\(x\) is not defined for 2 row\(s\).*row 2"):
        derive(frame, "log(x)")
    with pytest.raises(DataError, match=r"sqrt\(x\) is not defined for 1 row"):
        derive(frame, "sqrt(x)")
    with pytest.raises(DataError, match="holds text"):
        derive(frame, "log(t)")
    with pytest.raises(SpecError, match="I\\(\\) computes a power"):
        parse_formula("y ~ I(x * z) + (1 | g)")
    with pytest.raises(SpecError, match="function calls such as poly"):
        parse_formula("y ~ poly(x) + (1 | g)")
    assert with_derived(frame, ["x"]) is frame  # nothing to compute: the same frame
