"""Lesson page: Next/Back walk every step, each step is its own URL, and the numbers shown
(ICC, random intercept) equal lib's fit."""

from __future__ import annotations

from conftest import frame_with, labelled, plain

from lib.classroom import lesson
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

PAGE = "pages/8_Lesson.py"
NULL = ModelSpec.one_factor("test_score", "school")
RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))


def _title(at) -> str:
    return at.title[0].value


def _look(at) -> str:
    return plain(next(m.value for m in at.markdown if "What to look at" in m.value))


def _step_param(at) -> str:
    value = at.query_params["step"]
    return value[0] if isinstance(value, list) else value


def _button(at, key: str):
    return next(b for b in at.button if b.key == key)


def test_next_and_back_walk_every_step(open_page):
    at = open_page(PAGE)
    assert not at.exception
    assert _button(at, "_lesson_back_top").disabled
    for step in lesson.STEPS:
        assert not at.exception, step
        assert _title(at) == f"Step {step.number} of 9: {step.title}"
        assert _step_param(at) == str(step.number)
        assert "What to look at" in _look(at)
        assert not any(e.value for e in at.error), step
        if step.number < len(lesson.STEPS):
            _button(at, "_lesson_next_top").click().run()
    assert _button(at, "_lesson_next_bottom").disabled
    _button(at, "_lesson_back_bottom").click().run()
    assert _title(at).startswith("Step 8 of 9") and _step_param(at) == "8"


def test_null_model_step_shows_lib_icc(open_page):
    at = open_page(PAGE, query={"step": "5"})
    assert not at.exception
    assert _title(at) == "Step 5 of 9: Null model and ICC"
    fit = fit_lmm(load_bundled("schools"), NULL)
    tau2 = fit.varcorr.terms[0].variances[0]
    sigma2 = fit.varcorr.residual_variance
    icc = tau2 / (tau2 + sigma2)
    assert abs(icc - fit.icc.adjusted) < 1e-12
    text = _look(at)
    assert f"= {icc:.3f}" in text and f"{100 * icc:.1f}% of the variation" in text
    assert f"intercept variance {tau2:.3f}" in text and f"residual variance {sigma2:.3f}" in text
    table = labelled(frame_with(at, "Value"))
    assert table.loc["Adjusted ICC", "Value"] == f"{fit.icc.adjusted:.3f}"
    assert "test_score ~ 1 + (1 | school)" in [c.value for c in at.code]
    varcorr = frame_with(at, "Std.Dev.")
    assert varcorr["Variance"].tolist() == [f"{tau2:,.4f}", f"{sigma2:,.4f}"]


def test_random_intercept_step_shows_lib_numbers(open_page):
    at = open_page(PAGE, query={"step": "6"})
    assert not at.exception
    fit = fit_lmm(load_bundled("schools"), RI)
    fixef = labelled(frame_with(at, "Estimate"))
    assert fixef.loc["study_time", "Estimate"] == f"{fit.beta[1]:,.4f}"
    assert fixef.loc["(Intercept)", "Estimate"] == f"{fit.beta[0]:,.4f}"
    assert fixef.loc["study_time", "Std. Error"] == f"{fit.beta_se[1]:,.4f}"
    text = _look(at)
    assert f"the slope of **study_time** is {fit.beta[1]:.3f} (SE {fit.beta_se[1]:.3f})" in text
    assert f"to {fit.varcorr.residual_variance:.3f}" in text
    numbers = next(m.value for m in at.markdown if m.value.startswith("**REML criterion**"))
    assert f"**REML criterion** {fit.criterion:,.1f}" in numbers
    assert f"{fit.criterion:.1f}" == "984.8"  # the tutorial's value


def test_an_invalid_step_says_so_and_shows_step_one(open_page):
    for raw, words in (("12", "there is no step 12"), ("abc", "'abc' is not a step number")):
        at = open_page(PAGE, query={"step": raw})
        assert not at.exception
        warning = plain(at.warning[0].value)
        assert words in warning and "Showing step 1" in warning
        assert _title(at).startswith("Step 1 of 9")
        assert _step_param(at) == "1"


def test_step_selector_jumps(open_page):
    at = open_page(PAGE, query={"step": "2"})
    at.selectbox(key="_lesson_jump").set_value(9).run()
    assert not at.exception
    assert _title(at) == "Step 9 of 9: Compare the models"
    assert _step_param(at) == "9"


def test_data_without_a_predictor(open_page):
    at = open_page(PAGE, query={"step": "2", "data": "pastes"})
    assert not at.exception
    assert any("needs a numeric predictor" in i.value for i in at.info)
    at = open_page(PAGE, query={"step": "5", "data": "pastes"})
    assert not at.exception
    assert "(1 | batch)" in " ".join(c.value for c in at.code)


def test_presentation_heading_names_the_step(open_page):
    at = open_page(PAGE, query={"step": "5", "present": "1"})
    assert not at.exception
    assert any(m.value.startswith("**Lesson** · How much") for m in at.markdown)
    assert len(at.table) >= 2  # static, larger tables
