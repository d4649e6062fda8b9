"""Within-and-between page: the effects shown are lib.classroom.within_between's numbers."""

from __future__ import annotations

from conftest import frame_with, labelled, plain

from lib.classroom.within_between import (
    BETWEEN_EFFECT,
    CONTEXTUAL_EFFECT,
    WITHIN_EFFECT,
    within_between,
)
from lib.table.catalogue import load_bundled

PAGE = "pages/9_Within_and_between.py"


def _effects(at):
    return labelled(frame_with(at, "lmer SE"))


def test_defaults_follow_the_sidebar_roles_and_show_libs_numbers(open_page):
    at = open_page(PAGE)
    assert not at.exception
    assert at.selectbox(key="wb_outcome").value == "test_score"
    assert at.selectbox(key="wb_predictor").value == "study_time"
    assert at.selectbox(key="wb_group").value == "school"
    result = within_between(load_bundled("schools"), "test_score", "study_time", "school")
    table = _effects(at)
    for effect in (WITHIN_EFFECT, BETWEEN_EFFECT, CONTEXTUAL_EFFECT):
        assert table.loc[effect, "lmer"] == f"{result.lmer[effect].estimate:.3f}"
        assert table.loc[effect, "lmer SE"] == f"{result.lmer[effect].se:.3f}"
        assert table.loc[effect, "OLS"] == f"{result.ols[effect].estimate:.3f}"
    assert table.loc[WITHIN_EFFECT, "lmer"] == "1.949"  # the tutorial's random-intercept slope
    code = " ".join(c.value for c in at.code)
    assert "test_score ~ 1 + study_time_cwc + study_time_mean_school + (1 | school)" in code
    assert "test_score ~ 1 + study_time + study_time_mean_school + (1 | school)" in code


def test_classic_example_has_opposite_signs(open_page):
    at = open_page(PAGE)
    at.toggle(key="wb_example").set_value(True).run()
    assert not at.exception
    assert at.selectbox(key="wb_outcome").value == "cholesterol"
    assert at.selectbox(key="wb_group").value == "age_group"
    result = within_between(load_bundled("exercise"), "cholesterol", "exercise", "age_group")
    table = _effects(at)
    assert table.loc[WITHIN_EFFECT, "lmer"] == f"{result.lmer[WITHIN_EFFECT].estimate:.3f}"
    assert table.loc[WITHIN_EFFECT, "lmer"] == "-3.652"
    assert table.loc[BETWEEN_EFFECT, "lmer"] == "11.215"
    assert table.loc[CONTEXTUAL_EFFECT, "lmer"] == "14.868"
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "The pooled line (slope 6.710) ignores the age_group groups" in text
    assert "all of which are negative" in text
    assert "`exercise_cwc`: exercise minus the mean of exercise in its age_group" in text


def test_choosing_another_predictor_refits(open_page):
    at = open_page(PAGE, {"data": "pupils"})
    assert not at.exception
    at.selectbox(key="wb_predictor").set_value("ses").run()
    assert not at.exception
    result = within_between(load_bundled("pupils"), "score", "ses", "school")
    table = _effects(at)
    assert table.loc[BETWEEN_EFFECT, "lmer"] == f"{result.lmer[BETWEEN_EFFECT].estimate:.3f}"
    assert table.loc[CONTEXTUAL_EFFECT, "OLS"] == f"{result.ols[CONTEXTUAL_EFFECT].estimate:.3f}"


def test_data_without_a_predictor_says_what_to_do(open_page):
    at = open_page(PAGE, {"data": "pastes"})
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "two numeric columns" in info and "classic example" in info
