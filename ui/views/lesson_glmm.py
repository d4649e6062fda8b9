"""The Lesson page's steps for a binomial or Poisson outcome (issue 16).

``ui.views.lesson`` draws the heading, Back/Next and the step selector for both kinds of
outcome and hands each step to ``DRAWERS`` here when the sidebar's family is generalized.
Steps 2-4 are single-level GLMs (``lib.ols.glm``, fitted here in the session and cached);
steps 5-9 take the four glmer fits and their comparison from the one fit-pool job the
Ladder and Compare pages run (``ui.glmm_cache.compare`` of the same named specs, the same
cache entry), so the fits are shared and step 9's numbers are those pages' numbers. The
texts are ``lib.classroom.lesson_glmm``'s.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import readable as chart_readable
from lib.charts import style as chart_style
from lib.classroom import lesson, lesson_glmm
from lib.classroom.comparison import Comparison
from lib.classroom.ladder import FULL, NULL, RI, RS, ladder_specs
from lib.errors import ExplorerError
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.ols.glm import GlmFit, PerGroupGlm, fit_glm, fit_glm_per_group
from lib.present import explain_glmm
from lib.present.family import glmer_formula, ratio_name
from lib.present.glmm_summary import glmm_fixef_table, glmm_varcorr_table, ratio_table
from lib.present.markdown import md
from lib.present.snippets import glmer_line
from lib.table.columns import finite_range
from lib.table.outcome_kind import with_binary_outcome
from ui import cache, family_widgets, glmm_cache, glmm_nagq, render
from ui.cache import TTL
from ui.sidebar import Selection, show_error
from ui.views import explore as explore_view
from ui.views import model_glmm
from ui.views import model_glmm_panels as panels
from ui.views.lesson_common import comparison_step, what_to_look_at

MAX_LINES = 30  # curves drawn (the largest groups), as the linear lesson's lines
NO_FIT = "no fit because"
MAX_DUMMY_GROUPS = 100  # the dummy model needs a column per group (the Compare page's limit)
MAX_SEPARATE_GROUPS = 300  # one glm per group, about 2.5 ms each (the Compare page's limit)


def steps(family: ResponseFamily) -> tuple[lesson.Step, ...]:
    return lesson_glmm.steps(family)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def glm_fit(
    source: str,
    outcome: str,
    predictor: str,
    group: str | None,
    family_key: str,
    _family: ResponseFamily,
    _frame: pd.DataFrame,
) -> GlmFit:
    """``lib.ols.glm.fit_glm`` (``group``: the dummy model), cached per data and family."""
    return fit_glm(_frame, outcome, [predictor], _family, group=group)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def glm_per_group(
    source: str,
    outcome: str,
    predictor: str,
    group: str,
    family_key: str,
    _family: ResponseFamily,
    _frame: pd.DataFrame,
) -> PerGroupGlm:
    return fit_glm_per_group(_frame, outcome, predictor, group, _family)


def _complete_fit(sel: Selection, family: ResponseFamily) -> GlmFit:
    roles = sel.roles
    return glm_fit(
        sel.source, roles.outcome, roles.predictor, None, repr(family), family, sel.frame
    )


# ------------------------------------------------------------------ charts


def _chart(
    sel: Selection, family: ResponseFamily, lines: pd.DataFrame, title: str, name: str
) -> None:
    """The outcome (0/1, proportion or count) against the predictor with ``lines`` (the
    fitted curves on the response scale), as the Model page draws a glmer fit."""
    x, group, y = sel.roles.predictor, sel.roles.group, sel.roles.outcome

    def inputs() -> tuple[tuple, dict]:
        extra = (family.trials,) if family.trials else ()
        points, sampled = cache.sample_factor(
            sel.source, (y, x, *extra), (group,), chart_style.MAX_MARKS // 2, sel.frame
        )
        binomial = family.family == "binomial"
        if binomial and family.trials:
            points = points.assign(**{y: points[y] / points[family.trials]})
        elif binomial:
            points = with_binary_outcome(points, y, family.success)
        label = (
            f"{y} ({family.success or 1} = 1)"
            if binomial and not family.trials
            else (f"proportion {y} / {family.trials}" if binomial else y)
        )
        notes = [f"random sample of {len(points):,} rows"] if sampled else []
        if lines["group"].nunique() > MAX_LINES + 1:
            notes.append(f"curves for the {MAX_LINES} largest groups")
        if family.offset:
            notes.append("curves with the offset at 0")
        levels = sorted(points[group].astype(str).unique())
        return (points.rename(columns={y: label}), x, label, group), {
            "lines": lines,
            "levels": levels,
            "title": title,
            "note": "; ".join(notes) or None,
            "overall_label": lesson_glmm_overall(family),
        }

    key = ("lesson_glmm", name, sel.source, y, x, group, repr(family))
    try:
        spec = cache.keyed_chart_spec(key, "scatter", inputs)
    except ExplorerError as exc:
        show_error(exc)
        return
    render.chart(spec, f"{title}: {y} against {x}")


def lesson_glmm_overall(family: ResponseFamily) -> str:
    """The legend's name of the curve that ignores the groups (step 2's regression)."""
    return f"One {lesson_glmm.kind(family)} curve"


def _rates(sel: Selection, family: ResponseFamily):  # noqa: ANN202 - GroupRates
    """Rows and proportions (mean counts) per group, as Explore shows them (cached)."""
    g = sel.roles.group
    return glmm_cache.group_rates(
        sel.source, sel.roles.outcome, (g,), repr(family), family, sel.frame
    )


def _shown(sel: Selection, family: ResponseFamily) -> list[str]:
    """The largest groups, whose curves are drawn."""
    rates = _rates(sel, family)
    levels = [str(v) for v in rates.levels]
    return chart_readable.pick_groups(levels, list(rates.n), MAX_LINES)


def _glm_tables(fit: GlmFit, family: ResponseFamily, name: str, rows: list[str] | None = None):
    """Coefficients (Estimate, SE, z, p and the ratio), then deviance and AIC."""
    keep = [k for k, n in enumerate(fit.names) if rows is None or n in rows]
    table = pd.DataFrame(
        {
            "Estimate": fit.coef[keep],
            "Std. Error": fit.se[keep],
            "z value": fit.z[keep],
            "Pr(>|z|)": fit.p[keep],
        },
        index=pd.Index([fit.names[k] for k in keep], name="term"),
    )
    ratio = ratio_name(family)
    if ratio is not None:
        table[ratio.capitalize()] = np.exp(table["Estimate"])
    st.markdown("**Coefficients**")
    long = len(table) > 8
    # A long table (a dummy per group) in one block that fits the main column: two
    # blocks side by side would scroll separately; z and p are in the CSV.
    shown = table[[c for c in table.columns if c not in ("z value", "Pr(>|z|)")]] if long else table
    render.table(
        model_glmm.p_shown(shown),
        f"lesson_{name}_coefficients",
        download=table,
        height=300 if long else None,
        caption="z values and p-values: in the CSV." if long else None,
    )
    render.metrics(
        [
            render.Metric("Deviance", f"{fit.deviance:,.1f}", f"Unrounded: {fit.deviance:.6f}"),
            render.Metric("Null deviance", f"{fit.null_deviance:,.1f}"),
            render.Metric("df.resid", f"{fit.df_resid:,}"),
            render.Metric("AIC", f"{fit.aic:,.1f}", f"Unrounded: {fit.aic:.6f}"),
        ]
    )


# ------------------------------------------------------------------ steps 1-4


def _data(sel: Selection) -> None:
    family = family_widgets.current()
    what_to_look_at(lesson_glmm.look_data(_rates(sel, family), family))
    explore_view._rates(sel, family, (sel.roles.group,))


def _complete(sel: Selection) -> None:
    family = family_widgets.current()
    roles = sel.roles
    fit = _complete_fit(sel, family)
    what_to_look_at(lesson_glmm.look_complete(fit, roles.predictor, roles.group, family))
    st.code(
        lesson_glmm.glm_line(roles.outcome, roles.predictor, family), language="r", wrap_lines=True
    )
    x_range = finite_range(sel.frame, roles.predictor)
    label = lesson_glmm_overall(family)
    lines = lesson_glmm.complete_curve(fit, roles.predictor, x_range, label)
    _chart(sel, family, lines, f"One {lesson_glmm.kind(family)} regression for all groups", "ols")
    _glm_tables(fit, family, "complete")


def _dummy(sel: Selection) -> None:
    family = family_widgets.current()
    roles = sel.roles
    y, x, g = roles.outcome, roles.predictor, roles.group
    groups = _rates(sel, family)
    if len(groups.levels) > MAX_DUMMY_GROUPS:
        st.info(
            f"The dummy model needs one column per group: {len(groups.levels):,} groups of "
            f"{md(g)} are more than {MAX_DUMMY_GROUPS} dummies can show. Step 4 fits each "
            "group on its own."
        )
        return
    with st.spinner("Fitting the dummy-variable model…", show_time=True):
        fit = glm_fit(sel.source, y, x, g, repr(family), family, sel.frame)
    complete = _complete_fit(sel, family)
    what_to_look_at(lesson_glmm.look_dummy(fit, complete, x, g))
    st.code(lesson_glmm.glm_line(y, x, family, group=g), language="r", wrap_lines=True)
    shown = _shown(sel, family)
    lines = lesson_glmm.dummy_curves(fit, x, g, shown, finite_range(sel.frame, x))
    _chart(sel, family, lines, "One baseline per group, one shared slope", "dummy")
    _glm_tables(fit, family, "dummy")
    if fit.infinite:
        st.caption(
            f"-Inf / Inf: the {md(g)} groups whose outcomes are all 0 or all 1 "
            f"({', '.join(md(v) for v in fit.infinite)}); their rows are fitted exactly and "
            "the other numbers are the limit R's glm() approaches."
        )


def _separate(sel: Selection) -> None:
    family = family_widgets.current()
    roles = sel.roles
    y, x, g = roles.outcome, roles.predictor, roles.group
    levels = _rates(sel, family).levels
    if len(levels) > MAX_SEPARATE_GROUPS:
        st.info(
            f"{len(levels):,} groups of {md(g)} are more than the {MAX_SEPARATE_GROUPS} "
            "regressions this step fits and shows; the mixed models of the next steps "
            "handle any number of groups."
        )
        return
    with st.spinner("Fitting one regression per group…", show_time=True):
        result = glm_per_group(sel.source, y, x, g, repr(family), family, sel.frame)
    what_to_look_at(lesson_glmm.look_separate(result, family))
    st.code(
        f"# one regression per {g}, on its rows\n{lesson_glmm.glm_line(y, x, family)}",
        language="r",
        wrap_lines=True,
    )
    shown = _shown(sel, family)
    lines = lesson_glmm.separate_curves(
        result, family.family, family.link_name, finite_range(sel.frame, x), shown
    )
    _chart(sel, family, lines, "A regression per group", "separate")
    table = per_group_table(result, family)
    render.table(
        table.drop(columns=["(Intercept)", NO_FIT]),
        "lesson_separate_regressions",
        show_index=False,
        height=300 if len(result.levels) > 8 else None,
        download=table,
    )
    unfitted = result.unfitted()
    if unfitted:
        st.caption(
            "Empty: no regression of its own ("
            + "; ".join(
                f"{', '.join(md(v) for v in levels)}: {md(reason)}"
                for reason, levels in unfitted.items()
            )
            + "). The CSV has every group's intercept and the reason."
        )


def per_group_table(result: PerGroupGlm, family: ResponseFamily) -> pd.DataFrame:
    """One row per group: rows, intercept, slope (and its ratio), or why there is none."""
    nan = float("nan")
    intercept = [f.coefficient("(Intercept)") if f is not None else nan for f in result.fits]
    slope = result.slopes()
    table = pd.DataFrame(
        {
            result.group: list(result.levels),
            "rows": result.sizes.astype(int),
            "(Intercept)": intercept,
            result.predictor: slope,
        }
    )
    ratio = ratio_name(family)
    if ratio is not None:
        table[ratio] = np.exp(slope)
    table[NO_FIT] = list(result.reasons)
    return table


# ------------------------------------------------------------------ steps 5-9


def _spec(sel: Selection, name: str) -> ModelSpec:
    """The step's model, by maximum likelihood (glmer has no REML), as the Ladder's."""
    roles = sel.roles
    if roles.predictor is None:
        return ModelSpec.one_factor(roles.outcome, roles.group, reml=False)
    return ladder_specs(roles.outcome, roles.predictor, roles.group, False)[name]


def _specs(sel: Selection) -> tuple[tuple[str, ModelSpec], ...]:
    """The four models as the Ladder names and specifies them (its cache key)."""
    roles = sel.roles
    return tuple(ladder_specs(roles.outcome, roles.predictor, roles.group, False).items())


def _compared(sel: Selection) -> Comparison:
    """The four glmer fits and their comparison: one job in the fit pool, the Ladder's
    cached result (Compare's too), so steps 5-9 and those pages share the same fits."""
    family = family_widgets.current()
    specs = _specs(sel)
    nagq = glmm_nagq.comparison_nagq(family, dict(specs))[0]  # the Ladder's and Compare's
    with st.spinner("Fitting the four mixed models with glmer…", show_time=True):
        return glmm_cache.compare(sel.source, specs, family, sel.frame, nagq)


def _fit(sel: Selection, name: str) -> GlmmFit:
    """The step's glmer fit: from the comparison's fits; alone (``glmm_cache.fit``, the
    Model page's cache) without a predictor or when another of the four fails."""
    family = family_widgets.current()
    if sel.roles.predictor is not None:
        try:
            result = _compared(sel)
            return result.fits[result.index(name)].fit
        except ExplorerError:
            pass  # fitted alone below: this step's own error, if any, is then shown
    spec = _spec(sel, name)
    nagq = glmm_nagq.comparison_nagq(family, {name: spec})[0]  # the same rule, for one model
    with st.spinner("Fitting the model with glmer…", show_time=True):
        return glmm_cache.fit(sel.source, spec, family, sel.frame, nagq)


def _mixed(sel: Selection, name: str, look) -> GlmmFit:  # noqa: ANN001 - the step's text
    family = family_widgets.current()
    spec = _spec(sel, name)
    fit = _fit(sel, name)
    response = model_glmm.named_success(family, fit)
    stepped = dataclasses.replace(sel, spec=spec)
    what_to_look_at(look(fit, response))
    st.code(glmer_line(spec, family), language="r", wrap_lines=True)
    render.metrics(
        [
            render.Metric("AIC", f"{fit.aic:,.1f}", f"Unrounded: {fit.aic:.6f}"),
            render.Metric("BIC", f"{fit.bic:,.1f}"),
            render.Metric("logLik", f"{fit.loglik:,.1f}", f"Unrounded: {fit.loglik:.6f}"),
            render.Metric("deviance", f"{fit.deviance:,.1f}"),
        ]
    )
    singular = explain_glmm.singular(fit)
    if singular:
        st.warning(singular, icon=":material/warning:")
    if name == NULL:
        panels.icc_r2(stepped, fit)
    else:
        model_glmm._curves(stepped, fit, family)
    key = panels.key_of(stepped, fit)
    st.subheader("Random effects")
    render.table(glmm_varcorr_table(fit), "lesson_glmm_random_effects", show_index=False, key=key)
    render.meaning(explain_glmm.varcorr(fit, response))
    st.subheader("Fixed effects")
    table = glmm_fixef_table(fit)
    render.table(model_glmm.p_shown(table), "lesson_glmm_fixed_effects", download=table, key=key)
    ratio = ratio_name(response)
    if ratio is not None and len(fit.fixef_names) > 0:
        ratios = ratio_table(fit, response)
        st.markdown(f"**{ratio.capitalize()}s** (exp of the estimates) with Wald 95% limits:")
        render.table(model_glmm.p_shown(ratios), "lesson_glmm_ratios", download=ratios, key=key)
    render.meaning(explain_glmm.fixef(fit, spec, response))
    if name != NULL:
        panels.icc_r2(stepped, fit)
    return fit


def _null(sel: Selection) -> None:
    family = family_widgets.current()
    spec = _spec(sel, NULL)
    fit = _fit(sel, NULL)
    variances = glmm_cache.variances(sel.source, spec, family, fit, sel.frame)
    _mixed(sel, NULL, lambda f, r: lesson_glmm.look_null(f, variances, r))


def _random_intercept(sel: Selection) -> None:
    roles = sel.roles
    family = family_widgets.current()
    null = _fit(sel, NULL)
    complete = _complete_fit(sel, family)
    _mixed(
        sel,
        RI,
        lambda f, r: lesson_glmm.look_random_intercept(f, null, complete, roles.predictor, r),
    )


def _random_slope(sel: Selection) -> None:
    _mixed(sel, RS, lesson_glmm.look_random_slope)


def _full(sel: Selection) -> None:
    _mixed(sel, FULL, lesson_glmm.look_full)


def _comparison(sel: Selection) -> None:
    """The four models by the one rule, as the Ladder fits and compares them (the same
    cached call, so the numbers are the Ladder's and the Compare page's)."""
    family = family_widgets.current()
    specs = dict(_specs(sel))
    try:
        result = _compared(sel)
    except ExplorerError as exc:
        show_error(exc)
        return
    laplace_note = glmm_nagq.comparison_nagq(family, specs)[2]  # the Ladder's sentence
    named = [(name, glmer_formula(spec, family)) for name, spec in specs.items()]
    comparison_step(result, named, "lesson_glmm_comparison", laplace_note)


DRAWERS = {
    lesson.DATA: _data,
    lesson.OLS: _complete,
    lesson.DUMMY: _dummy,
    lesson.SEPARATE: _separate,
    lesson.NULL: _null,
    lesson.RI: _random_intercept,
    lesson.RS: _random_slope,
    lesson.FULL: _full,
    lesson.COMPARE: _comparison,
}
