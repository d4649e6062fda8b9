"""ModelSpec rendering and design building: formulas, coding, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.design import build_design, factor_levels
from lib.errors import DataError, ExplorerError, SpecError
from lib.spec import ModelSpec


@pytest.mark.parametrize(
    ("spec", "formula"),
    [
        (ModelSpec("test_score", "school"), "test_score ~ 1 + (1 | school)"),
        (ModelSpec("y", "g", ("x",)), "y ~ 1 + x + (1 | g)"),
        (ModelSpec("y", "g", (), False, ("x",)), "y ~ 1 + (0 + x | g)"),
        (ModelSpec("y", "g", ("x",), True, ("x",)), "y ~ 1 + x + (1 + x | g)"),
        (
            ModelSpec("y", "g", ("x",), True, ("x",), correlated=False),
            "y ~ 1 + x + (1 | g) + (0 + x | g)",
        ),
        (ModelSpec("my y", "g", ("x 1",)), "`my y` ~ 1 + `x 1` + (1 | g)"),
    ],
)
def test_formula_rendering_matches_lme4(spec, formula):
    assert spec.formula() == formula


def test_spec_rejects_inconsistent_roles():
    with pytest.raises(SpecError, match="no random effect"):
        ModelSpec("y", "g", ("x",), random_intercept=False)
    with pytest.raises(SpecError, match="both the outcome and the group"):
        ModelSpec("y", "y")
    with pytest.raises(SpecError, match="cannot also be a predictor"):
        ModelSpec("y", "g", ("y",))
    assert issubclass(SpecError, ExplorerError)


def test_treatment_coding_named_like_r_and_levels_sorted():
    frame = pd.DataFrame(
        {
            "y": [1.0, 2, 3, 4, 5, 6],
            "trt": ["C", "A", "B", "A", "C", "B"],
            "g": ["b", "a", "b", "a", "c", "c"],
        }
    )
    design = build_design(frame, ModelSpec("y", "g", ("trt",)))
    assert design.fixef_names == ("(Intercept)", "trtB", "trtC")
    assert design.levels == ("a", "b", "c")
    np.testing.assert_array_equal(design.X[:, 1], [0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(design.group, [1, 0, 1, 0, 2, 2])


def test_numeric_group_levels_sort_numerically():
    assert factor_levels(pd.Series([10, 2, 1, 2])) == ("1", "2", "10")


def test_missing_and_infinite_rows_are_dropped_and_counted():
    frame = pd.DataFrame(
        {
            "y": [1.0, np.nan, 3, 4, 5, 6, 7],
            "x": [1.0, 2, np.inf, 4, 5, 6, 7],
            "g": ["a", "a", "b", None, "b", "c", "c"],
        }
    )
    design = build_design(frame, ModelSpec("y", "g", ("x",)))
    assert design.n_dropped == 3
    assert design.nobs == 4


@pytest.mark.parametrize(
    ("frame", "spec", "message"),
    [
        (
            pd.DataFrame({"y": [1.0, 2, 3], "g": ["a", "b", "c"]}),
            ModelSpec("y", "g", ("x",)),
            "Column 'x' is not in the data",
        ),
        (
            pd.DataFrame({"y": ["a", "b", "c", "d"], "g": ["a", "a", "b", "b"]}),
            ModelSpec("y", "g"),
            "outcome 'y' must be numeric",
        ),
        (
            pd.DataFrame({"y": [1.0, 2, 3, 4], "g": ["a"] * 4}),
            ModelSpec("y", "g"),
            "at least 2 groups",
        ),
        (
            pd.DataFrame({"y": [1.0, 2, 3, 4], "t": list("abab"), "g": list("aabb")}),
            ModelSpec("y", "g", ("t",), True, ("t",)),
            "random slope needs a numeric column",
        ),
        (
            pd.DataFrame({"y": [1.0, np.nan], "g": ["a", "b"]}),
            ModelSpec("y", "g"),
            "Only 1 complete rows remain",
        ),
        (
            pd.DataFrame(
                {
                    "y": [1.0, 2, 3, 4, 5],
                    "x": [1.0, 2, 3, 4, 5],
                    "z": [2.0, 4, 6, 8, 10],
                    "g": list("aabbb"),
                }
            ),
            ModelSpec("y", "g", ("x", "z")),
            "collinear",
        ),
    ],
)
def test_bad_input_raises_one_exception_type_with_a_clear_message(frame, spec, message):
    with pytest.raises(DataError, match=message):
        build_design(frame, spec)


def test_column_names_are_never_evaluated():
    # A name that would run code if it reached a formula parser is just a name here.
    evil = "__import__('os').system('echo pwned')"
    frame = pd.DataFrame({evil: [1.0, 2, 3, 4, 5, 6], "g": list("aabbcc")})
    design = build_design(frame, ModelSpec(evil, "g"))
    assert design.nobs == 6
    assert ModelSpec(evil, "g").formula().startswith("`__import__")
