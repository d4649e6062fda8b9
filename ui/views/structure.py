"""The Data page's grouping structure: levels per factor, nested or crossed, and the
reused-labels check with its one-click nested coding (``lib.model.nesting``)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.errors import ExplorerError
from lib.model.nesting import candidate_factors
from ui import big, cache, render
from ui.sidebar import Selection, show_error


def by_pair(pairs: pd.DataFrame) -> pd.DataFrame:
    """The relation table labelled by its pair, ``class / school``: one label column that
    every block of a wrapped table repeats (``ui.layout``)."""
    labels = [f"{a} / {b}" for a, b in zip(pairs["factor"], pairs["other"], strict=True)]
    out = pairs.drop(columns=["factor", "other"])
    out.index = pd.Index(labels, name="pair")
    return out


def draw(sel: Selection) -> None:
    st.subheader("Grouping structure")
    roles = sel.roles
    skip = {roles.outcome, roles.predictor, *roles.covariates}
    columns = tuple(
        c for c in candidate_factors(sel.frame, first=roles.group_columns) if c not in skip
    )
    if not columns:
        st.caption("No column looks like a grouping factor besides the roles chosen.")
        return
    st.markdown(
        "Columns that could group the rows (labels that repeat), with the number of groups "
        "each makes. The sidebar's grouping columns come first."
    )
    try:
        if sel.big is None:
            sizes = cache.factor_sizes(sel.source, columns, sel.frame)
        else:
            sizes = big.factor_sizes(sel.big, columns)
        pairs = cache.relation_table(sel.source, columns, sel.frame) if len(columns) > 1 else None
    except ExplorerError as exc:
        show_error(exc)
        return
    render.table(sizes, "grouping_factors", show_index=False, decimals=1)
    if pairs is not None:
        big.note(sel, "Groups counted over all rows; how the columns relate is judged on {sample}.")
    if pairs is not None:
        st.markdown("How each pair of them relates (the lower factor first):")
        render.table(by_pair(pairs), "factor_relations", download=pairs)
        render.meaning(
            "*Nested in*: every group of the first lies within one group of the other (each "
            "class in one school). *Crossed with*: the same label occurs with every group of "
            "the other (*partly*: with several). Crossed labels mean either truly crossed "
            "factors (the same sample on every plate) or labels reused within each group "
            "(class 'A' in every school), which is nesting in disguise. Only you know which: "
            "set the levels in the sidebar."
        )
