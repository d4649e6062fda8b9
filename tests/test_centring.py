"""lib.model.centring against R (tests/reference/centring_reference.R on mlmRev's Hsb82).

Hsb82's ``cses`` is ses centred within school and ``meanses`` the school mean, both
made by ``ave()`` on the complete data: our columns must be those to 1e-12. The
``*_gappy`` columns have values removed, so the means must be taken over the rows
complete in the model's columns only, as an R user gets with ``complete.cases`` then
``ave()``. The lmer fits use the created columns; lme4's numbers are those of the
same fits run to tight tolerances (``best``).
"""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.lmm import fit_lmm
from lib.model.centring import (
    GRAND,
    NONE,
    WITHIN,
    Centring,
    apply_centring,
    centre,
    centred_spec,
    created_columns,
    group_level_columns,
)
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec

REFERENCE = Path(__file__).parent / "reference"


@cache
def reference() -> dict:
    return json.loads((REFERENCE / "centring_reference.json").read_text(encoding="utf-8"))


@cache
def hsb82() -> pd.DataFrame:
    return pd.read_csv(REFERENCE / "data" / "centring_hsb82.csv.gz", dtype={"school": str})


def test_within_and_group_mean_reproduce_hsb82s_cses_and_meanses():
    frame = hsb82()
    out, created = centre(frame, [Centring("ses", WITHIN, "school", group_mean=True)], ["mAch"])
    assert [c.name for c in created] == ["ses_cwc", "ses_mean_school"]
    assert np.max(np.abs(out["ses_cwc"] - frame["cses"])) < 1e-12
    assert np.max(np.abs(out["ses_mean_school"] - frame["meanses"])) < 1e-12
    # R's ave() itself agrees with mlmRev's columns to rounding (the JSON records it).
    assert reference()["hsb82"]["max_abs_cses_vs_ave"] < 1e-13
    assert list(frame.columns) == list(out.columns)[: len(frame.columns)]  # source kept


def test_grand_mean_centring_uses_the_mean_over_the_rows():
    frame = hsb82()
    out, created = centre(frame, [Centring("ses", GRAND)], ["mAch"])
    assert [c.name for c in created] == ["ses_gmc"]
    mean = reference()["hsb82"]["grand_mean"]
    assert np.max(np.abs(out["ses_gmc"] - (frame["ses"] - mean))) < 1e-14
    assert abs(out["ses_gmc"].mean()) < 1e-14


def test_means_are_taken_over_the_rows_the_model_uses():
    """mAch_gappy and ses_gappy miss different rows: a row without mAch does not count
    towards its school's mean of ses, as in R after complete.cases()."""
    frame = hsb82()
    gappy = reference()["hsb82_gappy"]
    out, _ = centre(frame, [Centring("ses_gappy", WITHIN, "school", True)], ["mAch_gappy"])
    used = frame["mAch_gappy"].notna() & frame["ses_gappy"].notna()
    assert int(used.sum()) == gappy["rows_used"] < len(frame)
    expected = frame.loc[used, "school"].map(gappy["school_means"]).to_numpy(float)
    assert np.max(np.abs(out.loc[used, "ses_gappy_mean_school"] - expected)) < 1e-12
    cwc = frame.loc[used, "ses_gappy"] - expected
    assert np.max(np.abs(out.loc[used, "ses_gappy_cwc"] - cwc)) < 1e-12
    assert out.loc[~used, ["ses_gappy_cwc", "ses_gappy_mean_school"]].isna().all().all()
    # Without the outcome's gaps the means differ: the rule matters here.
    ungated, _ = centre(frame, [Centring("ses_gappy", WITHIN, "school", True)])
    assert np.max(np.abs(ungated.loc[used, "ses_gappy_mean_school"] - expected)) > 1e-3


@pytest.mark.parametrize(
    ("formula", "centring", "index"),
    [
        ("mAch ~ ses + (ses | school)", Centring("ses", WITHIN, "school", True), 0),
        ("mAch ~ ses + (1 | school)", Centring("ses", GRAND), 1),
    ],
)
def test_lmer_fits_with_the_created_columns_match_lme4(formula, centring, index):
    case = reference()["hsb82"]["fits"][index]
    model = apply_centring(hsb82(), parse_formula(formula), [centring])
    assert model.spec == parse_formula(case["formula"])
    fit = fit_lmm(model.frame, model.spec)
    best = case["best"]
    assert list(fit.fixef_names) == best["fixef_names"]
    assert fit.criterion == pytest.approx(best["criterion"], rel=1e-10)
    np.testing.assert_allclose(fit.beta, best["fixef"], rtol=1e-7)
    np.testing.assert_allclose(fit.beta_se, best["se"], rtol=1e-6)
    np.testing.assert_allclose(fit.theta, best["theta"], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(fit.beta_df, best["df"], rtol=1e-5)
    assert fit.nobs == best["nobs"] == 7185


def test_gappy_fit_uses_the_same_rows_as_r():
    case = reference()["hsb82_gappy"]["fits"][0]
    spec = parse_formula("mAch_gappy ~ ses_gappy + (1 | school)")
    model = apply_centring(hsb82(), spec, [Centring("ses_gappy", WITHIN, "school", True)])
    assert model.spec.formula() == (
        "mAch_gappy ~ 1 + ses_gappy_cwc + ses_gappy_mean_school + (1 | school)"
    )
    fit = fit_lmm(model.frame, model.spec)
    assert fit.nobs == case["best"]["nobs"] == reference()["hsb82_gappy"]["rows_used"]
    assert fit.criterion == pytest.approx(case["best"]["criterion"], rel=1e-10)
    np.testing.assert_allclose(fit.beta, case["best"]["fixef"], rtol=1e-7)


def test_the_formula_shows_the_created_columns_everywhere():
    spec = parse_formula("mAch ~ ses * sector + (ses | school)")
    created = created_columns([Centring("ses", WITHIN, "school", True)], hsb82().columns)
    out = centred_spec(spec, [Centring("ses", WITHIN, "school", True)], created)
    assert out.formula() == (
        "mAch ~ 1 + ses_cwc + sector + ses_mean_school + ses_cwc:sector + (1 + ses_cwc | school)"
    )
    only_mean = created_columns([Centring("ses", NONE, "school", True)], ["ses"])
    contextual = centred_spec(parse_formula("mAch ~ ses + (1 | school)"), [], only_mean)
    assert contextual.formula() == "mAch ~ 1 + ses + ses_mean_school + (1 | school)"


def test_names_avoid_existing_columns():
    made = created_columns(
        [Centring("x", WITHIN, ("class", "school"), True), Centring("z", GRAND)],
        ["x", "x_cwc", "x_cwc_2", "z", "x_mean_class_school"],
    )
    assert [c.name for c in made] == ["x_cwc_3", "x_mean_class_school_2", "z_gmc"]
    assert [c.kind for c in made] == [WITHIN, "mean", GRAND]
    assert made[0].describe() == "x minus the mean of x in its class:school"
    assert made[1].describe() == "the mean of x in each class:school"
    assert made[2].describe() == "z minus the mean of z over all rows used"


def test_within_centring_of_an_interaction_factor():
    """Class labels repeat across schools: centring within class:school uses each
    class's own mean, not the mean of every class called A."""
    frame = pd.DataFrame(
        {
            "school": ["s1"] * 4 + ["s2"] * 4,
            "class": ["A", "A", "B", "B"] * 2,
            "x": [1.0, 3.0, 10.0, 12.0, 101.0, 103.0, 110.0, 114.0],
        }
    )
    out, _ = centre(frame, [Centring("x", WITHIN, ("class", "school"), True)])
    assert out["x_mean_class_school"].tolist() == [2.0, 2.0, 11.0, 11.0, 102.0, 102.0, 112.0, 112.0]
    assert out["x_cwc"].tolist() == [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, -2.0, 2.0]


def test_a_repeated_index_and_missing_group_are_handled():
    frame = pd.DataFrame(
        {"g": ["a", "a", None, "b", "b"], "x": [1.0, 2.0, 3.0, 4.0, math.inf]},
        index=[0, 0, 1, 1, 1],
    )
    out, _ = centre(frame, [Centring("x", WITHIN, "g", True)])
    assert out.index.tolist() == [0, 0, 1, 1, 1]
    np.testing.assert_array_equal(out["x_mean_g"].to_numpy(), [1.5, 1.5, np.nan, 4.0, np.nan])
    np.testing.assert_array_equal(out["x_cwc"].to_numpy(), [-0.5, 0.5, np.nan, 0.0, np.nan])


def test_bad_centrings_have_clear_messages():
    with pytest.raises(SpecError, match="must be one of"):
        Centring("x", "within-group")
    with pytest.raises(SpecError, match="needs a grouping column"):
        Centring("x", WITHIN)
    with pytest.raises(SpecError, match="needs a grouping column"):
        Centring("x", group_mean=True)
    with pytest.raises(SpecError, match="within itself"):
        Centring("g", WITHIN, "g")
    frame = pd.DataFrame({"g": ["a", "b"], "x": [1.0, 2.0], "t": ["p", "q"]})
    with pytest.raises(DataError, match="'t'"):
        centre(frame, [Centring("t", GRAND)])
    with pytest.raises(DataError, match="nope"):
        centre(frame, [Centring("x", WITHIN, "nope")])
    with pytest.raises(SpecError, match="centred twice"):
        centre(frame, [Centring("x", GRAND), Centring("x", WITHIN, "g")])


def test_centring_is_a_hashable_value():
    a = Centring("ses", WITHIN, "school", True)
    assert a == Centring("ses", WITHIN, ("school",), True)
    assert hash(a) == hash(Centring("ses", WITHIN, ["school"], True))
    assert not Centring("ses").changes and a.changes


def test_group_level_columns_are_the_level_2_predictors():
    spec = parse_formula("mAch ~ meanses * cses + sector * cses + (cses | school)")
    assert group_level_columns(hsb82(), spec) == ("meanses", "sector")
    exam = pd.read_csv(
        REFERENCE / "data" / "formula_exam.csv", dtype={"school": str, "student": str}
    )
    spec = parse_formula("normexam ~ standLRT * schgend + sex + (1 | school)")
    assert group_level_columns(exam, spec) == ("schgend",)
    assert group_level_columns(exam, ModelSpec.one_factor("normexam", "school")) == ()
