"""Panels for models with several grouping levels, and the nesting check.

Used by the Model page (shares of variance, which factor the fitted lines
show, the warning when reused labels are coded as crossed) and by the Data
page (the same warning, with the one-click nested coding).
"""

from __future__ import annotations

import streamlit as st

from lib.errors import ExplorerError
from lib.lmm import LmmFit
from lib.model.nesting import Pitfall, candidate_factors
from lib.present import explain_levels, summary
from lib.present.markdown import md
from ui import cache, memo, render, state
from ui.sidebar import Selection


def lines_factor(fit: LmmFit) -> str:
    """The grouping factor whose fitted lines the chart shows (a selectbox with several)."""
    names = list(fit.ngroups)
    state.keep((state.LINES_BY,))
    if st.session_state.get(state.LINES_BY) not in names:
        st.session_state[state.LINES_BY] = names[-1]  # set here, so no index= below
    if len(names) == 1:
        return names[0]
    default = names[-1]  # lme4 orders factors by size: the last is the coarsest (top) level
    name = st.selectbox(
        "Fitted lines for each group of",
        names,
        key=state.LINES_BY,
        help="A nested level's line adds the effects of the levels it lies in (a class's "
        "line is its school's line plus the class's own effect).",
    )
    state.write_url({state.LINES_BY: name}, {state.LINES_BY: default})
    return name


def shares_panel(fit: LmmFit) -> None:
    """The multilevel ICC table: each variance component's share of the total."""
    st.subheader("Share of variance at each level")
    table = summary.level_shares(fit)
    # Levels by their lme4 names only: with the words added ("class:school (class within
    # school)") the table was wider than the column at 1024 px with the sidebar open and
    # its Share column scrolled out of sight; the sentence below spells the levels out.
    render.table(
        table,
        "variance_shares",
        show_index=False,
        decimals={"Variance": 4, "Share": 3},
        download=table,
    )
    render.meaning(explain_levels.shares(fit))


def pitfalls(sel: Selection) -> tuple[Pitfall, ...]:
    """Grouping choices of the sidebar that probably pool groups with reused labels."""
    roles = sel.roles
    skip = {roles.outcome, roles.predictor, *roles.covariates}
    candidates = memo.get(  # per data set and grouping columns, once in this process
        ("candidate_factors", sel.source, roles.group_columns),
        lambda: candidate_factors(sel.frame, first=roles.group_columns),
    )
    candidates = tuple(c for c in candidates if c not in skip)
    try:
        return cache.coding_pitfalls(
            sel.source, roles.group, tuple(roles.levels), candidates, sel.frame
        )
    except ExplorerError:
        return ()


def warn_pitfalls(sel: Selection, where: str) -> None:
    """A warning per pitfall with a button that applies the nested coding."""
    for k, pit in enumerate(pitfalls(sel)):
        low, up = md(pit.relation.lower), md(pit.relation.upper)
        st.warning(
            explain_levels.pitfall(pit, sel.roles.group, sel.roles.levels),
            icon=":material/warning:",
        )
        st.button(
            f"Code {low} as nested in {up}",
            key=f"_nest_{where}_{k}",
            on_click=state.set_levels,
            args=(pit.group, pit.levels),
            icon=":material/account_tree:",
            type="primary",
        )
