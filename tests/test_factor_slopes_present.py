"""What the app and the notebook say about a categorical column on the left of "|":
equations name its effects (urbanY), the singular-fit advice offers a model that is
identified, code snippets keep the term, and the design's names and order are lme4's."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import lib
from lib.aggregate.engines import DuckDBEngine
from lib.aggregate.sqlfit import fit_engine
from lib.errors import DataError, SpecError
from lib.model.design import build_design
from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, RandomTerm
from lib.model.toggle_view import toggle_view
from lib.present import explain
from lib.present.equations import fitted_equations, model_equations
from lib.present.equations_glmm import fitted_glmm_equations, glmm_equations
from lib.present.snippets import glmer_line, lmer_line
from lib.table.catalogue import load_bundled


@pytest.fixture(scope="module")
def contraception() -> pd.DataFrame:
    frame = load_bundled("contraception")
    frame["used"] = (frame["use"] == "Y").astype(float)  # for the designs (no family there)
    return frame


def test_design_names_and_codes_a_categorical_term_as_model_matrix(contraception) -> None:
    design = build_design(contraception, parse_formula("used ~ age + (1 + age + urban | district)"))
    (term,) = design.terms
    assert term.names == ("(Intercept)", "age", "urbanY")
    assert term.correlated
    urban = contraception["urban"].to_numpy()
    np.testing.assert_array_equal(term.Z[:, 2], (urban == "Y").astype(float))
    np.testing.assert_array_equal(term.Z[:, 1], contraception["age"].to_numpy())
    free = build_design(contraception, parse_formula("used ~ age + (0 + urban | district)"))
    assert free.terms[0].names == ("urbanN", "urbanY")
    np.testing.assert_array_equal(free.terms[0].Z.sum(axis=1), 1.0)


def test_uncorrelated_without_intercept_is_lme4s_separate_terms(contraception) -> None:
    spec = parse_formula("used ~ age + (0 + age + urban || district)")
    design = build_design(contraception, spec)
    assert [t.names for t in design.terms] == [("age",), ("urbanN", "urbanY")]
    assert [t.correlated for t in design.terms] == [False, True]
    assert [t.term.formula() for t in design.terms] == [
        "(0 + age | district)",
        "(0 + urban | district)",
    ]


def test_lme4s_term_order_keeps_the_formula_order_when_levels_never_increase() -> None:
    """mkReTrms reorders only when some later term has more levels ('any(diff(nl) > 0)')."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"y": rng.normal(size=60), "a": np.repeat(list("abcdef"), 10), "b": list("uvwxyz") * 10}
    )
    design = build_design(frame, parse_formula("y ~ 1 + (1 | a) + (1 | b)"))
    assert [t.name for t in design.terms] == ["a", "b"]
    frame["c"] = np.repeat(list("ABCDEFGHIJKL"), 5)
    design = build_design(frame, parse_formula("y ~ 1 + (1 | a) + (1 | b) + (1 | c)"))
    assert [t.name for t in design.terms] == ["c", "b", "a"]


def test_snippets_keep_the_categorical_term(contraception) -> None:
    spec = parse_formula("use ~ age + urban + (urban | district)")
    fam = lib.glmer("use ~ age + urban + (urban | district)", contraception).response
    assert "(1 + urban | district)" in glmer_line(spec, fam)
    assert "(1 + x + sex | g)" in lmer_line(parse_formula("y ~ x + (x + sex | g)"))


def test_equations_name_the_dummy_effects(contraception) -> None:
    m = lib.glmer("use ~ age + urban + (urban | district)", contraception)
    eq = glmm_equations(m.spec, m.response, m.fit.fixef_names)
    assert r"\beta_{2j} \cdot \text{urbanY}_{ij}" in eq.level1
    assert eq.level2[2] == r"\beta_{2j} = \gamma_{20} + u_{2j}"
    exam = pd.DataFrame(
        {
            "y": np.arange(40.0) % 7,
            "x": np.arange(40.0),
            "sex": ["F", "M"] * 20,
            "g": np.repeat(list("abcdefgh"), 5),
        }
    )
    fit = lib.lmer("y ~ x + (0 + sex | g)", exam).fit
    eq = fitted_equations(fit)
    assert r"\text{sexF}_{ij}" in eq.level1 and r"\text{sexM}_{ij}" in eq.level1
    assert len(eq.distributions) == 2  # the residual and one 2 x 2 block
    symbolic = model_equations(fit.spec, fit.fixef_names)
    assert r"\text{sex}_{ij}" in symbolic.level1  # no fit: the column (its levels unknown)


def test_singular_advice_offers_an_identified_model() -> None:
    pupils = load_bundled("pupils")
    fit = lib.lmer("score ~ hours + sex + (1 + sex | school)", pupils).fit
    assert fit.singular
    text, offer = explain.singular(fit)
    assert offer is None  # removing the correlation would give lme4's ridge
    assert "`(1 | school) + (1 | school:sex)`" in text


def test_an_unseen_level_of_the_categorical_effect_in_new_rows_is_refused(contraception) -> None:
    m = lib.glmer("use ~ age + (0 + urban | district)", contraception)
    rows = pd.DataFrame({"age": [1.0], "urban": ["maybe"], "district": ["1"]})
    with pytest.raises(DataError, match=r"random slope 'urban' has the value 'maybe'"):
        m.predict(rows)
    assert np.isfinite(m.predict(rows, re_form="marginal")).all()


def test_quadrature_refusal_names_the_effects_of_a_categorical_term(contraception) -> None:
    """(0 + urban | district) looks scalar in the spec but has one effect per level; glmer
    refuses nAGQ > 1 for it, and so do we, naming the effects."""
    with pytest.raises(SpecError, match=r"random effects are district: urbanN, urbanY"):
        lib.glmer("use ~ age + (0 + urban | district)", contraception, nagq=5)


def test_new_rows_use_the_fitting_datas_scale_and_computed_columns() -> None:
    """A row's prediction does not depend on the other rows passed with it: scale(x) uses
    the fitting data's mean and SD (R's makepredictcall), I(x^2) is computed per row."""
    pupils = load_bundled("pupils")
    m = lib.lmer("score ~ scale(hours) + I(hours^2) + (1 + sex | school)", pupils)
    every = m.predict()
    some = m.predict(pupils.iloc[[3, 50, 100]].reset_index(drop=True))
    np.testing.assert_allclose(some, every[[3, 50, 100]], rtol=1e-12)
    marginal = m.predict(pupils.iloc[[7]].reset_index(drop=True), re_form="marginal")
    np.testing.assert_allclose(marginal, m.predict(re_form="marginal")[[7]], rtol=1e-12)


def test_glmer_new_rows_scale_as_the_fit_did_with_rows_left_out(contraception) -> None:
    """scale(age) is computed over every row with an age, also those the fit leaves out for
    a missing urban (R's model frame); new rows are scaled the same way."""
    data = contraception.copy()
    data.loc[[5, 9, 400], "urban"] = np.nan
    m = lib.glmer("use ~ scale(age) + urban + (urban | district)", data)
    every = m.predict(type="response")
    some = m.predict(data.iloc[[3, 50, 100]].reset_index(drop=True), type="response")
    np.testing.assert_allclose(some, every[[3, 50, 100]], rtol=1e-12)
    assert np.isnan(every[[5, 9, 400]]).all()
    np.testing.assert_allclose(every[np.isfinite(every)], m.fit.fitted, rtol=1e-8)


@pytest.mark.parametrize(
    ("formula", "random"),
    [
        ("y ~ x + (0 + x:f | g)", [RandomTerm(("g",), False, (), True, (("x", "f"),))]),
        ("y ~ x + (x * f | g)", [RandomTerm(("g",), True, ("x", "f"), True, (("x", "f"),))]),
        ("y ~ x + (f:x || g)", [RandomTerm(("g",), True, (), False, (("f", "x"),))]),
        ("y ~ x + (1 | g) + (0 + f:x | g)", [RandomTerm(("g",), True, (), False, (("f", "x"),))]),
        ("y ~ x + (x*f - x | g)", [RandomTerm(("g",), True, ("f",), True, (("x", "f"),))]),
    ],
)
def test_interactions_on_the_left_of_the_bar_are_read_as_r_reads_terms(formula, random) -> None:
    spec = parse_formula(formula)
    assert list(spec.random) == random
    assert parse_formula(spec.formula()) == spec  # the rendered formula reads back
    assert ModelSpec.from_dict(spec.to_dict()) == spec  # and so does MODEL.json


def test_an_interaction_term_is_named_coded_and_refused_where_it_cannot_be_fitted(
    contraception,
) -> None:
    spec = parse_formula("used ~ age * urban + (1 + age:urban | district)")
    (term,) = build_design(contraception, spec).terms
    assert term.names == ("(Intercept)", "age:urbanN", "age:urbanY")
    age, urban = contraception["age"].to_numpy(), contraception["urban"].to_numpy()
    np.testing.assert_array_equal(term.Z[:, 2], age * (urban == "Y"))
    view = toggle_view(spec, ["age", "used"])
    assert view.extras.random == spec.random  # a term the toggles cannot show
    with pytest.raises(DataError, match=r"interaction on the left of '\|'.*--engine pandas"):
        fit_engine(DuckDBEngine(contraception), spec)
    m = lib.glmer("use ~ age * urban + (1 + age:urban | district)", contraception)
    eq = fitted_glmm_equations(m.fit, m.spec, ResponseFamily("binomial"))
    # The fixed age:urbanY and its random effect share one coefficient; age:urbanN (no
    # fixed counterpart) has its own.
    assert r"\beta_{3j} \cdot \text{age}_{ij} \cdot \text{urbanY}_{ij}" in eq.level1
    assert r"\beta_{4j} \cdot \text{age:urbanN}_{ij}" in eq.level1


def test_the_formula_sentence_quotes_an_interaction_term_as_written() -> None:
    text = explain.formula(parse_formula("use ~ age * urban + (1 + age:urban | district)"))
    assert "`(1 + age:urban | district)` gives each district its own baseline" in text
