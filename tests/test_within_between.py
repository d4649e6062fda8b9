"""lib.classroom.within_between and its chart, against R (tests/reference/centring_reference.R).

R fits, on Hsb82 (mAch on ses by school) and the simulated data/exercise.csv
(cholesterol on exercise by age group): lmer(y ~ x_cwc + x_mean + (1 | g)) and
lmer(y ~ x + x_mean + (1 | g)); lm(y ~ x), lm(y ~ x_cwc + g), lm(y ~ x_cwc + x_mean),
lm(y ~ x + x_mean); the line through the group means; each group's own slope.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.charts.within_between import (
    BETWEEN,
    LINE_COLOURS,
    LINE_DASHES,
    POOLED,
    WITHIN,
    within_between_chart,
    within_between_lines,
)
from lib.classroom.within_between import (
    BETWEEN_EFFECT,
    CONTEXTUAL_EFFECT,
    WITHIN_EFFECT,
    effects_table,
    sentences,
    within_between,
)
from lib.errors import DataError
from lib.table.catalogue import load_bundled

REFERENCE = Path(__file__).parent / "reference"
CASES = {
    "hsb82": ("mAch", "ses", "school"),
    "exercise": ("cholesterol", "exercise", "age_group"),
}


@cache
def reference() -> dict:
    return json.loads((REFERENCE / "centring_reference.json").read_text(encoding="utf-8"))


@cache
def data(name: str) -> pd.DataFrame:
    if name == "exercise":
        return load_bundled("exercise")
    return pd.read_csv(REFERENCE / "data" / "centring_hsb82.csv.gz", dtype={"school": str})


@cache
def result(name: str):
    return within_between(data(name), *CASES[name])


def _r(name: str) -> dict:
    return reference()[name]["within_between"]


def _lm(name: str, fit_id: str) -> dict:
    return next(f for f in _r(name)["lm"] if f["id"] == fit_id)


@pytest.mark.parametrize("name", CASES)
def test_lmer_effects_match_lme4(name):
    between, contextual = (f["best"] for f in _r(name)["lmer"])
    got = result(name).lmer
    for effect, fit, k in [
        (WITHIN_EFFECT, between, 1),
        (BETWEEN_EFFECT, between, 2),
        (CONTEXTUAL_EFFECT, contextual, 2),
    ]:
        assert got[effect].estimate == pytest.approx(fit["fixef"][k], rel=1e-7), effect
        assert got[effect].se == pytest.approx(fit["se"][k], rel=1e-6), effect
        assert got[effect].df == pytest.approx(fit["df"][k], rel=1e-5), effect
        assert got[effect].p == pytest.approx(fit["p"][k], rel=1e-4, abs=1e-300), effect
    formulas = [f["formula"] for f in _r(name)["lmer"]]
    y, x, g = CASES[name]
    assert formulas == [
        f"{y} ~ {x}_cwc + {x}_mean_{g} + (1 | {g})",
        f"{y} ~ {x} + {x}_mean_{g} + (1 | {g})",
    ]
    assert result(name).between_formula == f"{y} ~ 1 + {x}_cwc + {x}_mean_{g} + (1 | {g})"


@pytest.mark.parametrize("name", CASES)
def test_contextual_is_between_minus_within(name):
    """Model 2 is model 1 reparametrised (x = x_cwc + x_mean): the identity is exact."""
    for estimates in (result(name).lmer, result(name).ols):
        difference = estimates[BETWEEN_EFFECT].estimate - estimates[WITHIN_EFFECT].estimate
        assert estimates[CONTEXTUAL_EFFECT].estimate == pytest.approx(difference, rel=1e-8)


@pytest.mark.parametrize("name", CASES)
def test_ols_numbers_match_lm(name):
    got = result(name)
    between, contextual = _lm(name, "between"), _lm(name, "contextual")
    assert got.ols[WITHIN_EFFECT].estimate == pytest.approx(between["coef"][1], rel=1e-10)
    assert got.ols[WITHIN_EFFECT].se == pytest.approx(between["se"][1], rel=1e-9)
    assert got.ols[BETWEEN_EFFECT].estimate == pytest.approx(between["coef"][2], rel=1e-10)
    assert got.ols[BETWEEN_EFFECT].se == pytest.approx(between["se"][2], rel=1e-9)
    assert got.ols[CONTEXTUAL_EFFECT].estimate == pytest.approx(contextual["coef"][2], rel=1e-10)
    pooled = _lm(name, "pooled")
    assert got.pooled_intercept == pytest.approx(pooled["coef"][0], rel=1e-10)
    assert got.pooled_slope == pytest.approx(pooled["coef"][1], rel=1e-10)
    # The common within slope is the dummy-variable regression's, and the lmer one's.
    dummies = _lm(name, "within_dummies")
    assert dummies["names"][1].endswith("_cwc")
    assert got.within_slope == pytest.approx(dummies["coef"][1], rel=1e-10)
    assert got.lmer[WITHIN_EFFECT].estimate == pytest.approx(got.within_slope, rel=1e-7)


@pytest.mark.parametrize("name", CASES)
def test_group_means_between_line_and_own_slopes_match_r(name):
    got = result(name)
    line = _r(name)["between_line"]
    assert got.between_slope == pytest.approx(line["slope"], rel=1e-10)
    assert got.between_intercept == pytest.approx(line["intercept"], rel=1e-10)
    assert len(got.levels) == line["groups"]
    x_means = np.array([line["x_means"][level] for level in got.levels])
    y_means = np.array([line["y_means"][level] for level in got.levels])
    np.testing.assert_allclose(got.x_means, x_means, rtol=1e-12)
    np.testing.assert_allclose(got.y_means, y_means, rtol=1e-12)
    own = np.array([_r(name)["own_slopes"][level] for level in got.levels])
    np.testing.assert_allclose(got.own_slopes, own, rtol=1e-9)
    assert got.nobs == _lm(name, "pooled")["nobs"]


def test_the_example_has_opposite_signs_and_says_so():
    got = result("exercise")
    assert got.pooled_slope > 0 and np.all(got.own_slopes < 0)
    assert got.opposite_signs and not result("hsb82").opposite_signs
    text = sentences(got)
    assert text["Pooled"].startswith("The pooled line (slope 6.710) ignores the age\\_group")
    assert "all of which are negative" in text["Pooled"]
    assert text[WITHIN_EFFECT] == (
        "**Within** (-3.652): inside one age\\_group, a row with 1 unit more exercise than "
        "its age\\_group's average has a predicted cholesterol 3.652 lower."
    )
    assert text[BETWEEN_EFFECT].startswith("**Between** (11.215): age\\_group groups whose")
    assert "14.868 = between − within = 11.215 − (-3.652)" in text[CONTEXTUAL_EFFECT]
    assert text[CONTEXTUAL_EFFECT].endswith("cholesterol 14.868 higher.")


def test_effects_table_holds_the_estimates():
    got = result("hsb82")
    table = effects_table(got)
    assert table.index.tolist() == [WITHIN_EFFECT, BETWEEN_EFFECT, CONTEXTUAL_EFFECT]
    assert table.loc[BETWEEN_EFFECT, "lmer"] == got.lmer[BETWEEN_EFFECT].estimate
    assert table.loc[CONTEXTUAL_EFFECT, "OLS SE"] == got.ols[CONTEXTUAL_EFFECT].se
    assert table.loc[CONTEXTUAL_EFFECT, "coefficient"] == "ses_mean_school in model 2"
    assert [c.name for c in got.created] == ["ses_cwc", "ses_mean_school"]


def test_a_group_mean_that_does_not_vary_is_not_estimable():
    """Every group has the same x values (a balanced design, like weeks 1-3 per pig):
    the group means of x are one constant, so there is no between effect."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"g": np.repeat(list("abcdef"), 3), "x": np.tile([1.0, 2.0, 3.0], 6)})
    frame["y"] = 2.0 * frame["x"] + np.repeat(rng.normal(size=6), 3) + rng.normal(size=18)
    got = within_between(frame, "y", "x", "g")
    assert np.isnan(got.lmer[BETWEEN_EFFECT].estimate)
    assert np.isnan(got.ols[CONTEXTUAL_EFFECT].estimate) and np.isnan(got.between_slope)
    assert np.isfinite(got.lmer[WITHIN_EFFECT].estimate)
    assert sentences(got)[BETWEEN_EFFECT].startswith("**Between**: not estimable.")
    lines = within_between_lines(got)
    assert BETWEEN not in set(lines["kind"])


def test_three_different_columns_are_needed():
    with pytest.raises(DataError, match="three different columns"):
        within_between(data("exercise"), "cholesterol", "cholesterol", "age_group")


def test_lines_go_through_the_group_means_with_the_common_slope():
    got = result("exercise")
    lines = within_between_lines(got)
    pooled = lines[lines["kind"] == POOLED]
    assert pooled["x"].tolist() == [got.x_min.min(), got.x_max.max()]
    within = lines[lines["kind"] == WITHIN]
    assert within["line"].nunique() == len(got.levels) == 10
    for k in range(len(got.levels)):
        ends = within[within["line"] == f"{WITHIN}:{k}"]
        (x0, x1), (y0, y1) = ends["x"].to_numpy(), ends["y"].to_numpy()
        assert (y1 - y0) / (x1 - x0) == pytest.approx(got.within_slope, rel=1e-12)
        at_mean = y0 + got.within_slope * (got.x_means[k] - x0)
        assert at_mean == pytest.approx(got.y_means[k], rel=1e-12)
        assert (x0, x1) == (got.x_min[k], got.x_max[k])
    between = lines[lines["kind"] == BETWEEN]
    assert between["x"].tolist() == [got.x_means.min(), got.x_means.max()]
    shown = within_between_lines(got, levels=got.levels[:3])
    assert shown[shown["kind"] == WITHIN]["line"].nunique() == 3


def test_chart_spec_uses_colour_and_dash_for_each_line():
    got = result("exercise")
    points = pd.DataFrame({"x": [1.0, 2.0], "y": [150.0, 160.0]})
    spec = within_between_chart(points, got, title="Within and between").to_dict()
    strokes = spec["layer"][1]["encoding"]
    domain = strokes["color"]["scale"]["domain"]
    assert domain == [
        "Pooled: one line for all rows (slope 6.710)",
        "Within each group (common slope -3.652)",
        "Through the group means (slope 11.222)",
    ]
    assert strokes["color"]["scale"]["range"] == [
        LINE_COLOURS[k] for k in (POOLED, WITHIN, BETWEEN)
    ]
    dashes = strokes["strokeDash"]["scale"]["range"]
    assert dashes == [list(LINE_DASHES[k]) for k in (POOLED, WITHIN, BETWEEN)]
    assert len({tuple(d) for d in dashes}) == 3  # not colour alone
    assert spec["layer"][2]["mark"]["shape"] == "diamond"
    assert spec["width"] == "container"
    assert spec["config"]["axis"]["labelFontSize"] >= 18
