"""lib.model.levels: grouping levels -> lme4 terms, factor labels, per-group lines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import SpecError
from lib.lmm import fit_lmm
from lib.model.levels import (
    LevelEffects,
    enclosing_factors,
    factor_labels,
    group_coefficients,
    level_factors,
    level_spec,
    with_factor,
)
from lib.model.spec import CROSSED, GroupLevel, ModelSpec, RandomTerm
from lib.present import summary

RI = LevelEffects()


def test_nested_and_crossed_levels_give_lme4_terms():
    assert level_factors("school", [GroupLevel("class")]) == (("school",), ("class", "school"))
    assert level_factors("school", [GroupLevel("class"), GroupLevel("pupil")]) == (
        ("school",),
        ("class", "school"),
        ("pupil", "class", "school"),
    )
    assert level_factors("plate", [GroupLevel("sample", CROSSED)]) == (("plate",), ("sample",))
    # A level nested in a crossed one: pupil within class, class crossed with school.
    mixed = level_factors("school", [GroupLevel("class", CROSSED), GroupLevel("pupil")])
    assert mixed[2] == ("pupil", "class")


def test_level_spec_formulas():
    spec = level_spec("y", "school", [GroupLevel("class")], [RI, RI], fixed=("x",), slope="x")
    assert spec.formula() == "y ~ 1 + x + (1 | school) + (1 | class:school)"
    assert spec.random == (RandomTerm(("school",)), RandomTerm(("class", "school")))
    three = level_spec(
        "y",
        "school",
        [GroupLevel("class"), GroupLevel("group")],
        [LevelEffects(slope=True), RI, LevelEffects(slope=True, correlated=False)],
        fixed=("x",),
        slope="x",
        reml=False,
    )
    assert three.formula() == (
        "y ~ 1 + x + (1 + x | school) + (1 | class:school) + (1 | group:class:school) "
        "+ (0 + x | group:class:school)"
    )
    assert not three.reml
    crossed = level_spec("d", "plate", [GroupLevel("sample", CROSSED)], [RI, RI])
    assert crossed.formula() == "d ~ 1 + (1 | plate) + (1 | sample)"


def test_one_level_is_the_one_factor_spec():
    spec = level_spec("y", "g", [], [LevelEffects(slope=True)], fixed=("x",), slope="x")
    assert spec == ModelSpec.one_factor("y", "g", ("x",), random_slopes=("x",))
    # With no predictor a slope is ignored, as the sidebar's disabled toggle.
    assert level_spec("y", "g", [], [LevelEffects(slope=True)]).formula() == "y ~ 1 + (1 | g)"


def test_levels_without_effects_are_skipped_but_keep_the_nesting():
    spec = level_spec("y", "school", [GroupLevel("class")], [LevelEffects(intercept=False), RI])
    assert spec.formula() == "y ~ 1 + (1 | class:school)"


def test_level_spec_errors_name_the_fix():
    off = LevelEffects(intercept=False)
    with pytest.raises(SpecError, match="neither an intercept nor a slope"):
        level_spec("y", "g", [], [off])
    with pytest.raises(SpecError, match="No grouping level has a random effect"):
        level_spec("y", "g", [GroupLevel("h")], [off, off])
    with pytest.raises(SpecError, match="'g' is chosen for two grouping levels"):
        level_spec("y", "g", [GroupLevel("g")], [RI, RI])
    with pytest.raises(SpecError, match="must be 'nested' or 'crossed', got 'inside'"):
        GroupLevel("class", "inside")
    with pytest.raises(SpecError, match="for 2 level"):
        level_spec("y", "g", [GroupLevel("h")], [RI])


def _pupils(seed: int = 1) -> pd.DataFrame:
    """6 schools x classes A-C (labels reused), 8 pupils each, with known effects."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(6):
        u = rng.normal(0, 3)
        for c in "ABC":
            v = rng.normal(0, 2)
            for _ in range(8):
                x = rng.uniform(0, 10)
                rows.append((f"S{s}", c, x, 10 + 1.5 * x + u + v + rng.normal(0, 1)))
    return pd.DataFrame(rows, columns=["school", "class", "x", "y"])


def test_factor_labels_match_the_fit_levels():
    frame = _pupils()
    frame.loc[3, "class"] = None
    labels = factor_labels(frame, ["class", "school"])
    assert labels.iloc[0] == "A:S0" and pd.isna(labels.iloc[3])
    spec = level_spec("y", "school", [GroupLevel("class")], [RI, RI], fixed=("x",), slope="x")
    fit = fit_lmm(frame, spec)
    assert tuple(sorted(labels.dropna().unique())) == fit.factor("class:school").levels
    shown = with_factor(frame, ["class", "school"], ["x", "y"])
    assert list(shown.columns) == ["x", "y", "class:school"]
    assert with_factor(frame, ["school"], ["y"]).columns.tolist() == ["y", "school"]


def test_group_coefficients_add_the_enclosing_levels():
    frame = _pupils()
    spec = level_spec("y", "school", [GroupLevel("class")], [RI, RI], fixed=("x",), slope="x")
    fit = fit_lmm(frame, spec)
    assert enclosing_factors(spec, "class:school") == ("school",)
    assert enclosing_factors(spec, "school") == ()
    lines = group_coefficients(fit, frame, "class:school")
    school = summary.ranef_table(fit, "school")["(Intercept)"]
    own = summary.ranef_table(fit, "class:school")["(Intercept)"]
    b0, b1 = fit.beta
    expected = b0 + own["B:S3"] + school["S3"]
    assert lines.loc["B:S3", "(Intercept)"] == pytest.approx(expected, abs=1e-12)
    assert np.allclose(lines["x"], b1)
    # The class line is what the fit predicts for that class's rows.
    rows = (frame["school"] == "S3") & (frame["class"] == "B")
    predicted = lines.loc["B:S3", "(Intercept)"] + b1 * frame.loc[rows, "x"]
    assert np.allclose(predicted, fit.fitted[rows.to_numpy()], atol=1e-9)
    # The top level is lme4's coef().
    pd.testing.assert_frame_equal(
        group_coefficients(fit, frame, "school"), summary.coef_table(fit, "school")
    )


def test_crossed_factors_enclose_nothing():
    frame = _pupils()
    spec = level_spec("y", "school", [GroupLevel("class", CROSSED)], [RI, RI])
    fit = fit_lmm(frame, spec)
    assert enclosing_factors(spec, "class") == ()
    pd.testing.assert_frame_equal(
        group_coefficients(fit, frame, "class"), summary.coef_table(fit, "class")
    )


def test_a_level_may_name_several_slope_columns():
    """The sidebar's "Random slopes of": several columns per level, the predictor by default."""
    from lib.model.levels import LevelEffects, level_spec

    several = LevelEffects(intercept=True, slope=True, slopes=("hours", "ses"))
    spec = level_spec(
        "score", "school", (GroupLevel("class"),), (several, LevelEffects()), slope="hours"
    )
    assert spec.formula() == "score ~ 1 + (1 + hours + ses | school) + (1 | class:school)"
    apart = LevelEffects(intercept=True, slope=True, correlated=False, slopes=("hours", "ses"))
    spec = level_spec("score", "school", (), (apart,), slope="hours")
    assert spec.formula() == "score ~ 1 + (1 | school) + (0 + hours | school) + (0 + ses | school)"
    off = LevelEffects(intercept=True, slope=False, slopes=("hours", "ses"))
    assert level_spec("score", "school", (), (off,), slope="hours").formula() == (
        "score ~ 1 + (1 | school)"
    )
    default = LevelEffects(intercept=False, slope=True)
    assert level_spec("score", "school", (), (default,), slope="hours").formula() == (
        "score ~ 1 + (0 + hours | school)"
    )
