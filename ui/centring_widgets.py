"""The sidebar's centring controls: per numeric predictor, none / grand mean / within group,
and "add the group mean as a predictor" (``lib.model.centring``).

The choices live in ``state.CENTRING`` (and the URL), one JSON list per centred column,
``["ses", "within", ["school"], true]``: column, method, the grouping columns whose means
are used, and whether the group mean is added. A JSON list keeps any column name intact
(a URL value may hold ``:`` or ``,``). The widgets are seeded from that list whenever it
changed outside them (a link, Reset model, another data set), and write it back.

The fitted model then uses the columns the centring makes (``ses_cwc``,
``ses_mean_school``); ``lib.model.centring.apply_centring`` computes them over the rows
the model uses and rewrites the spec, and the sidebar shows the fitted formula.
"""

from __future__ import annotations

import json

import streamlit as st

from lib.errors import SpecError
from lib.model.centring import GRAND, NONE, WITHIN, Centring
from lib.model.spec import ModelSpec
from lib.present.markdown import md
from ui import state

WRITTEN = "_centre_written"  # the list these widgets wrote last
LABELS = {NONE: "not centred", GRAND: "grand mean", WITHIN: "within groups"}


def stored() -> tuple[list[Centring], list[str]]:
    """The centrings in ``state.CENTRING``, and a note for each entry that cannot be read."""
    out, notes = [], []
    for raw in st.session_state.get(state.CENTRING) or []:
        try:
            column, method, group, mean = json.loads(raw)
            out.append(Centring(str(column), str(method), tuple(map(str, group)), bool(mean)))
        except (ValueError, TypeError, SpecError) as exc:
            notes.append(f"{state.CENTRING}={raw[:40]!r}: not a centring ({exc})")
    return out, notes


def encode(centring: Centring) -> str:
    """One centring as its URL value."""
    return json.dumps(
        [centring.column, centring.method, list(centring.group), centring.group_mean],
        ensure_ascii=False,
    )


def candidates(spec: ModelSpec, numeric: set[str]) -> list[str]:
    """The model's numeric predictors (fixed effects and random slopes) that can be centred."""
    groups = set(spec.group_columns)
    named = (*spec.fixed_columns, *spec.slope_columns)
    return [c for c in dict.fromkeys(named) if c in numeric and c not in groups]


def _keys(k: int) -> tuple[str, str, str]:
    # By position, not by name: a column name may hold any character.
    return f"_centre_method{k}", f"_centre_group{k}", f"_centre_mean{k}"


def draw(spec: ModelSpec, numeric: set[str]) -> list[Centring]:
    """The controls for ``spec``'s predictors; returns the centrings that change something."""
    columns = candidates(spec, numeric)
    factors = {t.name: t.group for t in spec.random}
    names = list(factors)
    chosen, notes = stored()
    by_column = {c.column: c for c in chosen}
    ss = st.session_state
    fresh = ss.get(WRITTEN) != (ss.get(state.CENTRING) or []) or ss.get("_centre_columns") != (
        columns
    )
    active = [c for c in chosen if c.column in columns and c.changes]
    with st.expander("Centring", expanded=bool(active), icon=":material/center_focus_weak:"):
        for note in notes:
            st.warning(md(note))
        if not columns:
            st.caption("The model has no numeric predictor to centre.")
        result = []
        for k, column in enumerate(columns):
            method_key, group_key, mean_key = _keys(k)
            old = by_column.get(column, Centring(column))
            group_name = ":".join(old.group)
            if fresh or method_key not in ss:
                ss[method_key] = old.method
                ss[group_key] = group_name if group_name in names else names[0]
                ss[mean_key] = old.group_mean
            if ss.get(group_key) not in names:
                ss[group_key] = names[0]
            label = md(column)
            method = st.selectbox(
                f"Centre {label}",
                list(LABELS),
                key=method_key,
                format_func=LABELS.__getitem__,
                help="Grand mean: minus the mean over all rows used (same model, the "
                "intercept moves to the average). Within groups: minus its group's mean, "
                "which keeps only the within-group variation.",
            )
            mean = st.checkbox(
                f"Add the group mean of {label}",
                key=mean_key,
                help="The group means as a predictor of their own: with within-group "
                "centring its coefficient is the between-group effect, without centring "
                "the contextual effect.",
            )
            group = names[0]
            if method == WITHIN or mean:
                group = (
                    st.selectbox(f"Groups for {label}", names, key=group_key)
                    if len(names) > 1
                    else names[0]
                )
            centring = Centring(
                column, method, factors[group] if method == WITHIN or mean else (), mean
            )
            if centring.changes:
                result.append(centring)
    written = [encode(c) for c in result]
    ss[state.CENTRING] = written
    ss[WRITTEN] = written
    ss["_centre_columns"] = columns
    return result
