"""The Lesson page: the tutorial's nine steps on the active data set, one step per URL.

Each step shows what to look at (``lib.classroom.lesson``, written from this data's
numbers), then the live result, drawn by the same renderers as the Explore,
Compare and Model pages (their section functions are called, not copied). The
step lives in the URL as ``step=N`` so a teacher can present from it and a
student reopen it at home; an unusable ``step`` says so and shows step 1.
Streamlit clears query parameters on a page switch, so the last step is also
kept in the session and written back to the URL. With a binomial or Poisson family the
same nine steps are fitted with glm and glmer (``ui.views.lesson_glmm``).
"""

from __future__ import annotations

import streamlit as st

from lib.classroom import lesson
from lib.classroom.ladder import FULL, NULL, RI, RS, ladder_specs
from lib.errors import ExplorerError
from lib.lmm import LmmFit
from lib.model.spec import ModelSpec
from lib.present import explain, summary
from lib.present.markdown import md
from ui import big, cache, classroom_cache, family_widgets, presentation, render, state
from ui.sidebar import Selection, show_error
from ui.views import compare as compare_view
from ui.views import comparison as comparison_view
from ui.views import explore as explore_view
from ui.views import lesson_glmm as glmm_view
from ui.views import model as model_view
from ui.views.lesson_common import comparison_step, what_to_look_at

PARAM = "step"
_LAST = "_lesson_step"  # the step this session saw last (the URL is cleared on page switch)
_JUMP = "_lesson_jump"  # the step selector's key
MIXED_STEP_MODEL = {lesson.NULL: NULL, lesson.RI: RI, lesson.RS: RS, lesson.FULL: FULL}


def current_step() -> tuple[int, str | None]:
    """The step to show (URL, else this session's last) and why a URL value was refused."""
    raw = st.query_params.get(PARAM)
    if raw is None:
        return int(st.session_state.get(_LAST, 1)), None
    return lesson.parse_step(raw)


def go_to(number: int) -> None:
    """Callback of Back / Next / the step selector."""
    st.session_state[_LAST] = number
    st.query_params[PARAM] = str(number)


def _on_jump() -> None:
    go_to(int(st.session_state[_JUMP]))


quote = comparison_view.quote  # a user-supplied name in a sentence: escaped, in bold


def draw(sel: Selection) -> None:
    number, problem = current_step()
    st.session_state[_LAST] = number
    if st.query_params.get(PARAM) != str(number):
        st.query_params[PARAM] = str(number)
    family = family_widgets.current()
    steps = glmm_view.steps(family) if family.generalized else lesson.STEPS
    step = steps[number - 1]
    presentation.heading(
        f"Step {number} of {len(steps)}: {step.title}",
        sel,
        subtitle=f"**Lesson** · {step.question}",
    )
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    if problem:
        st.warning(
            f"This link asked for a step that does not exist: {md(problem)}. Showing step 1.",
            icon=":material/link_off:",
        )
    if not presentation.is_on():
        st.caption(f"Lesson · {step.question}")
    _navigation(number, "top", steps)
    roles = sel.roles
    if roles.levels:
        st.caption(
            f"The lesson follows the tutorial with one grouping level: {md(roles.group)} "
            "(the lower levels apply on the Model page)."
        )
    if step.needs_predictor and roles.predictor is None:
        st.info(
            "This step needs a numeric predictor: choose one in the sidebar (this data set "
            "may have none; then go on to the next step that does without).",
            icon=":material/info:",
        )
    else:
        drawers = glmm_view.DRAWERS if family.generalized else _STEP_DRAWERS
        try:
            drawers[step.key](_rows_for_lesson(sel))
        except ExplorerError as exc:
            show_error(exc)
    _navigation(number, "bottom", steps)
    st.caption(
        "Each step fits its own model: the sidebar's model toggles do not apply here; its "
        + (
            "data set, columns and outcome family do (glmer fits by maximum likelihood)."
            if family.generalized
            else "data set, columns and estimation method (REML/ML) do."
        )
    )


def _rows_for_lesson(sel: Selection) -> Selection:
    """The rows complete in outcome, predictor and group, as on the Compare page, so that
    every step's model is fitted to the same rows and step 9 can compare them."""
    if sel.roles.predictor is None:
        return sel
    return compare_view._same_rows(sel)


def _navigation(number: int, where: str, steps: tuple[lesson.Step, ...] = lesson.STEPS) -> None:
    total = len(steps)
    with st.container(horizontal=True, gap="small", vertical_alignment="bottom"):
        st.button(
            "Back",
            key=f"_lesson_back_{where}",
            on_click=go_to,
            args=(number - 1,),
            disabled=number == 1,
            icon=":material/arrow_back:",
        )
        st.button(
            f"Next: {steps[number].title}" if number < total else "Next",
            key=f"_lesson_next_{where}",
            on_click=go_to,
            args=(number + 1,),
            disabled=number == total,
            type="primary",
            icon=":material/arrow_forward:",
        )
        if where == "bottom":  # at the top it would push the step's text down
            st.session_state[_JUMP] = number
            st.selectbox(
                "Go to step",
                [s.number for s in steps],
                key=_JUMP,
                format_func=lambda n: f"{n} · {steps[n - 1].title}",
                on_change=_on_jump,
                label_visibility="collapsed",
                width=320,
            )


def _data(sel: Selection) -> None:
    y, g = sel.roles.outcome, sel.roles.group
    groups = cache.group_summary(sel.source, y, g, sel.frame)
    what_to_look_at(lesson.look_data(groups, quote))
    explore_view._histograms(sel, groups, (g,))
    explore_view._means(groups)


def _context(sel: Selection) -> compare_view._Context:
    groups = cache.group_summary(sel.source, sel.roles.outcome, sel.roles.group, sel.frame)
    return compare_view._Context(sel, groups)


def _simple_ols(sel: Selection):  # noqa: ANN202 - OlsFit
    roles = sel.roles
    return cache.ols(sel.source, roles.outcome, (roles.predictor,), (), sel.frame)


def _ols(sel: Selection) -> None:
    what_to_look_at(lesson.look_ols(_simple_ols(sel), sel.roles.predictor, sel.roles.group, quote))
    compare_view._simple(_context(sel))


def _dummy(sel: Selection) -> None:
    ctx = _context(sel)
    if len(ctx.levels) <= compare_view.MAX_DUMMY_GROUPS:
        roles = sel.roles
        diffs = cache.mean_differences(
            sel.source, roles.outcome, roles.predictor, roles.group, sel.frame
        )
        what_to_look_at(lesson.look_dummy(diffs, _simple_ols(sel), quote))
    compare_view._dummy(ctx)


def _separate(sel: Selection) -> None:
    ctx = _context(sel)
    if len(ctx.levels) <= compare_view.MAX_SEPARATE_GROUPS:
        roles = sel.roles
        per_group = cache.per_group(
            sel.source, roles.outcome, (roles.predictor,), roles.group, sel.frame
        )
        what_to_look_at(lesson.look_separate(per_group, quote))
    compare_view._separate(ctx)


def _spec(sel: Selection, name: str) -> ModelSpec:
    roles = sel.roles
    reml = sel.spec.reml if sel.spec is not None else True
    if roles.predictor is None:
        return ModelSpec.one_factor(roles.outcome, roles.group, reml=reml)
    return ladder_specs(roles.outcome, roles.predictor, roles.group, reml)[name]


def _fit(sel: Selection, name: str) -> LmmFit:
    with st.spinner("Fitting the model…", show_time=True):
        return cache.fit(sel.source, _spec(sel, name), sel.frame)


def _null(sel: Selection) -> None:
    fit = _fit(sel, NULL)
    what_to_look_at(lesson.look_null(fit, quote))
    _model_result(sel, fit, chart=False, icc_first=True)
    model_view._null_means(sel, fit)


def _random_intercept(sel: Selection) -> None:
    fit = _fit(sel, RI)
    what_to_look_at(lesson.look_random_intercept(fit, _fit(sel, NULL), _simple_ols(sel), quote))
    _model_result(sel, fit)


def _random_slope(sel: Selection) -> None:
    fit = _fit(sel, RS)
    what_to_look_at(lesson.look_random_slope(fit, quote))
    _model_result(sel, fit)


def _full(sel: Selection) -> None:
    fit = _fit(sel, FULL)
    what_to_look_at(lesson.look_full(fit, quote))
    _model_result(sel, fit)


def _model_result(sel: Selection, fit: LmmFit, chart: bool = True, icc_first: bool = False) -> None:
    """Formula, key numbers, the fitted lines and the tables the step talks about."""
    st.code(fit.formula, language="r", wrap_lines=True)
    presentation.key_numbers(fit)
    if fit.singular:
        st.warning(explain.singular(fit, state.has_toggles)[0], icon=":material/warning:")
    if chart:
        model_view._chart(sel, fit)
    if icc_first:  # the null model's step is about the ICC
        _icc(fit)
    st.subheader("Random effects")
    render.table(summary.varcorr_table(fit), "lesson_random_effects", show_index=False)
    render.meaning(explain.varcorr(fit))
    st.subheader("Fixed effects")
    render.table(summary.fixef_table(fit), "lesson_fixed_effects", decimals={"df": 2, "t value": 3})
    render.meaning(explain.fixef(fit))
    if not icc_first:
        _icc(fit)


def _icc(fit: LmmFit) -> None:
    st.subheader("Intraclass correlation and R²")
    render.table(summary.icc_r2_table(fit), "lesson_icc_r2", decimals=3)
    caveat = explain.icc_caveat(fit.spec)
    if caveat:
        st.info(caveat, icon=":material/info:")
    render.meaning(explain.icc_r2(fit))


def _comparison(sel: Selection) -> None:
    roles = sel.roles
    reml = sel.spec.reml if sel.spec is not None else True
    specs = ladder_specs(roles.outcome, roles.predictor, roles.group, reml)
    fits: dict[str, LmmFit] = {}
    with st.spinner("Fitting the four mixed models…", show_time=True):
        for name, spec in specs.items():
            try:
                fits[name] = cache.fit(sel.source, spec, sel.frame)
            except ExplorerError as exc:
                show_error(f"{name}: {exc}")
    if len(fits) < 2:
        st.info("At least two mixed models are needed for a comparison.")
        return
    try:
        result = classroom_cache.compare(sel.source, fits, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return
    named = [(name, fit.formula) for name, fit in fits.items()]
    comparison_step(result, named, "lesson_comparison")


_STEP_DRAWERS = {
    lesson.DATA: _data,
    lesson.OLS: _ols,
    lesson.DUMMY: _dummy,
    lesson.SEPARATE: _separate,
    lesson.NULL: _null,
    lesson.RI: _random_intercept,
    lesson.RS: _random_slope,
    lesson.FULL: _full,
    lesson.COMPARE: _comparison,
}
