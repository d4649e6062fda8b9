"""The Model page's further GLMM panels (issue 16): profile-likelihood intervals on demand,
the dispersion check, ICC and Nakagawa R² on the latent scale, and the HTML report.

Split from ``ui.views.model_glmm`` (which draws glmer's summary panels) to keep each
module small; the numbers come from ``lib.glmm`` (intervals, dispersion, variance) and
the text from ``lib.present`` (explain_glmm, report_glmm), as the CLI's.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.glmm.dispersion import dispersion_check
from lib.glmm.intervals import intervals_frame, ratio_intervals
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.present import explain_glmm
from lib.present.equations_glmm import fitted_glmm_equations, glmm_equations
from lib.present.family import ratio_name
from lib.present.markdown import md
from lib.present.report import build_report
from lib.present.report_glmm import glmm_fit_sections
from lib.present.snippets import glmer_call, python_script
from lib.table.columns import complete_rows
from ui import family_widgets, glmm_cache, render
from ui.sidebar import Selection, show_error
from ui.views import equations as equations_view
from ui.views import report as report_view

PROFILE_KEY = "_glmm_profile"  # the fit whose profile intervals were asked for


def key_of(sel: Selection, fit: GlmmFit) -> tuple[str, str, str]:
    """What determines every table of this fit (``ui.render.table``'s key)."""
    return (sel.source, repr(sel.spec), f"{fit.family}/{fit.link}/{fit.nagq}/{fit.deviance!r}")


def trials_of(sel: Selection, response: ResponseFamily) -> np.ndarray | None:
    """The trials of the fit's rows (binomial with a trials column), for the dispersion check."""
    if response.trials is None:
        return None
    clean, _ = complete_rows(sel.frame, tuple(sel.spec.columns) + response.columns)
    return clean[response.trials].to_numpy(dtype=float)


def dispersion(sel: Selection, fit: GlmmFit, response: ResponseFamily) -> None:
    """Poisson (or binomial with trials): do the counts vary more than the model allows?"""
    trials = trials_of(sel, response)
    text = explain_glmm.dispersion(fit, response, trials)
    if text is None:
        return
    st.subheader("Dispersion")
    check = dispersion_check(fit, trials)
    table = pd.DataFrame(
        {
            "Pearson χ²": [check.chisq],
            "df.resid": [check.df_resid],
            "ratio": [check.ratio],
            "p-value": [check.p_value],
        }
    )
    render.table(table, "glmm_dispersion", show_index=False, key=key_of(sel, fit))
    if check.overdispersed:
        st.warning(md(check.message), icon=":material/warning:")
    render.meaning(text)


def intervals(sel: Selection, fit: GlmmFit, response: ResponseFamily) -> None:
    """Wald intervals of the fixed effects (above, with the ratios); profile-likelihood
    intervals of every parameter, the SDs too, on demand (refits: in the fit pool)."""
    st.subheader("Profile-likelihood intervals")
    asked = st.session_state.get(PROFILE_KEY) == key_of(sel, fit)
    if not asked:
        st.markdown(
            "Wald intervals (above) assume the likelihood is quadratic; lme4's default "
            "`confint()` profiles it instead and also covers the random-effect SDs."
        )
        st.button(
            "Compute profile intervals (95%)",
            key="_glmm_profile_button",
            on_click=_ask_profile,
            args=(key_of(sel, fit),),
            icon=":material/insights:",
        )
        return
    try:
        with st.spinner("Profiling the likelihood…", show_time=True):
            found = glmm_cache.profile(
                sel.source, sel.spec, family_widgets.current(), fit, sel.frame
            )
    except ExplorerError as exc:
        show_error(exc)
        return
    table = intervals_frame(found)
    render.table(
        compact_intervals(table),
        "glmm_profile_intervals",
        download=table,
        key=key_of(sel, fit),
    )
    ratio = ratio_name(response)
    if ratio is not None:
        st.markdown(f"The same for the {ratio}s (exp of the fixed-effect rows):")
        ratios = intervals_frame(ratio_intervals(found))
        render.table(
            compact_intervals(ratios), "glmm_profile_ratios", download=ratios, key=key_of(sel, fit)
        )
    st.caption(
        f"As lme4's confint(method = \"profile\") and broom.mixed's tidy() names; computed "
        f"in {found.seconds:.1f} s."
    )


def compact_intervals(table: pd.DataFrame) -> pd.DataFrame:
    """A tidy() interval table in three columns that fit the 449 px column: the term (with
    its group for a variance parameter) as the row label, estimate and limits."""
    labels = [
        term if effect == "fixed" else f"{term} ({group})"
        for effect, group, term in zip(table["effect"], table["group"], table["term"], strict=True)
    ]
    out = table[["estimate", "conf.low", "conf.high"]].copy()
    out.index = pd.Index(labels, name="term")
    return out


def _ask_profile(key: tuple) -> None:
    st.session_state[PROFILE_KEY] = key


def icc_r2(sel: Selection, fit: GlmmFit) -> None:
    st.subheader("Intraclass correlation and R²")
    family = family_widgets.current()
    try:
        v = glmm_cache.variances(sel.source, sel.spec, family, fit, sel.frame)
    except ExplorerError as exc:
        show_error(exc)
        return
    table = pd.DataFrame(
        {
            "ICC (adjusted)": [v.icc_adjusted],
            "ICC (unadjusted)": [v.icc_unadjusted],
            "R² marginal": [v.r2_marginal],
            "R² conditional": [v.r2_conditional],
        }
    )
    render.table(table, "glmm_icc_r2", show_index=False, decimals=3, key=key_of(sel, fit))
    st.caption(
        "On the latent (link) scale, as the R package performance computes them (Nakagawa et "
        "al. 2017): the distribution's variance is π²/3 for the logit link, 1 for probit, "
        "π²/6 for cloglog and log(1 + 1/μ) for Poisson."
    )
    render.meaning(explain_glmm.icc_r2(v))


def report(
    sel: Selection,
    fit: GlmmFit,
    response: ResponseFamily,
    main_chart: dict | None,
    tables: render.TableDownloads | None = None,
) -> None:
    """One HTML file with this model's sections (``lib.present.report_glmm``), and the
    tables' CSV files in one ZIP."""
    st.subheader("Report")
    report_view.report_buttons(
        partial(report_html, sel, fit, response, main_chart), tables, "download_glmm"
    )


def report_html(
    sel: Selection, fit: GlmmFit, response: ResponseFamily, main_chart: dict | None
) -> str:
    """The report's HTML (made when the button is clicked)."""
    family = family_widgets.current()
    try:
        variances = glmm_cache.variances(sel.source, sel.spec, family, fit, sel.frame)
    except ExplorerError:
        variances = None
    chart = None if main_chart is None else ("Each group's fitted curve", main_chart)
    sections = glmm_fit_sections(
        fit,
        sel.spec,
        response,
        main_chart=chart,
        variances=variances,
        trials=trials_of(sel, response),
    )
    return build_report(
        "Multilevel Explorer report",
        [f"Data: {sel.title}", f"Rows used: {fit.nobs:,}"],
        sections,
    )


def equations_and_code(sel: Selection, fit: GlmmFit, response: ResponseFamily) -> None:
    """The model as equations (``lib.present.equations_glmm``: the link of the mean on the
    left, no residual, the outcome's distribution), then the R and Python code."""
    st.subheader("Equations and code")
    parts: list[str] = []
    try:
        symbolic = glmm_equations(sel.spec, response, fit.fixef_names)
        fitted = fitted_glmm_equations(fit, sel.spec, response)
    except ValueError as exc:  # more grouping factors than index letters
        st.info(str(exc))
    else:
        # One Markdown element, as on the linear Model page (ui.views.equations.draw).
        display = equations_view.display_math
        parts = [
            "**Level 1** (each observation) and **level 2** (each group's coefficients):",
            display(equations_view._rows(symbolic.level1_rows)),
            display(equations_view._aligned(symbolic.level2)),
            "**Combined**, the model glmer fits:",
            display(equations_view._rows(symbolic.combined_rows)),
            display(equations_view._aligned(symbolic.distributions, r" \sim ")),
            "**With the fitted numbers**:",
            display(equations_view._aligned(fitted.level2)),
            display(equations_view._aligned(fitted.distributions, r" \sim ")),
            render.meaning_text(
                "The model is linear on the link scale; the outcome itself varies around its "
                "mean as the family says (Bernoulli, binomial or Poisson), so there is no "
                "residual term and no residual variance."
            ),
        ]
    parts.append("**R (lme4)**: the same model; the copy button is at the code's top right.")
    st.markdown("\n\n".join(parts))
    bundled, data_file = equations_view.data_source(sel)
    st.code(glmer_call(sel.spec, response, data_file, fit.nagq), language="r", wrap_lines=True)
    st.markdown("**Python**: this app's engine, from a script (run it from the app's folder):")
    script = python_script(
        sel.spec, bundled, data_file, response=family_widgets.current(), nagq=fit.nagq
    )
    st.code(script, language="python", wrap_lines=True)
