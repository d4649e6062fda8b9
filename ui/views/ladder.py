"""The Ladder page: the tutorial's four mixed models and the OLS strategies in one table.

The mixed steps keep the sidebar's lower grouping levels and their toggles
(``lib.classroom.ladder.presets``); which step is tested against which, and the
sentences about it, are ``lib.classroom.comparison``'s (``ui.views.comparison``), the
same as on the Compare and Lesson pages. For a binomial or Poisson outcome the steps are
glmer fits with the Model page's nAGQ where glmer allows it, by the Compare page's rule
and in its words (``ui.glmm_nagq``), so the two pages show the same numbers.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from lib.classroom import comparison as cmp
from lib.classroom import ladder as lib_ladder
from lib.classroom.ladder import COMPLETE_OLS, DUMMY_OLS, MIXED, NULL, Ladder
from lib.errors import ExplorerError
from lib.model.response import ResponseFamily
from lib.present.family import glmer_formula
from lib.present.markdown import md
from lib.present.numbers import num, pct
from ui import (
    big,
    classroom_cache,
    family_widgets,
    glmm_cache,
    glmm_nagq,
    presentation,
    render,
)
from ui.sidebar import Selection, show_error
from ui.views import comparison as comparison_view

OLS_NAMES = {COMPLETE_OLS: "OLS, one line", DUMMY_OLS: "OLS, dummies"}
SHARES = ("REML criterion", "ICC", "R² marginal", "R² conditional")


def draw(sel: Selection) -> None:
    presentation.heading("Model ladder", sel)
    if family_widgets.current().generalized:  # issue 16: the steps as glmer fits
        _glmm_ladder(sel, family_widgets.current())
        return
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    roles = sel.roles
    if roles.predictor is None:
        st.info("The ladder adds a slope: choose a numeric predictor in the sidebar.")
        st.stop()
    reml = sel.spec.reml if sel.spec is not None else True
    lower = tuple(sel.effects[1:]) if len(sel.effects) == len(roles.levels) + 1 else ()
    try:
        with st.spinner("Fitting the ladder (each model by REML and ML)…", show_time=True):
            result = classroom_cache.ladder(
                sel.source,
                roles.outcome,
                roles.predictor,
                roles.group,
                reml,
                tuple(roles.levels),
                lower,
                sel.frame,
            )
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    _steps(result, roles.group, roles.predictor)
    st.caption(
        "AIC and BIC come from ML fits, so every row, OLS included, can be compared. For "
        "OLS rows the R² columns show the ordinary R²."
    )
    table = lib_ladder.ladder_table(result)
    comparison_view.draw(
        result.comparison,
        "ladder",
        order=[name for name in MIXED if name in table.index],
        criteria=criteria(result),
        download=table,
    )
    st.markdown("**Variance explained** (ICC and Nakagawa's R²):")
    render.table(
        _shares(result, table),
        "ladder_shares",
        decimals={cmp.REML_CRITERION: 1, cmp.DEVIANCE_ML: 1, **dict.fromkeys(SHARES[1:], 3)},
        download=table,
    )
    named = [(s.name, s.formula) for s in result.steps]
    mixed = [s.name for s in result.steps if s.kind == "mixed"]
    st.code(comparison_view.formulas(named, mixed), language="r", wrap_lines=True)
    st.subheader("Step by step")
    for sentence in sentences(result, roles.outcome, roles.group):
        st.markdown(f"- {sentence}")


def _steps(result: Ladder, group: str, predictor: str) -> None:
    """What each step sets and keeps (``describe_preset``), and the steps not offered."""
    kept = [p for p in result.presets if p.kept]
    missing = [p for p in result.presets if not p.offered]
    if kept:
        st.caption(
            f"Each step sets the random effects of the top level, {md(group)}, and keeps "
            f"the other levels as the sidebar has them: {md(' + '.join(kept[0].kept))}."
        )
    for preset in missing:
        st.info(md(lib_ladder.describe_preset(preset, group, predictor)), icon=":material/info:")


def row_names(result: Ladder) -> dict[str, str]:
    """Each step's row label: the mixed steps numbered as in the tests table."""
    number = comparison_view.numbers(
        result.comparison, [s.name for s in result.steps if s.kind == "mixed"]
    )
    return {
        s.name: comparison_view.row_label(s.name, number[s.name])
        if s.name in number
        else OLS_NAMES.get(s.name, s.name)
        for s in result.steps
    }


def criteria(result: Ladder) -> pd.DataFrame:
    """npar, AIC (ML), BIC (ML) of every step, the OLS rows too (R's ``AIC(lm)``)."""
    table = lib_ladder.ladder_table(result)[list(comparison_view.CRITERIA)]
    table.index = pd.Index([row_names(result)[s] for s in table.index], name="step")
    return table


def _shares(result: Ladder, table: pd.DataFrame) -> pd.DataFrame:
    """The fit's own criterion (REML, or the ML deviance), ICC and R² of every step."""
    criterion = cmp.REML_CRITERION if result.reml else cmp.DEVIANCE_ML
    shares = table[[criterion, "ICC", "R2 marginal", "R2 conditional"]].rename(
        columns={"R2 marginal": "R² marginal", "R2 conditional": "R² conditional"}
    )
    names = row_names(result)
    shares.index = pd.Index([names[s] for s in shares.index], name="step")
    return shares


def sentences(result: Ladder, y: str, g: str) -> list[str]:
    """What each step adds, in words (the tests are the comparison's sentences above)."""
    y, g = md(y), md(g)
    out = []
    if any(s.name == NULL for s in result.steps):
        null = result.step(NULL)
        if math.isfinite(null.icc):
            out.append(
                f"**{NULL}**: {pct(null.icc)} of the variance in {y} lies between {g} groups "
                f"(ICC {num(null.icc)})."
            )
        else:
            out.append(f"**{NULL}**: the between-group variance is estimated as zero (no ICC).")
    for step in result.steps:
        if step.kind != "mixed" or step.name == NULL:
            continue
        text = (
            f"**{md(step.name)}**: the fixed effects explain {pct(step.r2_marginal)} of the "
            f"variance (marginal R²), fixed and random {pct(step.r2_conditional)}; AIC (ML) "
            f"{num(step.aic, 1)}."
        )
        if step.icc == 0 or step.r2_conditional == step.r2_marginal:
            text += (
                " Its ICC and R² leave out the slope variance (its variable is not a fixed "
                "effect), so read them as 0 by convention, not as 'no clustering'."
            )
        out.append(text)
    return out


def _glmm_ladder(sel: Selection, family: ResponseFamily) -> None:
    """The tutorial's four models as binomial or Poisson mixed models (glmer), compared
    by the one rule (``lib.classroom.comparison.compare_glmm_specs``) with the Model
    page's nAGQ where glmer allows it, as the Compare page does (``ui.glmm_nagq``). There
    are no OLS rows (a linear fit of a 0/1 or count outcome is not on this likelihood's
    scale) and no REML (glmer maximises the likelihood)."""
    roles = sel.roles
    if sel.big is not None:
        big.note(sel, "This page fits its models to {sample}.")
    if roles.predictor is None:
        st.info("The ladder adds a slope: choose a numeric predictor in the sidebar.")
        st.stop()
    lower = tuple(sel.effects[1:]) if len(sel.effects) == len(roles.levels) + 1 else ()
    try:
        specs = lib_ladder.ladder_specs(
            roles.outcome,
            roles.predictor,
            roles.group,
            reml=False,
            levels=tuple(roles.levels),
            lower=lower,
        )
        nagq, method, laplace_note = glmm_nagq.comparison_nagq(family, specs)
        with st.spinner("Fitting the ladder (each model with glmer)…", show_time=True):
            result = glmm_cache.compare(sel.source, tuple(specs.items()), family, sel.frame, nagq)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    st.caption(
        f"Each step is a {md(family.family)} mixed model fitted by maximum likelihood "
        f"({method}), as glmer. The OLS rows of a linear outcome are left out: a linear fit "
        "of a 0/1 or count outcome has no likelihood on this scale."
    )
    if laplace_note:
        st.caption(laplace_note)
    order = [name for name in MIXED if name in specs]
    comparison_view.draw(result, "glmm_ladder", order=order)
    named = [(name, glmer_formula(spec, family)) for name, spec in specs.items()]
    st.code(comparison_view.formulas(named, order), language="r", wrap_lines=True)
