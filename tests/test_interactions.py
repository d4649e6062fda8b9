"""ModelSpec with interactions: JSON (MODEL.json), rendering, and R's model-matrix rules."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lib.errors import SpecError
from lib.model.design import build_design, fixed_matrix
from lib.model.fixed import all_levels_coding
from lib.model.formula import parse_formula, spec_from_json
from lib.model.spec import FixedTerm, ModelSpec, RandomTerm

G = RandomTerm(("g",))


def test_json_shape_round_trips_and_old_files_stay_valid():
    spec = parse_formula("mAch ~ meanses * cses + sector * cses + (cses | school)")
    data = spec.to_dict()
    assert data["fixed"] == ["meanses", "cses", "sector", ["meanses", "cses"], ["cses", "sector"]]
    assert "intercept" not in data  # written only when false
    assert ModelSpec.from_dict(json.loads(json.dumps(data))) == spec
    old = {"outcome": "y", "fixed": ["x"], "random": [{"group": ["g"]}], "method": "REML"}
    assert ModelSpec.from_dict(old) == ModelSpec("y", ("x",), (G,))
    assert ModelSpec.from_dict(old).to_dict() == {**old, "random": [G.to_dict()]}


def test_json_without_intercept_and_as_a_formula():
    spec = parse_formula("y ~ 0 + f + x:f + (1 | g)", reml=False)
    data = spec.to_dict()
    assert data["intercept"] is False and data["method"] == "ML"
    assert ModelSpec.from_dict(data) == spec
    assert spec_from_json({"formula": "y ~ 0 + f + x:f + (1 | g)", "method": "ML"}) == spec


@pytest.mark.parametrize(
    "data,message",
    [
        ({"outcome": "y", "fixed": [3], "random": [{"group": ["g"]}]}, "column name or a list"),
        ({"outcome": "y", "fixed": [["a", "a"]], "random": [{"group": ["g"]}]}, "twice"),
        (
            {"outcome": "y", "fixed": "x", "intercept": "no", "random": [{"group": ["g"]}]},
            "true or false",
        ),
        ({"formula": 3}, "must be a string"),
        ({"formula": "y ~ x + (1 | g)", "fixed": ["x"]}, "Unknown key"),
        ({"formula": "y ~ x +"}, "Formula error"),
    ],
)
def test_bad_json_names_the_problem(data, message):
    with pytest.raises(SpecError, match=message):
        spec_from_json(data)


def test_plain_strings_still_work_and_terms_are_sorted_by_order():
    spec = ModelSpec("y", (FixedTerm(("a", "b")), "a", ["b"]), (G,))
    assert spec.fixed == ("a", "b", FixedTerm(("a", "b")))  # R's terms() order
    assert spec.fixed_columns == ("a", "b")
    assert spec.columns == ("y", "a", "b", "g")
    assert spec.with_changes(reml=False).fixed == spec.fixed  # re-sorting renames nothing


def test_grouping_column_may_be_a_predictor_but_not_a_slope_or_the_outcome():
    assert ModelSpec("y", ("g",), (G,)).fixed == ("g",)
    with pytest.raises(SpecError, match="random slope"):
        ModelSpec("y", (), (G, RandomTerm(("h",), slopes=("g",))))
    with pytest.raises(SpecError, match="outcome and cannot also be a predictor"):
        ModelSpec("y", (FixedTerm(("y", "x")),), (G,))


def test_formula_renders_interactions_and_no_intercept():
    spec = ModelSpec("y", ("a", "b", FixedTerm(("a", "b"))), (G,), intercept=False)
    assert spec.formula() == "y ~ 0 + a + b + a:b + (1 | g)"


def test_term_coding_is_rs_termcode():
    a, b, x = "a", "b", "x"
    is_factor = {a: True, b: True, x: False}
    terms = [FixedTerm((x,)), FixedTerm((a, b)), FixedTerm((a,))]
    # y ~ x + a:b + a: in a:b, a's margin b is absent (all levels), b's margin a is present
    assert all_levels_coding(sorted(terms, key=lambda t: t.order), True, is_factor) == [
        (False,),
        (False,),
        (True, False),
    ]
    # no intercept: the first factor of the first term with one gets all levels
    assert all_levels_coding([FixedTerm((x,)), FixedTerm((a,))], False, is_factor) == [
        (False,),
        (True,),
    ]


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    n = 60
    return pd.DataFrame(
        {
            "y": rng.normal(size=n),
            "x": rng.normal(size=n),
            "a": np.tile(["p", "q", "r"], n // 3),
            "b": np.repeat(["u", "v"], n // 2),
            "g": np.tile(list("ABCDEF"), n // 6),
        }
    )


def test_columns_vary_the_first_factor_fastest_and_are_products():
    frame = _frame()
    X, names = fixed_matrix(frame, parse_formula("y ~ a:b + (1 | g)").fixed_terms)
    assert names == ("(Intercept)", "ap:bu", "aq:bu", "ar:bu", "ap:bv", "aq:bv", "ar:bv")
    expected = ((frame["a"] == "q") & (frame["b"] == "v")).to_numpy(float)
    np.testing.assert_array_equal(X[:, names.index("aq:bv")], expected)
    X, names = fixed_matrix(frame, parse_formula("y ~ x * a + (1 | g)").fixed_terms)
    assert names == ("(Intercept)", "x", "aq", "ar", "x:aq", "x:ar")
    np.testing.assert_array_equal(X[:, 4], frame["x"] * (frame["a"] == "q"))


def test_rank_deficient_interaction_keeps_lme4s_columns():
    frame = _frame()
    with pytest.warns(UserWarning, match="dropping 1 column / coefficient"):
        design = build_design(frame, parse_formula("y ~ a:b + (1 | g)"))
    assert design.fixef_dropped == ("ar:bv",)
