"""lib.api: ``lmer`` for notebooks; summary text and tidy() against R (lmerTest, broom.mixed)."""

from __future__ import annotations

import json
import re
from functools import cache

import numpy as np
import pandas as pd
import pytest

import lib
from lib.api import LmerModel, lmer
from lib.errors import DataError, SpecError
from tests.lmm_reference import ROOT

REFERENCE = ROOT / "tests" / "reference" / "formula_reference.json"
DATA = ROOT / "tests" / "reference" / "data"


@cache
def case(case_id: str) -> dict:
    cases = json.loads(REFERENCE.read_text(encoding="utf-8"))["cases"]
    return next(c for c in cases if c["id"] == case_id)


@cache
def model(case_id: str) -> LmerModel:
    c = case(case_id)
    frame = pd.read_csv(DATA / c["data"], dtype={f: str for f in c["factors"]})
    return lmer(c["formula"], frame, reml=c["reml"], data_name="frame")


NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?|-?\d+(?:e-?\d+)")


def _block(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize("case_id", ["exam_interaction", "hsb82_cross_level"])
def test_summary_has_lme4s_sections_and_numbers(case_id):
    """Each number R prints is printed, to R's shown precision (R's default fit stopped
    within its tolerance: compare at a few units of the last digit it shows)."""
    r_text = case(case_id)["summary_text"]
    ours = model(case_id).summary()
    for heading in (
        "REML criterion at convergence:",
        "Scaled residuals:",
        "Random effects:",
        "Number of obs:",
        "Fixed effects:",
        "Correlation of Fixed Effects:",
    ):
        assert heading in ours
    assert f"Formula: {case(case_id)['formula']}" in ours
    sections = [
        ("REML criterion at convergence:", "Scaled residuals"),
        ("Random effects:", "Number of obs"),
        ("Fixed effects:", "---"),
        ("Correlation of Fixed Effects:", "\n\n"),
    ]
    for start, end in sections:
        r_numbers = [float(v) for v in NUMBER.findall(_block(r_text + "\n\n", start, end))]
        our_numbers = [float(v) for v in NUMBER.findall(_block(ours + "\n\n", start, end))]
        assert len(our_numbers) == len(r_numbers), start
        for r, o in zip(r_numbers, our_numbers, strict=True):
            # the REML flatness moves variances and df in their 4th digit (see
            # tests/test_formula_reference.py); p-values follow the df
            assert o == pytest.approx(r, rel=2e-3, abs=2e-3), (start, r, o)
    # the fixed-effect rows carry lme4's names in lme4's order
    rows = _block(ours, "Fixed effects:", "---").strip().splitlines()[1:]
    assert [row.split()[0] for row in rows] == case(case_id)["fixef_names"]


@pytest.mark.parametrize("case_id", ["exam_interaction", "hsb82_cross_level", "exam_uncorrelated"])
def test_tidy_is_broom_mixed(case_id):
    expected = pd.DataFrame(case(case_id)["tidy"])
    got = model(case_id).tidy()
    assert list(got.columns) == list(expected.columns)
    assert got["effect"].tolist() == expected["effect"].tolist()
    assert got["term"].tolist() == expected["term"].tolist()
    assert got["group"].fillna("NA").tolist() == expected["group"].fillna("NA").tolist()
    best = case(case_id)["best"]
    fixed = got["effect"] == "fixed"
    np.testing.assert_allclose(got.loc[fixed, "estimate"], best["fixef"], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(got.loc[fixed, "std.error"], best["se"], rtol=1e-5)
    np.testing.assert_allclose(got.loc[fixed, "df"], best["df"], rtol=1e-3)
    np.testing.assert_allclose(
        got.loc[~fixed, "estimate"], expected.loc[~fixed, "estimate"], rtol=2e-3
    )
    assert got.loc[~fixed, ["std.error", "statistic", "df", "p.value"]].isna().all().all()


def test_accessors():
    m = model("exam_interaction")
    assert list(m.fixef.index) == case("exam_interaction")["fixef_names"]
    ranef = m.ranef()
    assert list(ranef) == ["school"] and ranef["school"].shape == (65, 2)
    assert m.varcorr()["Groups"].tolist()[-1] == "Residual"
    assert str(m) == m.summary() and repr(m) == m.summary()
    assert lib.lmer is lmer


def test_html_is_escaped():
    frame = pd.read_csv(DATA / "formula_oats.csv")
    frame = frame.rename(columns={"Variety": "<script>alert(1)</script>"})
    m = lmer("yield ~ nitro + `<script>alert(1)</script>` + (1 | Block)", frame)
    html = m._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_dropped_columns_are_reported():
    frame = pd.read_csv(DATA / "formula_exam.csv", dtype={"school": str})
    with pytest.warns(UserWarning, match="dropping 1 column / coefficient"):
        m = lmer("normexam ~ standLRT + schgend + type + (1 | school)", frame)
    assert m.dropped == ("typeSngl",)


def test_bad_input_gives_explorer_errors():
    frame = pd.read_csv(DATA / "formula_oats.csv")
    with pytest.raises(SpecError, match="character"):
        lmer("yield ~ nitro +", frame)
    with pytest.raises(DataError, match="not in the data|nope"):
        lmer("yield ~ nope + (1 | Block)", frame)
    with pytest.raises(SpecError, match="DataFrame"):
        lmer("yield ~ nitro + (1 | Block)", {"yield": [1]})


def test_intercept_free_cell_means_model_fits():
    frame = pd.read_csv(DATA / "formula_oats.csv")
    m = lmer("yield ~ 0 + Variety + (1 | Block)", frame)
    assert m.fit.fixef_names == ("VarietyGolden Rain", "VarietyMarvellous", "VarietyVictory")
    assert m.fit.icc is not None  # the three dummies span the constant
