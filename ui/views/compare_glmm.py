"""The Compare page for a binomial or Poisson outcome (issue 16): the tutorial's four
mixed models fitted with glmer and compared by the one rule
(``lib.classroom.comparison.compare_glmm_specs``, run in the fit pool by
``ui.glmm_cache.compare``), drawn by the panel every comparison uses
(``ui.views.comparison``).

The Model page's likelihood approximation (``nagq=``) applies here as on the Ladder
(``ui.glmm_nagq``, ``lib.classroom.glmm_nagq``): adaptive Gauss-Hermite quadrature for
the models glmer allows it for (one scalar random effect), Laplace for the others, and one
sentence says which are Laplace fits and why.

The OLS, dummy-variable and per-group regressions of the linear page are left out: a
linear fit of a 0/1 or count outcome has no likelihood on the GLMM's scale, so its
criteria could not stand in the same table (the Ladder leaves them out for the same
reason).
"""

from __future__ import annotations

import streamlit as st

from lib.errors import ExplorerError
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.family import glmer_formula
from lib.present.markdown import md
from ui import big, glmm_cache, glmm_nagq, presentation
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
    nagq, method, laplace_note = glmm_nagq.comparison_nagq(family, specs)
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
