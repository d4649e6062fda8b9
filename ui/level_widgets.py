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


def slope_columns(roles: Roles, numeric: Sequence[str]) -> list[str]:
    """Columns that can have a random slope: numeric, neither the outcome nor a grouping
    column."""
    taken = {roles.outcome, *roles.group_columns}
    return [c for c in numeric if c not in taken]


def _prepare_slopes(key: str, columns: Sequence[str], predictor: str | None) -> None:
    """The level's slope columns before its widget is drawn: the predictor by default (and
    after a preset), following the predictor while the default is kept."""
    stored = st.session_state.get(key)
    default = [predictor] if predictor in columns else []
    last = st.session_state.get(_SLOPES_PREDICTOR)
    if stored is None or (last != predictor and list(stored) == [last]):
        st.session_state[key] = default
    elif any(c not in columns for c in stored):
        st.session_state[key] = [c for c in stored if c in columns]


_SLOPES_PREDICTOR = "_slopes_predictor"  # the predictor the slope defaults were made for


def level_toggles(roles: Roles, no_x: bool, numeric: Sequence[str] = ()) -> list[LevelEffects]:
    """Random intercept, slope and correlation toggles for every level, top first; with
    the slope on, the columns that get a random slope (the predictor by default)."""
    defaults = state.model_defaults()
    names = _level_names(roles)
    columns = slope_columns(roles, numeric)
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
        slopes_key = state.LEVEL_SLOPE_KEYS[k]
        _prepare_slopes(slopes_key, columns, roles.predictor)
        if slope and not no_x:
            slopes = st.multiselect(
                "Random slopes of",
                columns,
                key=slopes_key,
                help=f"Several columns give `(1 + x + z | {g})`: one slope per column, "
                "each varying between the groups.",
            )
        else:
            slopes = st.session_state[slopes_key]
        correlated = st.toggle(
            "Correlated intercept and slope",
            value=bool(defaults[correlated_key]),
            key=correlated_key,
            disabled=not (intercept and slope),
            help=f"On: `(1 + x | {g})` estimates their correlation. Off: `(1 | {g}) + "
            f"(0 + x | {g})` keeps them independent.",
        )
        effects.append(
            LevelEffects(
                intercept=intercept,
                slope=slope and bool(slopes),
                correlated=correlated,
                slopes=tuple(slopes),
            )
        )
    st.session_state[_SLOPES_PREDICTOR] = roles.predictor
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
    """The lower levels as URL values ("" for a level that is not chosen), and each
    level's slope columns."""
    values: dict[str, object] = {
        key: list(st.session_state.get(key) or []) for key in state.LEVEL_SLOPE_KEYS
    }
    for k, (column_key, relation_key) in enumerate(state.LOWER_LEVEL_KEYS):
        level = roles.levels[k] if k < len(roles.levels) else None
        values[column_key] = level.column if level else ""
        values[relation_key] = level.relation if level else None
    return values


def url_defaults(defaults: Roles, predictor: str | None = None) -> dict[str, object]:
    """The data set's default levels, and the slopes of the ``predictor`` alone, left out
    of the URL."""
    values: dict[str, object] = dict.fromkeys(
        state.LEVEL_SLOPE_KEYS, [predictor] if predictor else []
    )
    for k, (column_key, relation_key) in enumerate(state.LOWER_LEVEL_KEYS):
        level = defaults.levels[k] if k < len(defaults.levels) else None
        values[column_key] = level.column if level else ""
        values[relation_key] = level.relation if level else NESTED
    return values
