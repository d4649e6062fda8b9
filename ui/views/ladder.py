"""The Ladder page: the tutorial's four mixed models and the OLS strategies in one table."""

from __future__ import annotations

import math

import streamlit as st

from lib.classroom import ladder as lib_ladder
from lib.classroom.ladder import FULL, NULL, RI, RS, Ladder
from lib.errors import ExplorerError
from lib.present.markdown import md
from lib.present.numbers import num, p_text, pct
from ui import big, classroom_cache, presentation, render
from ui.sidebar import Selection, show_error


def draw(sel: Selection) -> None:
    presentation.heading("Model ladder", sel)
    big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    roles = sel.roles
    if roles.predictor is None:
        st.info("The ladder adds a slope: choose a numeric predictor in the sidebar.")
        st.stop()
    reml = sel.spec.reml if sel.spec is not None else True
    try:
        with st.spinner("Fitting the ladder (each model by REML and ML)…", show_time=True):
            result = classroom_cache.ladder(
                sel.source, roles.outcome, roles.predictor, roles.group, reml, sel.frame
            )
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    st.caption(
        "Each mixed model is tested against the step it extends (likelihood-ratio test on ML "
        "refits, as lme4's anova). AIC, BIC and logLik come from ML fits, so every row, OLS "
        "included, can be compared. For OLS rows the R² columns show the ordinary R²."
    )
    table = lib_ladder.ladder_table(result)
    criterion = "REML criterion" if result.reml else "deviance (ML)"
    # Two narrow tables: one wide table is cut off on a 1280 px projector with the sidebar.
    fit_columns = ["npar", criterion, "AIC (ML)", "BIC (ML)"]
    render.table(
        table[fit_columns],
        "ladder_fit",
        decimals={criterion: 1, "AIC (ML)": 1, "BIC (ML)": 1, "npar": 0},
        download=table,
    )
    test_columns = [
        "ICC",
        "R2 marginal",
        "R2 conditional",
        "tested against",
        "Chisq",
        "Df",
        "Pr(>Chisq)",
    ]
    render.table(
        table[test_columns],
        "ladder_tests",
        decimals={"ICC": 3, "R2 marginal": 3, "R2 conditional": 3, "Chisq": 2, "Df": 0},
    )
    st.code(
        "\n".join(f"# {s.name}\n{s.formula}" for s in result.steps), language="r", wrap_lines=True
    )
    st.subheader("Step by step")
    for sentence in sentences(result, roles.outcome, roles.predictor, roles.group):
        st.markdown(f"- {sentence}")


def sentences(result: Ladder, y: str, x: str, g: str) -> list[str]:
    """One sentence per step, written from the ladder's numbers (Markdown, escaped)."""
    y, x, g = md(y), md(x), md(g)
    null, ri, rs, full = (result.step(n) for n in (NULL, RI, RS, FULL))
    out = []
    if math.isfinite(null.icc):
        out.append(
            f"**{NULL}**: {pct(null.icc)} of the variance in {y} lies between {g} groups "
            f"(ICC {num(null.icc)})."
        )
    else:
        out.append(f"**{NULL}**: the between-group variance is estimated as zero (no ICC).")
    out.append(
        f"**{RI}**: adding the fixed slope of {x} {_test(ri)}; the fixed effects explain "
        f"{pct(ri.r2_marginal)} of the variance (marginal R²), fixed and random "
        f"{pct(ri.r2_conditional)}."
    )
    better = "lower (better)" if rs.aic < ri.aic else "higher (worse)"
    out.append(
        f"**{RS}**: not nested in the earlier steps, so no test; its AIC {num(rs.aic, 1)} is "
        f"{better} than the random intercept's {num(ri.aic, 1)}."
        + (
            " Its ICC and R² leave out the slope variance (its variable is not a fixed "
            "effect), so read them as 0 by convention, not as 'no clustering'."
            if rs.icc == 0 or rs.r2_conditional == rs.r2_marginal
            else ""
        )
    )
    out.append(
        f"**{FULL}**: letting the slope of {x} vary between {g} groups (with its correlation "
        f"with the intercept) {_test(full)}; AIC {num(full.aic, 1)} against "
        f"{num(ri.aic, 1)}."
    )
    return out


def _test(step) -> str:  # noqa: ANN001 - LadderStep
    verdict = "improves the fit clearly" if step.p < 0.05 else "does not improve the fit clearly"
    return f"{verdict} (χ² = {num(step.chisq, 2)} on {int(step.df)} df, {p_text(step.p)})"
