"""The Compare page for a binomial or Poisson outcome (issue 16): the tutorial's four
mixed models fitted with glmer and compared by the one rule
(``lib.classroom.comparison.compare_glmm_specs``, run in the fit pool by
``ui.glmm_cache.compare``), drawn by the panel every comparison uses
(``ui.views.comparison``).

The Model page's likelihood approximation (``nagq=``) applies here too (``used_nagq``):
adaptive Gauss-Hermite quadrature for the models glmer allows it for (one scalar random
effect), Laplace for the others, and one sentence says which are Laplace fits and why.

The OLS, dummy-variable and per-group regressions of the linear page are left out: a
linear fit of a 0/1 or count outcome has no likelihood on the GLMM's scale, so its
criteria could not stand in the same table (the Ladder leaves them out for the same
reason).
"""

from __future__ import annotations

import streamlit as st

from lib.errors import ExplorerError
from lib.glmm.agq import agq_applies
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.family import glmer_formula
from lib.present.markdown import md
from ui import big, glmm_cache, presentation, state
from ui.sidebar import Selection, show_error
from ui.views import comparison as comparison_view


def draw(sel: Selection, family: ResponseFamily, specs: dict[str, ModelSpec]) -> None:
    """``specs``: the four mixed models by name (``ui.views.compare.mixed_specs``, ML)."""
    roles = sel.roles
    presentation.heading(
        "Compare strategies",
        sel,
        subtitle=f"The four mixed models of **{md(roles.outcome)}** by **{md(roles.group)}**, "
        f"{md(family.family)} (glmer)",
    )
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    nagq, laplace_note = used_nagq(_page_nagq(), family, specs)
    method = "Laplace" if nagq == 1 else f"adaptive Gauss-Hermite quadrature, nAGQ = {nagq}"
    if nagq > 1 and laplace_note:
        method += ", where glmer allows it"
    st.markdown(
        f"The tutorial's four mixed models of **{md(roles.outcome)}** from "
        f"**{md(roles.predictor or '')}**, grouped by **{md(roles.group)}**, each a "
        f"{md(family.family)} mixed model fitted by maximum likelihood ({method}), as glmer. "
        "The OLS, dummy-variable and per-group regressions of a measured outcome are left "
        "out: a linear fit of a 0/1 or count outcome has no likelihood on this scale."
    )
    if laplace_note:
        st.caption(laplace_note)
    if roles.covariates or roles.levels:
        st.caption(
            f"Only the predictor and the top grouping column ({md(roles.group)}) are used "
            "here; the other fixed effects and lower levels apply on the Model page."
        )
    st.header("Model comparison")
    named = [(name, glmer_formula(spec, family)) for name, spec in specs.items()]
    st.code(comparison_view.formulas(named, list(specs)), language="r", wrap_lines=True)
    try:
        with st.spinner("Fitting the four models with glmer…", show_time=True):
            result = glmm_cache.compare(sel.source, tuple(specs.items()), family, sel.frame, nagq)
    except ExplorerError as exc:
        show_error(exc)
        return
    comparison_view.draw(result, "glmm_model_comparison", order=list(specs))


def _page_nagq() -> int:
    """The Model page's nAGQ (a URL key), carried over this page and kept in its link."""
    state.keep((state.NAGQ,))
    nagq = st.session_state.get(state.NAGQ, 1)
    nagq = nagq if nagq in state.NAGQ_VALUES else 1
    state.write_url({state.NAGQ: nagq}, {state.NAGQ: 1})
    return int(nagq)


def used_nagq(
    nagq: int, family: ResponseFamily, specs: dict[str, ModelSpec]
) -> tuple[int, str | None]:
    """The nAGQ the comparison uses (for the models that allow it; the others are Laplace
    fits) and, when some or all models are not fitted with the Model page's ``nagq``, the
    sentence that says which and why."""
    if nagq == 1:
        return 1, None
    if nagq == 0:
        return 1, (
            "The Model page's nAGQ = 0 is a quick approximation, not a likelihood to test "
            "with, so these are Laplace fits (nAGQ = 1)."
        )
    laplace = [name for name, spec in specs.items() if not agq_applies(spec)]
    if not laplace:
        return nagq, None
    names = " and ".join(laplace)
    if len(laplace) == len(specs):
        return 1, (
            f"These are Laplace fits: glmer allows the Model page's nAGQ = {nagq} only for "
            "one random intercept or one random slope alone."
        )
    if family.family == "binomial" and family.trials is None:
        return nagq, (
            f"{names} has more than one random effect per group, so it is a Laplace fit "
            f"(glmer allows nAGQ = {nagq} only for one); for a 0/1 outcome both kinds of "
            "log-likelihood are on one scale, so the tests still hold."
        )
    return 1, (
        f"All four are Laplace fits: {names} cannot use the Model page's nAGQ = {nagq} "
        "(glmer allows it for one random effect only), and glmer's quadrature "
        "log-likelihood leaves out a constant the Laplace one has, so the two would not "
        "compare."
    )
