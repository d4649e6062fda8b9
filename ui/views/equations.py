"""Equations and code for the Model and Compare pages (drawing only; LaTeX and code
come from ``lib.present.equations``, ``lib.present.snippets`` and ``lib.present.ols_summary``)."""

from __future__ import annotations

import streamlit as st

from lib.lmm import LmmFit
from lib.ols.regressions import PerGroupOls
from lib.present import equations, snippets
from lib.present.markdown import md
from lib.present.ols_summary import per_group_statistics, separate_equations
from lib.table.catalogue import BUNDLED
from ui import memo, render, state

SECTION = "Equations and code"
MAX_GROUP_EQUATIONS = 12


def _aligned(lines: list[str] | tuple[str, ...], on: str = " = ") -> str:
    """Equations stacked and aligned on their first ``on`` (KaTeX's aligned)."""
    rows = [line.replace(on, f" &{on.strip()} ", 1) for line in lines]
    return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"


def _rows(rows: tuple[str, ...]) -> str:
    """A long equation on several aligned rows: ``lhs &= ...`` then ``&\\quad + ...``."""
    first, *rest = rows
    out = [first.replace(" = ", " &= ", 1), *(rf"&\quad {row}" for row in rest)]
    return r"\begin{aligned}" + r" \\ ".join(out) + r"\end{aligned}"


def group_lines_latex(
    outcome: str, pairs: list[tuple[str, str]], max_groups: int = MAX_GROUP_EQUATIONS
) -> str:
    """The predicted outcome per group, one row each (``Hillcrest: 38.579 + 1.112 x``);
    a dummy model's ``a + b x - c = d + b x`` takes two rows. Labels are escaped."""
    rows = []
    for level, rhs in pairs[:max_groups]:
        written, _, final = rhs.partition(" = ")
        rows.append(rf"{equations.latex_text(level)}: & {written}")
        if final:
            rows.append(rf"& = {final}")
    head = rf"\widehat{{{equations.latex_text(outcome)}}}"
    return (
        rf"{head}\ \text{{per group}} \\[6pt] "
        r"\begin{array}{rl}" + r" \\[4pt] ".join(rows) + r"\end{array}"
    )


def _shown_groups(pairs: list, max_groups: int = MAX_GROUP_EQUATIONS) -> str | None:
    if len(pairs) <= max_groups:
        return None
    return f"The first {max_groups} of {len(pairs):,} groups."


def group_lines(
    outcome: str, pairs: list[tuple[str, str]], max_groups: int = MAX_GROUP_EQUATIONS
) -> None:
    """``group_lines_latex`` as a LaTeX element, with a caption when groups are left out."""
    st.latex(group_lines_latex(outcome, pairs, max_groups))
    more = _shown_groups(pairs, max_groups)
    if more:
        st.caption(more)


def display_math(latex: str) -> str:
    """A display equation inside Markdown: what ``st.latex`` sends (a Markdown body of
    ``$$ ... $$``), so that several equations and their labels travel as one element."""
    return f"$$\n{latex}\n$$"


def data_source(sel: object) -> tuple[str | None, str | None]:
    """(bundled key, file name) of the data for the code snippets."""
    option = getattr(sel, "option", None)
    if option in BUNDLED:
        return option, BUNDLED[option].filename
    upload = st.session_state.get(state.UPLOAD)
    return None, getattr(upload, "name", None)


def draw(sel: object, fit: LmmFit) -> None:
    """The Model page's section: the model as equations, then the code that fits it."""
    st.subheader(SECTION)
    try:
        symbolic = equations.model_equations(fit.spec, fit.fixef_names)
        fitted = equations.fitted_equations(fit)
    except ValueError as exc:  # more grouping factors than index letters
        st.info(str(exc))
        return
    # One Markdown element for all of it, not 14: every element costs the server ~0.15 ms
    # per rerun of every session, and a class flips toggles together (issue 17).
    parts = [
        "**Level 1** (each observation) and **level 2** (each group's coefficients):",
        display_math(_rows(symbolic.level1_rows)),
        display_math(_aligned(symbolic.level2)),
        "**Combined** (level 2 put into level 1), the model lme4 fits:",
        display_math(_rows(symbolic.combined_rows)),
        display_math(_aligned(symbolic.distributions, r" \sim ")),
        display_math(_aligned(symbolic.indices)),
        "**With the fitted numbers** (fixed effects, variances from `VarCorr`):",
        display_math(_aligned(fitted.level2)),
        display_math(_rows(fitted.combined_rows)),
        display_math(_aligned(fitted.distributions, r" \sim ")),
    ]
    factor = fit.ranef[0]
    if factor.nlevels <= 3 * MAX_GROUP_EQUATIONS:
        lines = memo.get(  # built once per (data, model) in this process
            ("coef_equations", sel.source, repr(fit.spec), factor.group),  # type: ignore[attr-defined]
            lambda: equations.coef_equations(fit, factor.group, factor.nlevels),
        )
        parts.append(
            f"**Each {md(factor.group)}'s line** (fixed + random effects, lme4's `coef()`):"
        )
        parts.append(display_math(group_lines_latex(fit.spec.outcome, lines)))
        more = _shown_groups(lines)
        if more:
            parts.append(more)
    parts.append(
        render.meaning_text(
            "Level 1 says how each observation varies around its group's line; level 2 says "
            "how the groups' coefficients vary around the overall (fixed) ones. A coefficient "
            "without a random part is the same in every group."
        )
    )
    parts.append("**R (lme4)**: the same model; the copy button is at the code's top right.")
    st.markdown("\n\n".join(parts))
    bundled, data_file = data_source(sel)
    st.code(snippets.lme4_call(fit.spec, data_file), language="r", wrap_lines=True)
    st.markdown("**Python**: this app's engine, from a script (run it from the app's folder):")
    large = getattr(sel, "big", None) is not None
    script = snippets.python_script(fit.spec, bundled, data_file, duckdb=large)
    st.code(script, language="python", wrap_lines=True)


def separate_details(per_group: PerGroupOls) -> None:
    """Compare page, separate regressions: each group's equation and the lines
    ``summary.lm`` prints below its coefficients."""
    st.markdown("**Each group's regression equation:**")
    group_lines(per_group.outcome, separate_equations(per_group))
    st.markdown(
        "**Each group's fit** (`summary(lm)`: residual quantiles, residual standard error, "
        "R², adjusted R², F test):"
    )
    table = per_group_statistics(per_group)
    # Two narrow tables rather than one of 14 columns, which a 1024 px projector cuts.
    render.table(
        table[["Min", "1Q", "Median", "3Q", "Max"]],
        "separate_residuals",
        caption="Residuals of each group's regression.",
        height=400,
    )
    render.table(
        table[["Residual SE", "df", "Adj. R-squared", "F", "p-value"]],
        "separate_fit_statistics",
        decimals={"Residual SE": 3, "Adj. R-squared": 4, "F": 2},
        caption="Multiple R², n and the F test's degrees of freedom are in the CSV.",
        height=400,
        download=table,
    )
