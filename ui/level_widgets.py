"""Sidebar widgets of the grouping levels: lower grouping columns and per-level toggles.

The top level is the sidebar's "Grouping column" (``state.GROUP``). Below it a
second and a third grouping column can be chosen, each *nested in* or *crossed
with* the level above (``lib.model.levels``), and every level gets its own random
intercept / random slope / correlation toggles. With one level the toggles are
drawn exactly as before (no level headings), so the two-level model looks as it
always did.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from lib.model.levels import LevelEffects, factor_label
from lib.model.spec import NESTED, RELATIONS, GroupLevel
from lib.present.markdown import md
from lib.table.roles import Roles
from ui import state

NONE_LABEL = "none"
ORDINALS = ("Second", "Third")


def lower_level_selectors(
    columns: Sequence[str], group: str | None, defaults: Roles
) -> tuple[GroupLevel, ...]:
    """The second and third grouping columns with their relation to the level above.

    ``columns`` are the columns still free (not the outcome, predictor or top
    group). A level is only offered once the level above it is chosen.
    """
    levels: list[GroupLevel] = []
    above = group
    taken = {group}
    for k, (column_key, relation_key) in enumerate(state.LOWER_LEVEL_KEYS):
        if not above:
            break
        default = defaults.levels[k] if k < len(defaults.levels) else None
        options = ["", *(c for c in columns if c not in taken)]
        default_column = default.column if default and default.column in options else ""
        if st.session_state.get(column_key, default_column) not in options:
            st.session_state[column_key] = default_column
        column = st.selectbox(
            f"{ORDINALS[k]} grouping factor (optional)",
            options,
            index=options.index(default_column),
            key=column_key,
            format_func=lambda c: c or NONE_LABEL,
            help="A level below the one above: classes within schools, or a factor crossed "
            "with it (every sample tested on every plate).",
        )
        if not column:
            break
        default_relation = default.relation if default else NESTED
        if st.session_state.get(relation_key, default_relation) not in RELATIONS:
            st.session_state[relation_key] = default_relation
        # Radio labels and options are Markdown: the column names are escaped.
        low, up = md(column), md(above)
        relation = st.radio(
            f"How {low} relates to {up}",
            RELATIONS,
            index=RELATIONS.index(default_relation),
            key=relation_key,
            format_func=lambda r, a=up: f"nested in {a}" if r == NESTED else f"crossed with {a}",
            horizontal=True,
            help=f"Nested: each {low} group belongs to one {up} (class A of one school is "
            f"not class A of another), lme4's {up}/{low}. Crossed: the same {low} "
            f"occurs in several {up} groups (the same sample on every plate).",
        )
        levels.append(GroupLevel(column, relation))
        taken.add(column)
        above = column
    return tuple(levels)


def level_toggles(roles: Roles, no_x: bool) -> list[LevelEffects]:
    """Random intercept, slope and correlation toggles for every level, top first."""
    defaults = state.model_defaults()
    names = _level_names(roles)
    effects = []
    for k, (intercept_key, slope_key, correlated_key) in enumerate(state.LEVEL_TOGGLE_KEYS):
        if k >= len(names):
            break
        # Inside backticks nothing is Markdown; only a backtick could end the code span.
        g = "group" if len(names) == 1 else names[k].replace("`", "'")
        if len(names) > 1:
            st.markdown(f"**Level: {md(names[k])}**")
        intercept = st.toggle(
            "Random intercept",
            value=bool(defaults[intercept_key]),
            key=intercept_key,
            help=f"Each group gets its own baseline: `(1 | {g})`.",
        )
        slope = st.toggle(
            "Random slope",
            value=bool(defaults[slope_key]),
            key=slope_key,
            disabled=no_x,
            help=f"Each group gets its own slope of the predictor: `(0 + x | {g})`.",
        )
        correlated = st.toggle(
            "Correlated intercept and slope",
            value=bool(defaults[correlated_key]),
            key=correlated_key,
            disabled=not (intercept and slope),
            help=f"On: `(1 + x | {g})` estimates their correlation. Off: `(1 | {g}) + "
            f"(0 + x | {g})` keeps them independent.",
        )
        effects.append(LevelEffects(intercept=intercept, slope=slope, correlated=correlated))
    return effects


def _level_names(roles: Roles) -> list[str]:
    """Each level's factor in words: ``school``, ``class within school``, ``sample``."""
    names = [roles.group]
    chain = [roles.group]
    for level in roles.levels:
        chain = [level.column, *chain] if level.relation == NESTED else [level.column]
        names.append(factor_label(chain))
    return names


def url_values(roles: Roles) -> dict[str, object]:
    """The lower levels as URL values ("" for a level that is not chosen)."""
    values: dict[str, object] = {}
    for k, (column_key, relation_key) in enumerate(state.LOWER_LEVEL_KEYS):
        level = roles.levels[k] if k < len(roles.levels) else None
        values[column_key] = level.column if level else ""
        values[relation_key] = level.relation if level else None
    return values


def url_defaults(defaults: Roles) -> dict[str, object]:
    """The data set's default levels, left out of the URL."""
    values: dict[str, object] = {}
    for k, (column_key, relation_key) in enumerate(state.LOWER_LEVEL_KEYS):
        level = defaults.levels[k] if k < len(defaults.levels) else None
        values[column_key] = level.column if level else ""
        values[relation_key] = level.relation if level else NESTED
    return values
