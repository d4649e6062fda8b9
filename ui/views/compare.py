"""The Compare page: the tutorial's modelling strategies side by side.

Simple OLS, dummy-variable OLS, separate per-group regressions and the four
mixed models of the tutorial (null, random intercept, random slope, both),
each with its chart and tables, then the model-comparison table with lme4's
likelihood-ratio tests.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import readable as chart_readable
from lib.charts import scatter as chart_scatter
from lib.charts import style as chart_style
from lib.errors import ExplorerError
from lib.explore.groups import dummy_coding
from lib.lmm import LmmFit
from lib.model.spec import ModelSpec
from lib.present import explain, summary
from lib.present.markdown import md
from lib.present.numbers import num, pct
from lib.present.ols_summary import dummy_equations
from lib.table.columns import common_rows, finite_range
from ui import big, cache, classroom_cache, family_widgets, presentation, render, state
from ui.sidebar import Selection, show_error
from ui.views import compare_glmm
from ui.views import comparison as comparison_view
from ui.views import equations as equations_view

MAX_DUMMY_GROUPS = 100  # the dummy model needs one column per group
MAX_SEPARATE_GROUPS = 300  # one regression per group
MAX_LINES = 30
SMALL_POINTS = 1000  # points per chart in the side-by-side grid
HIGHLIGHTED = 5  # groups in colour in the side-by-side grid when there are many

MIXED_MODELS = ("Null model", "Random intercept", "Random slope", "Random intercept and slope")


def draw(sel: Selection) -> None:
    roles = sel.roles
    family = family_widgets.current()
    if family.generalized:  # binomial/Poisson: glmer's four mixed models only
        if roles.predictor is None:
            st.info("The models compare slopes: choose a numeric predictor in the sidebar.")
            st.stop()
        specs = mixed_specs(roles.outcome, roles.predictor, roles.group, reml=False)
        compare_glmm.draw(sel, family, specs)
        return
    presentation.heading(
        "Compare strategies",
        sel,
        subtitle=f"OLS, dummy variables, separate regressions and the four mixed models of "
        f"**{md(roles.outcome)}** by **{md(roles.group)}**",
    )
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    if roles.predictor is None:
        st.info("The strategies compare slopes: choose a numeric predictor in the sidebar.")
        st.stop()
    st.markdown(
        f"Four ways to model **{md(roles.outcome)}** from **{md(roles.predictor)}** when rows "
        f"come in groups of **{md(roles.group)}**, as in the tutorial. The sidebar's model "
        "toggles do not apply here; the estimation method (REML/ML) does."
    )
    if roles.covariates:
        st.caption("The other fixed effects chosen in the sidebar are left out on this page.")
    if roles.levels:
        st.caption(
            f"Only the top grouping column ({md(roles.group)}) is used here: the tutorial's "
            "strategies have one level of groups. The lower levels apply on the Model page."
        )
    sel = _same_rows(sel)
    try:
        groups = cache.group_summary(sel.source, roles.outcome, roles.group, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    ctx = _Context(sel, groups)
    tabs = st.tabs(
        ["1 Simple regression", "2 Dummy variables", "3 Separate regressions", "4 Mixed models"]
    )
    with tabs[0]:
        simple = _simple(ctx)
    with tabs[1]:
        dummy = _dummy(ctx)
    with tabs[2]:
        separate = _separate(ctx)
    with tabs[3]:
        fits = _mixed(ctx)
    _side_by_side(ctx, simple, dummy, separate, fits)
    _comparison(ctx, fits)


def _same_rows(sel: Selection) -> Selection:
    """Every strategy on this page sees the same rows (complete in outcome, predictor
    and group), as lme4's anova() requires; say how many rows that leaves out."""
    roles = sel.roles
    columns = (roles.outcome, roles.predictor, roles.group)
    common, dropped = common_rows(sel.frame, columns)
    if not dropped:
        return sel
    st.info(
        f"{dropped:,} of {len(sel.frame):,} rows have a missing or non-finite value in "
        f"{', '.join(md(c) for c in columns)}; all models on this page use the other "
        f"{len(common):,} rows, so that their fits can be compared.",
        icon=":material/filter_alt:",
    )
    # A cache key of its own: these rows differ from the full data of sel.source.
    return replace(sel, frame=common, source=f"{sel.source}|complete:{list(columns)!r}")


class _Context:
    """What every section needs: data, roles, levels, x range, a sampled scatter."""

    def __init__(self, sel: Selection, groups) -> None:  # noqa: ANN001 - GroupSummary
        roles = sel.roles
        self.sel = sel
        self.y, self.x, self.g = roles.outcome, roles.predictor, roles.group
        self.levels = [str(v) for v in groups.levels]
        self.sizes = list(groups.n)
        self.x_range = finite_range(sel.frame, self.x)
        self.points, self.sampled = self.sample(chart_style.MAX_MARKS)
        self.shown = chart_readable.pick_groups(self.levels, self.sizes, MAX_LINES)
        # The side-by-side panels colour the same groups (the largest) in every panel.
        self.highlight = chart_readable.pick_groups(self.levels, self.sizes, HIGHLIGHTED)

    def sample(self, max_rows: int) -> tuple[pd.DataFrame, bool]:
        return cache.sample(
            self.sel.source, (self.y, self.x, self.g), self.g, max_rows, self.sel.frame
        )

    def chart(
        self,
        lines: pd.DataFrame | None,
        title: str,
        small: bool = False,
        compact: bool = False,
        overall_label: str = chart_style.OVERALL_LABEL,
        alt_text: str | None = None,
    ) -> None:
        """A scatter with model lines; ``compact`` for a half-width column (no subtitle:
        the section's caption says what was sampled and coloured)."""
        points, sampled = self.sample(SMALL_POINTS) if small else (self.points, self.sampled)
        notes = [f"random sample of {len(points):,} rows"] if sampled else []
        if lines is not None and lines["group"].nunique() > MAX_LINES:
            notes.append(f"lines for the {MAX_LINES} largest groups")
        if lines is not None:
            keep = set(self.shown) | {chart_style.OVERALL_LABEL}
            lines = lines[lines["group"].isin(keep)]
        spec = cache.chart_spec(
            "scatter",
            points,
            self.x,
            self.y,
            self.g,
            lines=lines,
            levels=self.levels,
            title=title,
            note=None if compact else "; ".join(notes) or None,
            overall_label=overall_label,
            compact=compact,
            highlight=self.highlight if compact else None,
        )
        render.chart(spec, f"{alt_text or title}: {self.y} against {self.x}")


def _simple(ctx: _Context):  # noqa: ANN202
    st.subheader("Simple linear regression: constant intercept, constant slope")
    st.code(f"lm({ctx.y} ~ {ctx.x})", language="r")
    try:
        fit = cache.ols(ctx.sel.source, ctx.y, (ctx.x,), (), ctx.sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return None
    a, b = float(fit.coef[0]), float(fit.coef[1])
    lines = chart_scatter.abline_frame([], [], [], ctx.x_range, overall=(a, b))
    ctx.chart(lines, "One regression line for all groups", overall_label=chart_style.OLS_LABEL)
    _ols_tables(fit, "simple")
    render.meaning(
        f"Each additional unit of {md(ctx.x)} goes with {num(b)} more {md(ctx.y)}; with "
        f"{md(ctx.x)} = 0 the model predicts {num(a)}. It explains {pct(fit.r2)} of "
        f"the variance (R²) but ignores {md(ctx.g)}: rows of the same group are treated as "
        "independent, and group differences end up in the residuals."
    )
    return fit


def _ols_tables(fit, name: str) -> None:  # noqa: ANN001 - OlsFit
    st.markdown("**Coefficients**")
    render.table(summary.ols_coef_table(fit), f"{name}_coefficients", decimals={"t value": 3})
    # One under the other: side by side, each had 213 px at 1024 px and scrolled sideways.
    st.markdown("**Residuals**")
    render.table(summary.ols_residuals(fit), f"{name}_residuals", show_index=False)
    st.markdown("**Fit**")
    render.table(summary.ols_statistics_long(fit), f"{name}_statistics")


def _dummy(ctx: _Context):  # noqa: ANN202
    st.subheader("Dummy-variable model: varying intercepts, constant slope")
    st.code(f"lm({ctx.y} ~ {ctx.x} + {ctx.g})", language="r")
    if len(ctx.levels) > MAX_DUMMY_GROUPS:
        st.info(
            f"{len(ctx.levels):,} groups would need {len(ctx.levels) - 1:,} dummy variables: "
            "this strategy scales poorly with many groups, which is one reason to use a "
            "mixed model instead."
        )
        return None
    coding = dummy_coding(ctx.levels, name=ctx.g)
    st.markdown(f"**Dummy coding**: {md(coding.reference)} is the reference group (all zeros).")
    render.table(
        pd.DataFrame(
            coding.values, index=pd.Index(coding.levels, name=ctx.g), columns=coding.names
        ),
        "dummy_coding",
        height=400,
    )
    try:
        diffs = cache.mean_differences(ctx.sel.source, ctx.y, ctx.x, ctx.g, ctx.sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return None
    fit = diffs.fit
    intercepts = fit.coef[0] + diffs.coef
    lines = chart_scatter.abline_frame(
        intercepts, [diffs.slope] * len(diffs.levels), diffs.levels, ctx.x_range
    )
    ctx.chart(lines, "Parallel lines: one intercept per group, one shared slope")
    _ols_tables(fit, "dummy")
    st.markdown("**Coefficient vs raw difference of means** (each group against the reference):")
    comparison = pd.DataFrame(
        {
            "Comparison": [f"{lev} - {diffs.levels[0]}" for lev in diffs.levels[1:]],
            "Difference": diffs.raw_diff[1:],
            "Coefficient": diffs.coef[1:],
        }
    )
    render.table(comparison, "mean_differences", show_index=False, decimals=3)
    st.markdown("**The model written per group** (the tutorial's equations):")
    equations_view.group_lines(ctx.y, dummy_equations(fit, diffs.levels, diffs.coef))
    render.meaning(
        f"Every group shares the slope {num(diffs.slope)}, but has its own intercept. The "
        "coefficients are smaller than the raw differences of means when part of those "
        f"differences is explained by different {md(ctx.x)} values: the coefficient compares "
        f"groups at equal {md(ctx.x)}."
    )
    return fit


def _separate(ctx: _Context):  # noqa: ANN202
    st.subheader("Separate regressions: varying intercepts, varying slopes")
    st.code(f"lm({ctx.y} ~ {ctx.x}) within each {ctx.g}", language="r")
    if len(ctx.levels) > MAX_SEPARATE_GROUPS:
        st.info(f"{len(ctx.levels):,} separate regressions are too many to show here.")
        return None
    try:
        per_group = cache.per_group(ctx.sel.source, ctx.y, (ctx.x,), ctx.g, ctx.sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return None
    coef = per_group.coef_matrix()
    ok = np.isfinite(coef).all(axis=1)
    levels = [lev for lev, good in zip(per_group.levels, ok, strict=True) if good]
    lines = chart_scatter.abline_frame(coef[ok, 0], coef[ok, 1], levels, ctx.x_range)
    ctx.chart(lines, "One independent regression line per group")
    table = summary.per_group_coefficients(per_group)
    render.table(table if table.shape[1] <= 6 else table.T, "separate_coefficients")
    render.table(
        summary.per_group_long(per_group), "separate_details", show_index=False, height=300
    )
    equations_view.separate_details(per_group)
    if per_group.aliased_levels:
        st.warning(
            "No slope could be estimated in "
            f"{', '.join(md(v) for v in per_group.aliased_levels[:10])}: the predictor is "
            "constant within the group."
        )
    slopes = coef[:, 1]
    hi, lo = int(np.nanargmax(slopes)), int(np.nanargmin(slopes))
    render.meaning(
        f"Each group gets its own intercept and slope: {md(per_group.levels[hi])} has the "
        f"steepest slope ({num(slopes[hi])}), {md(per_group.levels[lo])} the flattest "
        f"({num(slopes[lo])}). Nothing is pooled: small groups give noisy lines, and there is "
        "no overall slope."
    )
    return per_group


def mixed_specs(outcome: str, predictor: str, group: str, reml: bool) -> dict[str, ModelSpec]:
    """The tutorial's four mixed models, by name."""
    base = ModelSpec.one_factor(outcome=outcome, group=group, reml=reml)
    return {
        MIXED_MODELS[0]: base,
        MIXED_MODELS[1]: base.with_changes(fixed=(predictor,)),
        MIXED_MODELS[2]: base.with_term(intercept=False, slopes=(predictor,)),
        MIXED_MODELS[3]: base.with_changes(fixed=(predictor,)).with_term(slopes=(predictor,)),
    }


def _mixed(ctx: _Context) -> dict[str, LmmFit]:
    st.subheader("Mixed models: partial pooling")
    reml = ctx.sel.spec.reml if ctx.sel.spec is not None else True
    specs = mixed_specs(ctx.y, ctx.x, ctx.g, reml)
    fits: dict[str, LmmFit] = {}
    with st.spinner("Fitting the four mixed models…", show_time=True):
        for name, spec in specs.items():
            try:
                fits[name] = cache.fit(ctx.sel.source, spec, ctx.sel.frame)
            except ExplorerError as exc:
                st.markdown(f"**{name}**")
                show_error(exc)
    for name, fit in fits.items():
        st.markdown(f"**{name}**")
        st.code(fit.formula, language="r", wrap_lines=True)
        ctx.chart(
            _mixed_lines(ctx, fit),
            "Group lines and fixed effects",
            small=True,
            alt_text=f"{name}: each group's line and the fixed-effects line",
        )
        render.table(summary.varcorr_table(fit), f"varcorr_{_slug(name)}", show_index=False)
        if fit.singular:
            st.warning(explain.singular(fit, state.has_toggles)[0], icon=":material/warning:")
    return fits


def _mixed_lines(ctx: _Context, fit: LmmFit) -> pd.DataFrame:
    beta = dict(zip(fit.fixef_names, fit.beta, strict=True))
    overall = (beta.get("(Intercept)", 0.0), beta.get(ctx.x, 0.0))
    return chart_scatter.coefficient_lines(
        summary.coef_table(fit), ctx.x, ctx.x_range, overall=overall
    )


def _side_by_side(ctx: _Context, simple, dummy, separate, fits) -> None:  # noqa: ANN001
    st.header("Side by side")
    panels: list[tuple[str, pd.DataFrame | None]] = []
    if simple is not None:
        panels.append(
            (
                "Simple regression",
                chart_scatter.abline_frame(
                    [], [], [], ctx.x_range, overall=(simple.coef[0], simple.coef[1])
                ),
            )
        )
    if dummy is not None:
        k = len(ctx.levels) - 1
        intercepts = dummy.coef[0] + np.concatenate([[0.0], dummy.coef[-k:]])
        panels.append(
            (
                "Dummy variables",
                chart_scatter.abline_frame(
                    intercepts, [dummy.coef[1]] * len(ctx.levels), ctx.levels, ctx.x_range
                ),
            )
        )
    if separate is not None:
        coef = separate.coef_matrix()
        ok = np.isfinite(coef).all(axis=1)
        levels = [lev for lev, good in zip(separate.levels, ok, strict=True) if good]
        panels.append(
            (
                "Separate regressions",
                chart_scatter.abline_frame(coef[ok, 0], coef[ok, 1], levels, ctx.x_range),
            )
        )
    best = fits.get(MIXED_MODELS[3])
    if best is not None:
        panels.append(("Mixed model", _mixed_lines(ctx, best)))
    many = len(ctx.levels) > chart_style.MAX_LEGEND_GROUPS
    coloured = (
        f"The {len(ctx.highlight)} largest of {len(ctx.levels):,} {md(ctx.g)} groups are in "
        "colour in every panel, the others grey"
        if many
        else f"Each {md(ctx.g)} has the colour and shape of the charts above (their legends "
        "name them)"
    )
    sampled = ctx.sample(SMALL_POINTS)[1]
    st.caption(
        "The mixed model is the one with a random intercept and a random slope. "
        f"{coloured}; black dashes: the OLS line of the simple regression, the fixed effects "
        "of the mixed model."
        + (f" Each panel shows a random sample of {SMALL_POINTS:,} rows." if sampled else "")
    )
    for start in range(0, len(panels), 2):
        cols = st.columns(2)
        for col, (title, lines) in zip(cols, panels[start : start + 2], strict=False):
            with col:
                ctx.chart(
                    lines,
                    title,
                    small=True,
                    compact=True,
                    overall_label=chart_style.OLS_LABEL
                    if title == "Simple regression"
                    else chart_style.OVERALL_LABEL,
                )


def _comparison(ctx: _Context, fits: dict[str, LmmFit]) -> None:
    st.header("Model comparison")
    if len(fits) < 2:
        st.info("At least two mixed models are needed for a comparison.")
        return
    # Each name as an R comment above its formula: "name: formula" on one line wrapped
    # mid-formula on a projector.
    named = [(name, fit.formula) for name, fit in fits.items()]
    st.code(comparison_view.formulas(named, list(fits)), language="r", wrap_lines=True)
    with st.spinner("Refitting with ML for the comparison…", show_time=True):
        try:
            result = classroom_cache.compare(ctx.sel.source, fits, ctx.sel.frame)
        except ExplorerError as exc:
            show_error(exc)
            return
    comparison_view.draw(result, "mixed_model_comparison", order=list(fits))


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() else "_" for ch in text.lower())
