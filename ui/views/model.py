"""The Model page: one mixed model, every panel of the tutorial's ``summary()`` walk."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import streamlit as st

from lib.charts import readable as chart_readable
from lib.charts import scatter as chart_scatter
from lib.charts import style as chart_style
from lib.classroom.ladder import Preset, describe_preset, presets
from lib.errors import ExplorerError
from lib.lmm import LmmFit
from lib.lmm.result import RanefFactor
from lib.model.levels import enclosing_factors, factor_columns
from lib.model.spec import ModelSpec
from lib.present import confint, explain, report, summary
from lib.present.markdown import md
from lib.present.notes import conditioning_note
from lib.table.columns import finite_range
from ui import big, cache, family_widgets, memo, presentation, render, state
from ui.sidebar import Selection, show_error
from ui.views import diagnostics as diagnostics_view
from ui.views import effects as effects_view
from ui.views import equations as equations_view
from ui.views import intervals as intervals_view
from ui.views import levels as levels_view
from ui.views import model_glmm
from ui.views import report as report_view

MAX_LINES = 30  # group lines drawn on the scatter
MODEL_SECTIONS = (
    "Scaled residuals",
    "Confidence intervals",
    "Random effects",
    "Fixed effects",
    effects_view.SECTION,
    "Random effects per group",
    "Intraclass correlation and R²",
    equations_view.SECTION,
    diagnostics_view.SECTION,
    report_view.SECTION,
)
MAX_CATERPILLAR = 40  # groups in the random-effects interval chart
# Short, distinct button labels (the preset names stay the keys and the URL's words).
PRESET_LABELS = {
    "Null model": "Null model",
    "Random intercept": "Random intercept",
    "Random slope": "Random slope",
    "Random intercept and slope": "Intercept + slope",
}


def draw(sel: Selection) -> None:
    presentation.heading("Model", sel)
    _presets(sel)
    if family_widgets.current().generalized:  # issue 16: glmer's panels
        return model_glmm.draw(sel)
    if sel.spec is None:
        show_error(sel.spec_error or "Choose the model's terms in the sidebar.")
        st.stop()
    presenting = presentation.is_on()
    if not presenting:
        # The model in words before the fit: what a student reads while a large upload
        # is still being fitted (the spinner below says how long it has taken).
        _formula(sel.spec)
    fit = _fit(sel)
    big.note(
        sel,
        f"Fitted to all {sel.big.n_rows:,} rows by DuckDB. The scatter plot and the residual "
        "plots show {sample}; the residual table and every estimate use all rows."
        if sel.big is not None
        else "",
    )
    if presenting:  # results first: key numbers and chart on the first screen
        presentation.key_numbers(fit)
        main_chart = _chart(sel, fit)
        drawn = effects_view.applies(sel, fit)
        presentation.toc(tuple(s for s in MODEL_SECTIONS if drawn or s != effects_view.SECTION))
        _formula(fit.spec)
        _header(fit)
        levels_view.warn_pitfalls(sel, "model")
    else:
        _header(fit)
        levels_view.warn_pitfalls(sel, "model")
        main_chart = _chart(sel, fit)
    with render.tables_in_one_download() as tables:  # one ZIP button, in the report section
        _sections(sel, fit)
    equations_view.draw(sel, fit)
    if sel.big is not None:  # per-row values at the sample's rows, for the residual plots
        fit = big.fit_with_sample_rows(sel.big, fit)
    diagnostics_view.draw(sel, fit)
    report_view.draw(sel, fit, main_chart, tables)


def _fit(sel: Selection) -> LmmFit:
    """The fit of the sidebar's model (to every row of a large upload, by DuckDB)."""
    done = cache.finished_fit(sel.source, sel.spec) if sel.big is None else None
    if done is not None:  # a warm rerun: no spinner
        return done
    words = "Fitting the model…"
    if sel.big is not None:
        words = f"Fitting the model to all {sel.big.n_rows:,} rows (DuckDB)…"
    # The error is shown after the spinner's block: st.stop() inside it left the
    # spinner on screen next to the message until the next run.
    try:
        with st.spinner(words, show_time=True):
            if sel.big is not None:
                return big.fit(sel.big, sel.spec)
            return cache.fit(sel.source, sel.spec, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()


def _presets(sel: Selection) -> None:
    """The tutorial's four models as buttons (``lib.classroom.ladder.presets``): each sets
    the top level's toggles and keeps the other levels; a step that cannot apply to these
    columns is not offered, and the page says why."""
    roles = sel.roles
    reml = sel.spec.reml if sel.spec is not None else True
    lower = tuple(sel.effects[1:]) if len(sel.effects) == len(roles.levels) + 1 else ()
    try:
        steps = presets(roles.outcome, roles.predictor, roles.group, reml, roles.levels, lower)
    except ExplorerError:
        return
    if not presentation.is_on():  # presenting: the highlighted button says it
        st.markdown("**The tutorial's models** (or set the toggles in the sidebar):")
    active = presentation.active_preset()
    # A horizontal container sizes each button to its label (four equal columns cut
    # "Random intercept" at 1280 px) and wraps them onto a second row on a narrow screen.
    with st.container(horizontal=True, gap="small"):
        for step in steps:
            if not step.offered:
                continue
            st.button(
                PRESET_LABELS[step.name],
                type="primary" if active == step.name else "secondary",
                key=f"_preset_{step.name}",
                on_click=state.apply_preset,
                args=(step.name,),
                help=md(describe_preset(step, roles.group, roles.predictor)),
                wrap=True,
            )
    said = [describe_preset(p, roles.group, roles.predictor) for p in steps if not p.offered]
    if active is not None and not presentation.is_on():
        said.insert(0, describe_preset(_step(steps, active), roles.group, roles.predictor))
    for text in said:
        st.caption(md(text))


def _step(steps: tuple[Preset, ...], name: str) -> Preset:
    return next(p for p in steps if p.name == name)


def _formula(spec: ModelSpec) -> None:
    method = "REML" if spec.reml else "maximum likelihood"
    st.subheader(f"Linear mixed model fit by {method}")
    st.code(spec.formula(), language="r", wrap_lines=True)
    st.markdown(explain.formula(spec))


def _header(fit: LmmFit) -> None:
    groups = ", ".join(f"{n:,}" for n in fit.ngroups.values())
    groups_help = "; ".join(f"{name}: {n:,}" for name, n in fit.ngroups.items())
    on = report.scale(fit)
    # One wrapping row, each metric as wide as its value (ui.layout): in three equal
    # columns at 1024 px "1,005.7" showed as "100…".
    render.metrics(
        [
            render.Metric(
                fit.criterion_name, f"{fit.criterion:,.1f}", f"Unrounded: {fit.criterion:.6f}"
            ),
            render.Metric(f"AIC ({on})", f"{fit.aic:,.1f}", _scale_help(fit)),
            render.Metric(f"BIC ({on})", f"{fit.bic:,.1f}", _scale_help(fit)),
            render.Metric(f"logLik ({on})", f"{fit.loglik:,.1f}"),
            render.Metric("Observations", f"{fit.nobs:,}"),
            render.Metric("Groups", groups, groups_help),
        ]
    )
    render.meaning(explain.criterion(fit))
    dropped = getattr(fit, "n_dropped", 0)
    if dropped:
        st.info(
            f"{dropped:,} rows were dropped because a model column is missing or not finite "
            "in them (the Data page lists which).",
            icon=":material/filter_alt:",
        )
    else:
        st.caption("No rows were dropped: every row has all the model's columns.")
    note = conditioning_note(fit)
    if note:
        st.caption(md(note))
    if fit.singular:
        text, offer = explain.singular(fit, state.has_toggles)
        st.warning(text, icon=":material/warning:")
        changes = state.simplification_changes(offer)
        if changes:
            st.button(offer.label, key="_simplify", on_click=state.apply_changes, args=(changes,))
    if not fit.optimizer.converged:
        st.warning(
            f"The optimizer reported a problem: {md(fit.optimizer.message)}. Treat the numbers "
            "with caution.",
            icon=":material/warning:",
        )


def _scale_help(fit: LmmFit) -> str:
    if fit.reml:
        return (
            "Of the REML fit: compares only models with the same fixed effects. The Compare "
            "and Ladder pages compare models by their ML refits."
        )
    return "Of the maximum-likelihood fit, as the Compare and Ladder pages compare models."


def _chart(sel: Selection, fit: LmmFit) -> dict | None:
    """Draw the scatter with each group's fitted line; return its spec (for downloads).

    Not an ``st.fragment``: its "Fitted lines for each group of" control would then
    rerun only the chart, and the report and chart downloads further down, which take
    this spec, would keep the previous factor's chart.
    """
    roles = sel.roles
    x = roles.predictor
    if x is None:
        return None
    name = levels_view.lines_factor(fit)
    try:
        spec = cache.keyed_chart_spec(
            ("scatter", *_key(sel, fit), repr(roles), name),
            "scatter",
            lambda: _scatter_inputs(sel, fit, name),
        )
    except ExplorerError as exc:
        show_error(exc)
        return None
    render.chart(spec, f"Scatter of {roles.outcome} against {x} with fitted lines per group")
    return spec


def _scatter_inputs(sel: Selection, fit: LmmFit, name: str) -> tuple[tuple, dict]:
    """The scatter's data and lines (``lib.charts.scatter.scatter_chart``'s arguments)."""
    roles = sel.roles
    x = roles.predictor
    columns = factor_columns(fit.spec, name)
    points, sampled = cache.sample_factor(
        sel.source, (roles.outcome, x), columns, chart_style.MAX_MARKS, sel.frame
    )
    x_range = finite_range(sel.frame, x)
    coef = cache.group_coefficients(sel.source, fit.spec, name, fit, _level_rows(sel, fit, name))
    factor = fit.factor(name)
    shown = chart_readable.pick_groups(factor.levels, factor.sizes, MAX_LINES)
    beta = dict(zip(fit.fixef_names, fit.beta, strict=True))
    overall = (beta.get("(Intercept)", 0.0), beta.get(x, 0.0))
    lines = chart_scatter.coefficient_lines(coef, x, x_range, overall=overall, groups=shown)
    notes = []
    if sel.big is not None and sel.big.data.sampled:
        notes.append(f"{len(points):,} of {sel.big.n_rows:,} rows, drawn at random")
    elif sampled:
        notes.append(f"random sample of {len(points):,} rows")
    if len(shown) < factor.nlevels:
        notes.append(f"lines for the {len(shown)} largest of {factor.nlevels:,} groups")
    if enclosing_factors(fit.spec, name):
        notes.append("each line includes the effects of the levels its group lies in")
    if roles.covariates:
        notes.append("lines at 0 for the other fixed effects")
    title = "Fitted line of each group" if len(fit.ranef) == 1 else f"Fitted line of each {name}"
    return (points, x, roles.outcome, name), {
        "lines": lines,
        "levels": list(factor.levels),
        "title": title,
        "note": "; ".join(notes) or None,
    }


def _level_rows(sel: Selection, fit: LmmFit, name: str) -> pd.DataFrame:
    """Rows that hold every group of the fit: the data, or for a large upload (whose
    sample may miss a group) one row per combination of grouping levels."""
    if sel.big is None or not enclosing_factors(fit.spec, name):
        return sel.frame
    return big.level_rows(sel.big, fit.spec)


def _key(sel: Selection, fit: LmmFit) -> tuple[str, str]:
    """What determines every table of this fit: the data (by content) and the model.

    Strings: Streamlit hashes a frozen dataclass field by field on every call, a
    string in one step.
    """
    return (sel.source, repr(fit.spec))


def _reading(sel: Selection, fit: LmmFit, name: str, make: Callable[[], str]) -> str:
    """A panel's plain-language reading, written once per (data, model) in this process
    (``ui.memo``) rather than on every rerun of every session."""
    return memo.get((*_key(sel, fit), "reading", name), make)


def _sections(sel: Selection, fit: LmmFit) -> None:
    st.subheader("Scaled residuals")
    render.table(
        lambda: summary.scaled_residuals(fit),
        "scaled_residuals",
        show_index=False,
        key=_key(sel, fit),
    )
    render.meaning(
        _reading(sel, fit, "residuals", lambda: explain.residuals(fit.scaled_resid_quantiles))
    )

    shown = intervals_view.draw(sel, fit)
    ci = shown.table
    # Formatted tables are cached by key: Wald's columns depend only on the level; a
    # profile or bootstrap result is formatted each run (it is one table of a few rows).
    ci_key = (*_key(sel, fit), "wald", ci.level) if shown.chosen is None else None
    st.subheader("Random effects")
    if confint.has_variance_intervals(ci):
        # Five columns, so that the names stay beside the intervals in the 449 px column;
        # the download keeps lme4's columns too.
        varcorr = confint.varcorr_with_ci(fit, summary.varcorr_table(fit), ci)
        render.table(
            confint.compact_varcorr(varcorr), "random_effects", show_index=False, download=varcorr
        )
    else:
        render.table(
            lambda: summary.varcorr_table(fit),
            "random_effects",
            show_index=False,
            key=_key(sel, fit),
        )
    groups = "; ".join(f"{md(name)}, {n:,}" for name, n in fit.ngroups.items())
    st.caption(f"Number of obs: {fit.nobs:,}, groups: {groups}")
    render.meaning(_reading(sel, fit, "varcorr", lambda: explain.varcorr(fit)))
    if len(fit.varcorr.terms) > 1:
        levels_view.shares_panel(fit)

    st.subheader("Fixed effects")
    render.table(
        lambda: confint.fixef_with_ci(summary.fixef_table(fit), ci),
        "fixed_effects",
        decimals={"df": 2, "t value": 3},
        key=ci_key,
    )
    st.caption("df and p-values: Satterthwaite's method, as lmerTest reports them.")
    intervals_view.download(shown)
    if sel.big is None:
        rank = summary.rank_note(cache_dropped(sel, fit))
        if rank:
            st.info(md(rank), icon=":material/info:")
    render.meaning(_reading(sel, fit, "fixef", lambda: explain.fixef(fit)))
    effects_view.draw(sel, fit)

    if len(fit.fixef_names) > 1:
        st.subheader("Correlation of fixed effects")
        render.table(
            lambda: summary.fixef_corr_table(fit),
            "fixef_correlation",
            decimals=3,
            key=_key(sel, fit),
        )
        render.meaning(_reading(sel, fit, "fixef_corr", lambda: explain.fixef_corr(fit)))

    st.subheader("Random effects per group")
    for k, factor in enumerate(fit.ranef):
        _ranef_panel(sel, fit, factor, suffix="" if k == 0 else f"_{k + 1}")

    st.subheader("Intraclass correlation and R²")
    render.table(lambda: summary.icc_r2_table(fit), "icc_r2", decimals=3, key=_key(sel, fit))
    caveat = explain.icc_caveat(fit.spec)
    if caveat:
        st.info(caveat, icon=":material/info:")
    render.meaning(_reading(sel, fit, "icc_r2", lambda: explain.icc_r2(fit)))

    if (
        list(fit.fixef_names) == ["(Intercept)"]
        and len(fit.spec.random) == 1
        and fit.spec.random[0].intercept
    ):
        _null_means(sel, fit)

    with st.expander("Fit details"):
        opt = fit.optimizer
        stages = "\n".join(f"  {k}. {stage}" for k, stage in enumerate(opt.stages, 1))
        st.text(
            f"optimizer stages:\n{stages or '  ' + opt.method}\n"
            f"converged: {opt.converged}, evaluations: {opt.n_evaluations}\n"
            f"theta: {np.array2string(fit.theta, precision=6)}\ntime: {fit.fit_seconds:.3f} s"
        )


def _ranef_panel(sel: Selection, fit: LmmFit, factor: RanefFactor, suffix: str) -> None:
    several = len(fit.ranef) > 1
    if several:
        st.markdown(f"#### {md(factor.group)}, {factor.nlevels:,} groups")
    shown = chart_readable.pick_groups(factor.levels, factor.sizes, MAX_CATERPILLAR)
    many = len(shown) < factor.nlevels
    note = f"the {len(shown)} largest of {factor.nlevels:,} groups" if many else None
    st.markdown("Each group's random effect with ±1.96 conditional SD:")
    # One chart per term, stacked: side by side they do not fit a projector's width.
    above = enclosing_factors(fit.spec, factor.group)
    base = f"its {above[-1]}'s" if above else "the fixed"
    for term in factor.names:
        what = "intercept" if term == "(Intercept)" else f"slope of {term}"
        kwargs = {
            "term": term,
            "group_title": factor.group,
            "x_title": f"deviation from {base} {what}"
            if term in fit.fixef_names or above
            else f"random {what}",
            "title": f"Random {what} of {factor.group}" if several else f"Random {what}",
            "note": note,
        }
        spec = cache.keyed_chart_spec(
            ("ranef", *_key(sel, fit), factor.group, term),
            "ranef",
            lambda kwargs=kwargs: ((_shown_intervals(fit, factor.group, shown),), kwargs),
        )
        render.chart(spec, f"Random {what} of each group with its interval")
    render.table(
        lambda: summary.ranef_intervals(fit, factor.group).rename(columns={"group": factor.group}),
        f"random_effects_by_group{suffix}",
        show_index=False,
        height=300,
        key=_key(sel, fit),
    )
    render.meaning(
        _reading(sel, fit, f"ranef:{factor.group}", lambda: explain.ranef(fit, factor.group))
    )
    st.markdown("Each group's own coefficients (fixed + random effect), lme4's `coef()`:")
    render.table(
        lambda: summary.coef_table(fit, factor.group),
        f"coefficients_by_group{suffix}",
        height=300,
        key=_key(sel, fit),
    )


def _shown_intervals(fit: LmmFit, group: str, shown: list[str]) -> pd.DataFrame:
    """The random effects of the groups the interval chart draws (built on a cache miss)."""
    intervals = summary.ranef_intervals(fit, group)
    return intervals[intervals["group"].isin(shown)]


def _null_means(sel: Selection, fit: LmmFit) -> None:
    st.subheader("Observed means and the null model")
    try:
        if sel.big is not None:
            groups = big.group_summary(sel.big, fit.spec.outcome, sel.roles.group)
        else:
            groups = cache.group_summary(sel.source, fit.spec.outcome, sel.roles.group, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return
    levels = list(fit.ranef[0].levels)
    means = pd.Series(groups.mean, index=list(groups.levels)).reindex(levels)
    table = summary.null_model_means(fit, means.to_numpy())
    render.table(table, "null_model_means", key=_key(sel, fit))
    render.meaning(
        "The fixed intercept is the grand mean; each group's random intercept is its "
        "deviation from it. Their sum (last column) comes close to the observed mean but is "
        "pulled towards the grand mean, most for small or noisy groups (partial pooling)."
    )


def cache_dropped(sel: Selection, fit: LmmFit) -> tuple[str, ...]:
    """The fixed-effect columns lme4 would drop (rank deficiency), made once per model."""
    return memo.get(
        ("dropped_fixef", *_key(sel, fit)), lambda: summary.dropped_fixef(fit, sel.frame)
    )
