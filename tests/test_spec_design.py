"""ModelSpec rendering and design building: formulas, coding, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, ExplorerError, SpecError
from lib.model.design import RankDeficiencyWarning, build_design
from lib.model.spec import ModelSpec, RandomTerm
from lib.table.columns import factor_levels, interaction_codes


@pytest.mark.parametrize(
    ("spec", "formula"),
    [
        (ModelSpec.one_factor("test_score", "school"), "test_score ~ 1 + (1 | school)"),
        (ModelSpec.one_factor("y", "g", ("x",)), "y ~ 1 + x + (1 | g)"),
        (ModelSpec.one_factor("y", "g", (), False, ("x",)), "y ~ 1 + (0 + x | g)"),
        (ModelSpec.one_factor("y", "g", ("x",), True, ("x",)), "y ~ 1 + x + (1 + x | g)"),
        (
            ModelSpec.one_factor("y", "g", ("x",), True, ("x",), correlated=False),
            "y ~ 1 + x + (1 | g) + (0 + x | g)",
        ),
        (ModelSpec.one_factor("my y", "g", ("x 1",)), "`my y` ~ 1 + `x 1` + (1 | g)"),
    ],
)
def test_formula_rendering_matches_lme4(spec, formula):
    assert spec.formula() == formula


def test_spec_rejects_inconsistent_roles():
    with pytest.raises(SpecError, match="neither an intercept nor a slope"):
        ModelSpec.one_factor("y", "g", ("x",), random_intercept=False)
    with pytest.raises(SpecError, match="both the outcome and a grouping column"):
        ModelSpec.one_factor("y", "y")
    with pytest.raises(SpecError, match="cannot also be a predictor"):
        ModelSpec.one_factor("y", "g", ("y",))
    assert issubclass(SpecError, ExplorerError)


def test_treatment_coding_named_like_r_and_levels_sorted():
    frame = pd.DataFrame(
        {
            "y": [1.0, 2, 3, 4, 5, 6],
            "trt": ["C", "A", "B", "A", "C", "B"],
            "g": ["b", "a", "b", "a", "c", "c"],
        }
    )
    design = build_design(frame, ModelSpec.one_factor("y", "g", ("trt",)))
    assert design.fixef_names == ("(Intercept)", "trtB", "trtC")
    assert design.terms[0].levels == ("a", "b", "c")
    np.testing.assert_array_equal(design.X[:, 1], [0, 0, 1, 0, 0, 1])
    np.testing.assert_array_equal(design.terms[0].codes, [1, 0, 1, 0, 2, 2])


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
    design = build_design(frame, ModelSpec.one_factor("y", "g", ("x",)))
    assert design.n_dropped == 3
    assert design.nobs == 4


@pytest.mark.parametrize(
    ("frame", "spec", "message"),
    [
        (
            pd.DataFrame({"y": [1.0, 2, 3], "g": ["a", "b", "c"]}),
            ModelSpec.one_factor("y", "g", ("x",)),
            "Column 'x' is not in the data",
        ),
        (
            pd.DataFrame({"y": ["a", "b", "c", "d"], "g": ["a", "a", "b", "b"]}),
            ModelSpec.one_factor("y", "g"),
            "outcome 'y' must be numeric",
        ),
        (
            pd.DataFrame({"y": [1.0, 2, 3, 4], "g": ["a"] * 4}),
            ModelSpec.one_factor("y", "g"),
            "at least 2 groups",
        ),
        (
            pd.DataFrame({"y": [1.0, 2, 3, 4], "t": list("aaaa"), "g": list("aabb")}),
            ModelSpec.one_factor("y", "g", (), True, ("t",)),
            "categorical column 't' on the left of '| g' has only one value",
        ),
        (
            pd.DataFrame({"y": [1.0, np.nan], "g": ["a", "b"]}),
            ModelSpec.one_factor("y", "g"),
            "Only 1 complete rows remain",
        ),
    ],
)
def test_bad_input_raises_one_exception_type_with_a_clear_message(frame, spec, message):
    with pytest.raises(DataError, match=message):
        build_design(frame, spec)


def test_collinear_predictor_is_dropped_with_lme4s_message():
    frame = pd.DataFrame(
        {
            "y": [1.0, 2, 3, 4, 6],
            "x": [1.0, 2, 3, 4, 5],
            "z": [2.0, 4, 6, 8, 10],
            "g": list("aabbb"),
        }
    )
    message = "rank deficient so dropping 1 column / coefficient"
    with pytest.warns(RankDeficiencyWarning, match=message):
        design = build_design(frame, ModelSpec.one_factor("y", "g", ("x", "z")))
    assert design.fixef_names == ("(Intercept)", "x")  # lme4 keeps the earlier column
    assert design.fixef_dropped == ("z",)


def test_column_names_are_never_evaluated():
    # A name that would run code if it reached a formula parser is just a name here.
    evil = "__import__('os').system('echo pwned')"
    frame = pd.DataFrame({evil: [1.0, 2, 3, 4, 5, 6], "g": list("aabbcc")})
    design = build_design(frame, ModelSpec.one_factor(evil, "g"))
    assert design.nobs == 6
    assert ModelSpec.one_factor(evil, "g").formula().startswith("`__import__")


def test_random_terms_nested_and_crossed_render_as_lme4():
    nested = ModelSpec(
        "score",
        ("ses",),
        (RandomTerm(("school",), slopes=("ses",)), RandomTerm(("class", "school"))),
    )
    assert nested.formula() == "score ~ 1 + ses + (1 + ses | school) + (1 | class:school)"
    assert nested.group_columns == ("school", "class")
    assert nested.factor_names == ("school", "class:school")
    crossed = ModelSpec("y", (), (RandomTerm(("subject",)), RandomTerm(("item",))))
    assert crossed.formula() == "y ~ 1 + (1 | subject) + (1 | item)"
    uncorrelated = RandomTerm(("g",), slopes=("x",), correlated=False)
    assert uncorrelated.formula() == "(1 | g) + (0 + x | g)"
    assert not uncorrelated.is_correlated


def test_spec_json_round_trip_and_messages():
    data = {
        "outcome": "y",
        "fixed": ["x", "sex"],
        "random": [
            {"group": ["school"], "intercept": True, "slopes": ["x"], "correlated": True},
            {"group": ["school", "class"], "intercept": True, "slopes": [], "correlated": True},
        ],
        "method": "ML",
    }
    spec = ModelSpec.from_dict(data)
    assert spec.to_dict() == data
    assert spec.random[1].name == "school:class"
    assert not spec.reml
    with pytest.raises(SpecError, match="'method' must be"):
        ModelSpec.from_dict({**data, "method": "Bayes"})
    with pytest.raises(SpecError, match=r"Unknown key\(s\) \['slope'\]"):
        ModelSpec.from_dict({**data, "random": [{"group": ["g"], "slope": ["x"]}]})
    with pytest.raises(SpecError, match="no random effect"):
        ModelSpec.from_dict({**data, "random": []})
    with pytest.raises(SpecError, match="listed twice"):
        ModelSpec("y", (), (RandomTerm(("g",)), RandomTerm(("g",))))


def test_interaction_levels_are_named_and_sorted_as_r():
    frame = pd.DataFrame(
        {
            "y": np.arange(8.0),
            "class": ["B", "A", "B", "A", "10", "9", "A", "B"],
            "school": [2, 2, 10, 10, 2, 2, 10, 2],
        }
    )
    codes, levels = interaction_codes(frame, ["class", "school"])
    # class levels sort as text ("10" < "9" < "A" < "B"); school numerically (2 < 10).
    assert levels == ("10:2", "9:2", "A:2", "A:10", "B:2", "B:10")
    assert [levels[c] for c in codes] == [
        f"{c}:{s}" for c, s in zip(frame["class"], frame["school"], strict=True)
    ]
    design = build_design(
        frame, ModelSpec("y", (), (RandomTerm(("school",)), RandomTerm(("class", "school"))))
    )
    # lme4 orders terms by number of levels, largest first.
    assert [t.name for t in design.terms] == ["class:school", "school"]
