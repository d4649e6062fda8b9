"""lib.classroom.lesson: the step list, reading a step from a link, and texts written from the
numbers."""

from __future__ import annotations

import numpy as np
import pytest

from lib.classroom import lesson
from lib.classroom.comparison import compare_models, ml_spec
from lib.classroom.ladder import ladder_specs
from lib.explore.groups import group_summary, mean_differences
from lib.lmm import fit_lmm
from lib.model.formula import parse_formula
from lib.ols.regressions import fit_ols, fit_per_group
from lib.table.catalogue import load_bundled

Y, X, G = "test_score", "study_time", "school"


@pytest.fixture(scope="module")
def schools():
    return load_bundled("schools")


@pytest.fixture(scope="module")
def fits(schools):
    return {name: fit_lmm(schools, spec) for name, spec in ladder_specs(Y, X, G).items()}


def test_steps_follow_the_tutorial():
    assert [s.number for s in lesson.STEPS] == list(range(1, 10))
    assert [s.key for s in lesson.STEPS] == [
        "data", "ols", "dummy", "separate", "null", "random_intercept", "random_slope",
        "random_intercept_slope", "comparison",
    ]  # fmt: skip
    assert not lesson.step(1).needs_predictor and not lesson.step(5).needs_predictor
    assert lesson.step(6).needs_predictor


@pytest.mark.parametrize(
    ("raw", "number", "problem"),
    [
        (None, 1, None),
        ("", 1, None),
        ("3", 3, None),
        (" 9 ", 9, None),
        ("0", 1, "there is no step 0"),
        ("10", 1, "there is no step 10"),
        ("-2", 1, "there is no step -2"),
        ("three", 1, "'three' is not a step number"),
        ("3.5", 1, "'3.5' is not a step number"),
    ],
)
def test_parse_step(raw, number, problem):
    got, message = lesson.parse_step(raw)
    assert got == number
    assert (message is None) if problem is None else message.startswith(problem)


def test_look_data_uses_the_group_means(schools):
    groups = group_summary(schools, Y, G)
    text = lesson.look_data(groups)
    mean = np.asarray(groups.mean)
    assert f"{mean.min():.3f} ('Oakwood')" in text and f"{mean.max():.3f} ('Hillcrest')" in text
    assert f"a gap of {mean.max() - mean.min():.3f}" in text


def test_look_ols_and_dummy_quote_the_fits(schools):
    simple = fit_ols(schools, Y, [X])
    assert f"adds {simple.coef[1]:.3f}" in lesson.look_ols(simple, X, G)
    assert "5.266" in lesson.look_ols(simple, X, G)  # the tutorial's residual SE
    diffs = mean_differences(schools, Y, X, G)
    text = lesson.look_dummy(diffs, simple)
    assert f"from {simple.sigma:.3f} to {diffs.fit.sigma:.3f}" in text
    assert "3.458" in text  # the tutorial's residual SE of the dummy model
    assert "2 dummy variables" in text


def test_look_separate_names_the_extreme_slopes(schools):
    per_group = fit_per_group(schools, Y, [X], G)
    slopes = per_group.coef_matrix()[:, 1]
    text = lesson.look_separate(per_group, quote=str)
    lo, hi = int(np.argmin(slopes)), int(np.argmax(slopes))
    assert f"from {slopes[lo]:.3f} ({per_group.levels[lo]})" in text
    assert f"to {slopes[hi]:.3f} ({per_group.levels[hi]})" in text


def test_look_null_computes_the_icc(fits):
    fit = fits["Null model"]
    tau2 = fit.varcorr.terms[0].variances[0]
    sigma2 = fit.varcorr.residual_variance
    text = lesson.look_null(fit)
    assert f"= {fit.icc.adjusted:.3f}" in text
    assert f"{tau2:.3f} / ({tau2:.3f} + {sigma2:.3f})" in text
    assert "warranted" in text  # 0.359 >= 0.10


def test_look_mixed_steps(schools, fits):
    ri = fits["Random intercept"]
    text = lesson.look_random_intercept(ri, fits["Null model"], fit_ols(schools, Y, [X]))
    assert f"is {ri.beta[1]:.3f} (SE {ri.beta_se[1]:.3f})" in text
    rs = fits["Random slope"]
    assert f"SD {rs.varcorr.terms[0].sd[-1]:.3f}" in lesson.look_random_slope(rs)
    assert "no fixed slope" in lesson.look_random_slope(rs)
    full = fits["Random intercept and slope"]
    r = full.varcorr.terms[0].correlation[1, 0]
    text = lesson.look_full(full)
    assert f"correlation is {r:.2f}" in text and ("flatter" if r < 0 else "steeper") in text


def test_random_intercept_step_names_an_interaction_without_a_main_effect(schools):
    """A model whose only fixed term is an interaction (a FixedTerm, not a column name)."""
    frame = schools.assign(hours2=schools[X] ** 2)
    spec = parse_formula(f"{Y} ~ {X}:hours2 + (1 | {G})")
    fit = fit_lmm(frame, spec)
    text = lesson.look_random_intercept(fit, None, None)
    assert text.startswith("Each group keeps its own baseline; the slope of 'study_time:hours2'")
    spec = parse_formula(f"{Y} ~ {X} + {X}:hours2 + (1 | {G})")
    fit = fit_lmm(frame, spec)
    text = lesson.look_random_intercept(fit, None, None)
    assert f"the slope of '{X}' is {fit.beta[1]:.3f}" in text


def test_look_comparison_names_the_criterion_and_quotes_ml_numbers(schools, fits):
    ml = {name: fit_lmm(schools, ml_spec(fit.spec)) for name, fit in fits.items()}
    result = compare_models(fits, ml)
    text = lesson.look_comparison(result)
    # The ML fits' AIC (932.6), named as such; the REML fits' own AIC was 928.8.
    best = min(ml, key=lambda n: ml[n].aic)
    assert (
        f"the lowest AIC (ML), {ml[best].aic:.1f}" in text and best == "Random intercept and slope"
    )
    assert f"{min(f.aic for f in fits.values()):.1f}" not in text
    full = result.model("Random intercept and slope")
    assert f"χ² = {full.chisq:.2f} on 2 df" in text
    assert "'Random slope' gets no test" in text  # not nested: no p-value
    assert "p = 5.96" not in text and "on 0 df," not in text
    assert "RANDOM SLOPE gets no test" in lesson.look_comparison(result, quote=str.upper)
