"""The sidebar's column roles: outcome, predictor, grouping columns and other fixed effects.

Each role selector offers every column that can take the role. Choosing a column that
already plays another role does not leave two roles on one column, nor replace the
other role silently: the selectbox's callback calls ``lib.table.roles.change_role``,
which moves the other role to the best remaining column and says why, and the sidebar
shows each reason until the roles change again. Values from a link or another data set
that cannot be used are repaired before the widgets are drawn (the sidebar's URL note
names them).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.present.markdown import md
from lib.table.outcome_kind import outcome_columns
from lib.table.roles import (
    GROUP,
    OUTCOME,
    PREDICTOR,
    Roles,
    best_group,
    best_predictor,
    change_role,
    numeric_columns,
)
from ui import level_widgets, state


def role_selectors(
    frame: pd.DataFrame,
    defaults: Roles,
    numeric_names: tuple[str, ...] | None = None,
    outcome_names: tuple[str, ...] | None = None,
) -> Roles:
    """Outcome, predictor and grouping column; each offers every column it can take.

    Choosing a column that plays another role moves that role to the best remaining
    column (``lib.table.roles.change_role``, in the selectbox's callback) and says so
    under the selectors: no role changes silently.
    """
    columns = [str(c) for c in frame.columns]
    # The sidebar passes both, read once per data set (``ui.cache.column_kinds``).
    numeric = list(numeric_columns(frame) if numeric_names is None else numeric_names)
    outcomes = list(  # numeric, or two-valued (binomial, issue 16)
        outcome_columns(frame) if outcome_names is None else outcome_names
    )
    _repair_roles(frame, defaults, numeric, columns, outcomes)
    outcome = _select(
        "Outcome (y)",
        outcomes,
        defaults.outcome,
        state.OUTCOME,
        "Numeric response, or a two-valued one (0/1, TRUE/FALSE, pass/fail).",
        frame,
    )
    predictor = _select(
        "Predictor (x)",
        numeric if len(numeric) > 1 else [],  # the only numeric column is the outcome
        defaults.predictor,
        state.PREDICTOR,
        "Numeric predictor on the x axis; it gets the fixed and/or random slope.",
        frame,
    )
    group = _select(
        "Grouping column",
        columns,
        defaults.group,
        state.GROUP,
        "The clusters: schools, pigs, firms... Each value is one group.",
        frame,
    )
    groups = [c for c in columns if c not in (outcome, predictor)]
    lower = level_widgets.lower_level_selectors([c for c in groups if c != group], group, defaults)
    used = {outcome, predictor, group, *(level.column for level in lower)}
    others = [c for c in columns if c not in used]
    stored = st.session_state.get(state.COVARIATES)
    if stored is not None and any(c not in others for c in stored):
        st.session_state[state.COVARIATES] = [c for c in stored if c in others]
    covariates = st.multiselect(
        "Other fixed effects (optional)",
        others,
        key=state.COVARIATES,
        help="Extra predictors with one coefficient each (text columns are dummy-coded).",
    )
    if outcome is None or group is None:
        st.error("The data need a numeric outcome column and a grouping column.")
    roles = Roles(
        outcome=outcome or "",
        predictor=predictor,
        group=group or "",
        covariates=covariates,
        levels=lower,
    )
    st.session_state[state.ROLES_SHOWN] = roles
    _role_notes(roles)
    return roles


ROLE_OF_KEY = {state.OUTCOME: OUTCOME, state.PREDICTOR: PREDICTOR, state.GROUP: GROUP}


def _repair_roles(
    frame: pd.DataFrame,
    defaults: Roles,
    numeric: list[str],
    columns: list[str],
    outcomes: list[str] | None = None,
) -> None:
    """Make stored roles (a link's, another data set's) valid and distinct before drawing:
    the outcome wins, then the predictor, then the group, as the link's note says."""
    ss = st.session_state
    for key, options, default in (
        (state.OUTCOME, numeric if outcomes is None else outcomes, defaults.outcome),
        (state.PREDICTOR, numeric if len(numeric) > 1 else [None], defaults.predictor),
        (state.GROUP, columns, defaults.group),
    ):
        if key in ss and ss[key] not in options and options:
            ss[key] = default if default in options else options[0]
    taken = [ss.get(state.OUTCOME, defaults.outcome)]
    if ss.get(state.PREDICTOR, defaults.predictor) in taken:
        ss[state.PREDICTOR] = (
            defaults.predictor
            if defaults.predictor not in taken
            else best_predictor(frame, taken, defaults.group)
        )
    taken.append(ss.get(state.PREDICTOR, defaults.predictor))
    if ss.get(state.GROUP, defaults.group) in taken:
        fallback = defaults.group
        ss[state.GROUP] = fallback if fallback not in taken else best_group(frame, taken)


def _on_role_change(frame: pd.DataFrame, key: str) -> None:
    """Callback of a role selectbox: set that role, repair the others, keep the reasons."""
    old = st.session_state.get(state.ROLES_SHOWN)
    if old is None:
        return
    column = st.session_state[key]
    try:
        change = change_role(frame, old, ROLE_OF_KEY[key], column)
    except ExplorerError as exc:
        st.session_state[key] = getattr(old, ROLE_OF_KEY[key])
        st.session_state[state.ROLE_NOTES] = (old, (str(exc),))
        return
    state.set_roles(change.roles)
    st.session_state[state.ROLE_NOTES] = (change.roles, tuple(s.reason for s in change.switched))


def _role_notes(roles: Roles) -> None:
    """Why other roles changed with the last one set, while those roles stand."""
    shown = st.session_state.get(state.ROLE_NOTES)
    if not shown or shown[0] != roles or not shown[1]:
        return
    items = "\n".join(f"- {md(reason)}" for reason in shown[1])
    st.info(f"Roles changed with your choice:\n{items}", icon=":material/swap_horiz:")


def _select(
    label: str,
    options: Sequence[str],
    default: str | None,
    key: str,
    help_text: str,
    frame: pd.DataFrame,
) -> str | None:
    index = options.index(default) if default in options else 0
    if key in st.session_state and st.session_state[key] not in options and options:
        st.session_state[key] = options[index]
    return st.selectbox(
        label,
        options,
        index=index if options else None,
        key=key,
        help=help_text,
        on_change=_on_role_change,
        args=(frame, key),
    )
