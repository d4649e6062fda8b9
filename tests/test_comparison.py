"""lib.classroom.comparison: one rule for which models are tested, on which likelihood,
checked against lme4's anova() (tests/reference/classroom_comparison.R) and across its
consumers (Compare table, Ladder, Lesson)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from lib.classroom import comparison as cmp
from lib.classroom import lesson
from lib.classroom.comparison_text import sentences
from lib.classroom.ladder import FULL, NULL, RI, RS, ladder, ladder_specs, ladder_table
from lib.errors import SpecError
from lib.lmm import fit_lmm
from lib.model.spec import GroupLevel, ModelSpec, RandomTerm
from lib.table.catalogue import load_bundled

REFERENCE = Path(__file__).parent / "reference" / "classroom_comparison.json"
Y, X, G = "test_score", "study_time", "school"


def _case(name: str) -> dict:
    return next(c for c in json.loads(REFERENCE.read_text())["cases"] if c["name"] == name)


@pytest.fixture(scope="module")
def schools():
    return cmp.compare_specs(load_bundled("schools"), ladder_specs(Y, X, G))


@pytest.fixture(scope="module")
def pupils():
    specs = ladder_specs("score", "hours", "school", levels=(GroupLevel("class"),))
    return cmp.compare_specs(load_bundled("pupils"), specs)


@pytest.mark.parametrize("name", ["schools", "pupils"])
def test_models_are_lme4s_numbers(name, schools, pupils):
    result = {"schools": schools, "pupils": pupils}[name]
    for ref in _case(name)["models"]:
        model = result.model(ref["label"])
        assert model.formula == ref["formula"]
        assert model.npar == ref["npar"]
        assert model.reml and model.reml_criterion == pytest.approx(ref["reml_criterion"], 1e-6)
        for field in ("aic", "bic", "loglik", "deviance"):
            assert getattr(model, field) == pytest.approx(ref[field], rel=1e-6), field


@pytest.mark.parametrize("name", ["schools", "pupils"])
def test_nested_pairs_get_lme4s_test_and_the_others_none(name, schools, pupils):
    result = {"schools": schools, "pupils": pupils}[name]
    verdicts = {}
    for ref in _case(name)["pairs"]:
        pair = result.pair(ref["smaller"], ref["larger"])
        assert result.models[pair.smaller].label == ref["smaller"]  # lme4's order
        verdicts[(ref["smaller"], ref["larger"])] = pair.reason or "nested"
        if pair.nested:
            assert pair.chisq == pytest.approx(ref["chisq"], rel=1e-5)
            assert pair.df == ref["df"]
            assert pair.p == pytest.approx(ref["p"], rel=1e-3)
        else:  # R prints a row for these too; here they get no test
            assert math.isnan(pair.chisq) and math.isnan(pair.p)
    assert verdicts == {
        (NULL, RI): "nested",
        (NULL, RS): cmp.SAME_NPAR,  # R: Chisq 201.47 on 0 df (schools)
        (NULL, FULL): "nested",
        (RS, RI): cmp.NOT_NESTED,  # R: p = 5.96e-10 (schools)
        (RI, FULL): "nested",
        (RS, FULL): "nested",  # the random slope is the full model without two parameters
    }


def test_rows_are_tested_against_the_largest_nested_smaller_model(schools):
    assert [m.label for m in schools.models] == [NULL, RS, RI, FULL]  # lme4: by npar
    against = {m.label: (schools.models[m.against].label if m.against is not None else None)
               for m in schools.models}  # fmt: skip
    assert against == {NULL: None, RS: None, RI: NULL, FULL: RI}
    assert schools.model(NULL).reason == cmp.SMALLEST
    assert schools.model(RS).reason == cmp.NO_SMALLER_NESTED
    assert schools.refitted and schools.any_reml
    assert schools.models[schools.best_aic].label == FULL == schools.models[schools.best_bic].label


def test_boundary_tests_are_flagged_with_the_mixture_p(schools):
    full = schools.model(FULL)
    assert full.on_boundary and not schools.model(RI).on_boundary
    # (1 | g) -> (1 + x | g) adds one random effect: 50:50 mixture of chi2 on 1 and 2 df.
    expected = 0.5 * (stats.chi2.sf(full.chisq, 1) + stats.chi2.sf(full.chisq, 2))
    assert full.p_boundary == pytest.approx(expected, rel=1e-12)
    assert full.p_boundary < full.p
    # Null -> full adds a fixed effect as well: flagged, but no mixture applies.
    pair = schools.pair(NULL, FULL)
    assert pair.on_boundary and math.isnan(pair.p_boundary)
    # One new scalar term: mixture of chi2 on 0 and 1 df, i.e. half the chi2(1) p-value.
    frame = load_bundled("schools")
    one = ModelSpec.one_factor(Y, G, fixed=(X,), reml=False)
    two = one.with_changes(random=(*one.random, RandomTerm((G,), intercept=False, slopes=(X,))))
    result = cmp.compare_models({"one": fit_lmm(frame, one), "two": fit_lmm(frame, two)})
    test = result.model("two")
    assert test.df == 1 and test.p_boundary == pytest.approx(test.p / 2, rel=1e-12)


def test_nesting_rule_on_specs():
    base = ModelSpec.one_factor("y", "g")
    full = ModelSpec.one_factor("y", "g", fixed=("x",), random_slopes=("x",))
    split = ModelSpec.one_factor("y", "g", fixed=("x",), random_slopes=("x",), correlated=False)
    assert cmp.nesting(base, full).nested and cmp.nesting(split, full).nested
    # The correlated term is not within two uncorrelated ones: a correlation is missing.
    rule = cmp.nesting(full, split)
    assert not rule.nested and rule.extra_random == ("cor | g",)
    # Another factor, another outcome, a fixed effect the other lacks.
    assert cmp.nesting(base, ModelSpec.one_factor("y", "h")).extra_random == ("(Intercept) | g",)
    assert not cmp.nesting(base, ModelSpec.one_factor("z", "g")).nested
    rule = cmp.nesting(full, ModelSpec.one_factor("y", "g", random_slopes=("x",)))
    assert rule.extra_fixed == ("x",) and not rule.nested
    # class:school is its own factor, nested designs keep the top term.
    nested = ModelSpec("y", random=(RandomTerm(("school",)), RandomTerm(("class", "school"))))
    assert cmp.nesting(ModelSpec.one_factor("y", "school"), nested).nested
    assert cmp.nesting(ModelSpec.one_factor("y", "school"), nested).added_effects == 1


def test_every_consumer_quotes_the_same_numbers(schools):
    frame = load_bundled("schools")
    table = cmp.comparison_table(schools)  # what the Compare page shows
    steps = ladder(frame, Y, X, G)
    ladder_rows = ladder_table(steps)
    text = lesson.look_comparison(schools)
    for name in (RI, FULL):
        model, step = schools.model(name), steps.step(name)
        assert step.parent == table.loc[name, cmp.AGAINST] == ladder_rows.loc[name, cmp.AGAINST]
        for column, value in ((cmp.CHISQ, model.chisq), (cmp.P, model.p), (cmp.AIC_ML, model.aic)):
            assert table.loc[name, column] == value == ladder_rows.loc[name, column], column
        assert (step.chisq, step.df, step.p, step.aic) == (
            model.chisq, model.df, model.p, model.aic,
        )  # fmt: skip
        assert f"χ² = {model.chisq:.2f} on {int(model.df)} df" in text
    # The lesson's "lowest AIC" names the criterion and uses the ML numbers, as the table.
    best = schools.models[schools.best_aic]
    assert f"the lowest AIC (ML), {best.aic:.1f}" in text and "932.6" in text
    assert "928.8" not in text  # the REML fit's own AIC, which the lesson used to quote
    assert table[cmp.AIC_ML].min() == best.aic == ladder_rows[cmp.AIC_ML].min()
    # No p-value for the pair that is not nested, anywhere.
    assert math.isnan(table.loc[RS, cmp.P]) and math.isnan(ladder_rows.loc[RS, cmp.P])
    assert table.loc[RS, cmp.NOTE] == cmp.NO_SMALLER_NESTED
    assert "'Random slope' gets no test" in text
    assert "R's anova() would test it against 'Random slope'" in text
    assert sentences(schools) == sentences(steps.comparison)


def test_table_columns_name_their_criterion(schools):
    table = cmp.comparison_table(schools)
    assert list(table.columns) == [
        "formula", "npar", "REML criterion", "AIC (ML)", "BIC (ML)", "logLik (ML)",
        "deviance (ML)", "tested against", "Chisq", "Df", "Pr(>Chisq)", "Pr (boundary)", "note",
    ]  # fmt: skip
    assert table.loc[FULL, cmp.NOTE] == cmp.BOUNDARY_NOTE
    # Models fitted by ML: no REML column, nothing refitted, the fits themselves.
    frame = load_bundled("schools")
    fits = {k: fit_lmm(frame, s) for k, s in ladder_specs(Y, X, G, reml=False).items()}
    result = cmp.compare_models(fits)
    assert not result.refitted and cmp.REML_CRITERION not in cmp.comparison_table(result)
    assert result.model(FULL).aic == fits[FULL].aic == pytest.approx(schools.model(FULL).aic)
    assert sentences(result)[0].startswith("All models were fitted by maximum likelihood")


def test_refits_from_the_frame_or_cached_ml_fits(schools):
    frame = load_bundled("schools")
    specs = ladder_specs(Y, X, G)
    fits = {k: fit_lmm(frame, s) for k, s in specs.items()}
    with pytest.raises(SpecError, match="The ML fit of 'Null model' is missing"):
        cmp.compare_models(fits)
    ml = {k: fit_lmm(frame, cmp.ml_spec(s)) for k, s in specs.items()}
    for result in (cmp.compare_models(fits, frame=frame), cmp.compare_models(fits, ml)):
        assert result.model(FULL).chisq == schools.model(FULL).chisq


def test_bad_comparisons_are_refused():
    frame = load_bundled("schools")
    one = fit_lmm(frame, ModelSpec.one_factor(Y, G, reml=False))
    with pytest.raises(SpecError, match="at least 2 models"):
        cmp.compare_models({"one": one})
    fewer = fit_lmm(frame.iloc[:150], ModelSpec.one_factor(Y, G, fixed=(X,), reml=False))
    with pytest.raises(SpecError, match=r"different numbers of rows \(\[150, 183\]\)"):
        cmp.compare_models({"one": one, "fewer": fewer})
    other = fit_lmm(frame, ModelSpec.one_factor(X, G, reml=False))
    with pytest.raises(SpecError, match="same outcome"):
        cmp.compare_models({"one": one, "other": other})
