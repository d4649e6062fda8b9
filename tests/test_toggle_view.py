"""lib.model.toggle_view: a spec read into the sidebar's toggles and back, and the extras."""

from __future__ import annotations

import pytest

from lib.errors import SpecError
from lib.model.formula import parse_formula
from lib.model.levels import LevelEffects
from lib.model.spec import CROSSED, NESTED, GroupLevel
from lib.model.toggle_view import check_columns, same_model, toggle_view

NUMERIC = ("y", "x", "z", "w")


@pytest.mark.parametrize(
    ("formula", "extras"),
    [
        ("y ~ x + (1 | g)", ()),
        ("y ~ x + z + (1 + x + z | g)", ()),
        ("y ~ x + (x || g)", ()),
        ("y ~ 1 + (0 + x | g)", ()),
        ("y ~ x + (1 | s/c)", ()),
        ("y ~ x + (1 | s/c/k)", ()),
        ("y ~ x + (1 | s) + (1 | d) + (1 | dept)", ()),
        ("y ~ x + (1 | c:s)", ()),  # the top level without effects, its nested level with
        ("y ~ sex + x + (1 | g)", ()),
        ("y ~ x * sex + (1 | g)", ("x:sex",)),
        ("y ~ 0 + x + (1 | g)", ("0 + (no fixed intercept)",)),
        ("y ~ x + g + (1 | g)", ("g",)),
        ("y ~ x + (1 | s/c/k/m)", ("(1 | m:k:c:s)",)),
        ("y ~ x + (1 | g) + (0 + z | g) + (0 + w | g)", ()),
        ("y ~ x + (1 + x | g) + (0 + z | g)", ("(0 + z | g)",)),
        ("y ~ x + (1 | a:b) + (1 | c:d)", ("(1 | c:d)",)),
    ],
)
def test_toggles_and_extras_give_the_model_back(formula, extras):
    spec = parse_formula(formula)
    view = toggle_view(spec, NUMERIC)
    assert view.extras.labels() == extras
    assert view.extras.empty == (not extras)
    assert same_model(view.spec(), spec)


def test_the_view_names_roles_levels_and_effects():
    view = toggle_view(parse_formula("y ~ sex + x + z + (1 + x | s/c) + (1 | d)"), NUMERIC)
    assert (view.outcome, view.predictor, view.group) == ("y", "x", "s")
    assert view.covariates == ("sex", "z") and view.fixed_slope
    assert view.levels == (GroupLevel("c", NESTED), GroupLevel("d", CROSSED))
    assert view.effects == (
        LevelEffects(intercept=True, slope=True, correlated=True, slopes=("x",)),
        LevelEffects(intercept=True, slope=True, correlated=True, slopes=("x",)),
        LevelEffects(intercept=True),
    )


def test_a_model_without_a_numeric_fixed_effect_keeps_the_predictor_it_had():
    view = toggle_view(parse_formula("y ~ sex + (1 | g)"), NUMERIC, predictor_hint="z")
    assert view.predictor == "z" and not view.fixed_slope
    assert view.covariates == ("sex",)
    slope_only = toggle_view(parse_formula("y ~ 1 + (0 + w | g)"), NUMERIC, predictor_hint="z")
    assert slope_only.predictor == "w" and not slope_only.fixed_slope


def test_same_model_ignores_the_order_of_fixed_terms_only():
    a, b = parse_formula("y ~ x + z + (1 | g)"), parse_formula("y ~ z + x + (1 | g)")
    assert a != b and same_model(a, b)
    assert not same_model(a, parse_formula("y ~ x + z + (1 | g)", reml=False))
    assert not same_model(a, parse_formula("y ~ 0 + x + z + (1 | g)"))


def test_check_columns_names_the_missing_or_text_column():
    spec = parse_formula("y ~ x + (1 + x | g)")
    check_columns(spec, ["y", "x", "g"], ["y", "x"])
    with pytest.raises(SpecError, match="column 'x', which is not in the data"):
        check_columns(spec, ["y", "g"], ["y"])
    with pytest.raises(SpecError, match="'x_cwc' is made by the centring controls"):
        check_columns(parse_formula("y ~ x_cwc + (1 | g)"), ["y", "x", "g"], ["y", "x"], ["x_cwc"])
    with pytest.raises(SpecError, match="'y' holds text, so it cannot be the outcome"):
        check_columns(spec, ["y", "x", "g"], ["x"])
    # A text column on the left of "|" is a categorical random effect (lme4's dummies);
    # a text outcome is for a binomial family, which the caller says.
    check_columns(spec, ["y", "x", "g"], ["y"])
    check_columns(spec, ["y", "x", "g"], ["x"], text_outcome=True)


def test_a_categorical_random_slope_is_a_term_the_toggles_cannot_show():
    spec = parse_formula("use ~ age + urban + (urban | district)")
    view = toggle_view(spec, ["age"])
    assert view.extras.random == spec.random
    assert view.spec().random == spec.random
    assert view.effects[0].slope is False
