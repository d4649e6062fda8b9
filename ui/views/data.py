"""The Data page: choose or upload data, see the roles, preview, validation report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.aggregate.upload import big_upload_bytes
from lib.errors import ExplorerError
from lib.present.markdown import md
from lib.table.catalogue import BUNDLED
from lib.table.columns import not_numeric_reason
from lib.table.outcome_kind import can_be_outcome, outcome_columns
from lib.table.read import MAX_COLUMNS, MAX_ROWS, dropped_columns, missing_markers
from lib.table.roles import numeric_columns
from lib.table.validate import column_overview
from ui import big, cache, family_widgets, render, state
from ui import shared as shared_view
from ui.sidebar import Selection, show_error
from ui.views import levels as levels_view
from ui.views import structure as structure_view

PREVIEW_ROWS = 200


def draw(sel: Selection) -> None:
    st.title("Data")
    if sel.ready:
        levels_view.warn_pitfalls(sel, "data")  # first: a wrong grouping spoils every model
    _upload(sel)  # first, so that a class sees the upload box without scrolling
    _choose(sel)
    if not sel.ready:
        st.stop()
    _roles(sel)
    _preview(sel)
    _columns(sel)
    structure_view.draw(sel)
    _report(sel)


def _choose(sel: Selection) -> None:
    st.subheader("Bundled data sets")
    for key, entry in BUNDLED.items():
        active = key == sel.option
        with st.container(border=True):
            marker = " (in use)" if active else ""
            st.markdown(f"**{md(entry.title)}**{marker}  \n{md(entry.description)}")
            st.caption(f"Source: {md(entry.provenance)}")
            # Below the text rather than in a narrow column, where its label was cut.
            st.button(
                "In use" if active else "Use this data",
                key=f"_use_{key}",
                disabled=active,
                on_click=_use_dataset,
                args=(key,),
                icon=":material/check:" if active else ":material/table:",
            )


def _use_dataset(key: str) -> None:
    st.session_state[state.DATASET] = key
    state.on_dataset_change()


def _upload(sel: Selection) -> None:
    st.subheader("Your own data")
    if cache.shared_token(sel.option) is not None and sel.frame is not None:
        shared_view.shared_note(sel.option)  # whose data; the owner's panel after a manage link
    st.file_uploader(
        "Upload a CSV, Excel (.xlsx) or Parquet file: one row per observation, one column per "
        "variable, including a column that names each row's group",
        type=["csv", "tsv", "txt", "xlsx", "parquet"],
        key=state.UPLOAD_WIDGET,
        on_change=state.on_upload_change,
        help=f"Up to {MAX_ROWS:,} rows and {MAX_COLUMNS} columns; CSV and Parquet files over "
        f"{big_upload_bytes() / 1024**2:,.3g} MB are read by DuckDB without a row limit "
        "(Excel files keep the limit). The file stays in this browser session: it is not "
        "saved on the server and not shared through links, unless you tick Share below.",
    )
    error = st.session_state.get(state.UPLOAD_ERROR)
    if error:
        show_error(error)
    upload = st.session_state.get(state.UPLOAD)
    if upload is not None:
        st.markdown(
            f"Uploaded: **{md(upload.name)}** ({file_size(len(upload.content))}), "
            "available as *your upload* in the data-set selector."
        )
        if big.is_big(upload):
            st.caption(
                f":material/database: A large file: its {big.load(upload).n_rows:,} rows are read "
                "by DuckDB. Counts, histograms, group means and the Model page's fit use every "
                "row; charts of single points and the Compare, Pooling, Ladder and Lesson pages "
                f"use {big.sample_words(big.load(upload))}."
            )
        st.button(
            "Remove upload",
            key="_remove_upload",
            on_click=state.remove_upload,
            icon=":material/delete:",
        )
        shared_view.share_box(sel.option, sel.roles)


def file_size(n_bytes: int) -> str:
    """A file size for people: bytes below 1 KB, then KB and MB with one decimal, in
    units of 1000 as the file uploader right above shows them (a 153,400,000-byte
    file read "153.4MB" there and "146.3 MB" here in units of 1024)."""
    if n_bytes < 1000:
        return f"{n_bytes:,} bytes" if n_bytes != 1 else "1 byte"
    if n_bytes < 1000**2:
        return f"{n_bytes / 1000:,.1f} KB"
    return f"{n_bytes / 1000**2:,.1f} MB"


# The Data page's own role selectors (the sidebar's keys cannot be drawn twice on a page):
# each mirrors a sidebar widget and hands its choice to it in a callback.
ROLE_MIRRORS = (
    ("_data_outcome", state.OUTCOME, "Outcome (y)"),
    ("_data_predictor", state.PREDICTOR, "Predictor (x)"),
    ("_data_group", state.GROUP, "Grouping column"),
)


def _hand_to_sidebar(mirror: str, key: str) -> None:
    st.session_state[key] = st.session_state[mirror]


def _roles(sel: Selection) -> None:
    st.subheader("Column roles")
    st.markdown(
        "The **outcome** is what you predict, the **predictor** goes on the x axis and gets "
        "the slopes, the **grouping column** says which group each row belongs to. Set them "
        "here, next to the data, or in the sidebar (more levels and fixed effects are there)."
    )
    frame, roles = sel.frame, sel.roles
    columns = [str(c) for c in frame.columns]
    numeric = list(numeric_columns(frame))
    options = {
        state.OUTCOME: list(outcome_columns(frame)),  # numeric or two-valued (issue 16)
        state.PREDICTOR: [c for c in numeric if c != roles.outcome],
        state.GROUP: [c for c in columns if c not in (roles.outcome, roles.predictor)],
    }
    current = {
        state.OUTCOME: roles.outcome,
        state.PREDICTOR: roles.predictor,
        state.GROUP: roles.group,
    }
    with st.container(horizontal=True, gap="medium"):
        for mirror, key, label in ROLE_MIRRORS:
            if not options[key]:
                continue
            st.session_state[mirror] = current[key] if current[key] in options[key] else None
            st.selectbox(
                label,
                options[key],
                key=mirror,
                on_change=_hand_to_sidebar,
                args=(mirror, key),
                width=300,
            )
    more = [
        *(
            (f"Grouping column {k + 2}", f"{level.column} ({level.relation})")
            for k, level in enumerate(roles.levels)
        ),
        *(("Other fixed effects", ", ".join(roles.covariates)) for _ in roles.covariates[:1]),
    ]
    if more:  # set in the sidebar only
        st.dataframe(pd.DataFrame(more, columns=["role", "column"]), hide_index=True)
    _family_suggestion(sel)
    _not_offered(frame)


def _family_suggestion(sel: Selection) -> None:
    """What kind of outcome this is and the family that fits it (issue 16): the user
    applies the suggestion here or in the sidebar, and picks the success level."""
    kind = family_widgets.kind_of(sel.source, sel.roles.outcome, sel.frame)
    text = None if kind is None else family_widgets.suggestion_text(kind)
    if text is None:
        return
    current = family_widgets.current().family
    suggested = kind.suggested_family
    label = family_widgets.FAMILY_LABELS[current]
    with st.container(border=True):
        st.markdown(f":material/lightbulb: {text}")
        if current == suggested:
            st.markdown(f"The model uses the **{label}** family (the sidebar can change it).")
        else:
            st.markdown(f"The model uses the **{label}** family now.")
            st.button(
                f"Use the {family_widgets.FAMILY_LABELS[suggested]} family",
                key="_data_use_family",
                on_click=family_widgets.use_family,
                args=(suggested,),
                icon=":material/check:",
            )
        if kind.needs_success and current == "binomial":
            mirror = "_data_success"
            st.session_state[mirror] = st.session_state.get(state.SUCCESS, kind.default_success)
            st.selectbox(
                f"Which value of {md(sel.roles.outcome)} counts as success (1)?",
                list(kind.levels),
                key=mirror,
                on_change=_hand_to_sidebar,
                args=(mirror, state.SUCCESS),
                width=300,
                help="The model's estimates are about this value; the other counts as 0.",
            )


def _not_offered(frame: pd.DataFrame) -> None:
    """Say which columns the outcome and predictor lists leave out, and why; and which
    cells were read as missing values."""
    for gone in dropped_columns(frame):
        st.info(
            f"Column {gone['position']} of the file was left out: {md(gone['reason'])}.",
            icon=":material/filter_alt:",
        )
    for note in missing_markers(frame):
        marks = ", ".join(f"'{m}'" for m in note.markers)
        st.info(
            f"**{md(note.column)}**: {note.count:,} cells marked {md(marks)} were read as "
            "missing values (the rest of the column is numbers).",
            icon=":material/filter_alt:",
        )
    reasons = [
        r
        for c in frame.columns
        if not can_be_outcome(frame[c]) and (r := not_numeric_reason(frame[c], c)) is not None
    ]
    if reasons:
        st.markdown(
            "**Not offered as outcome or predictor** (they can still be a grouping column or "
            "another fixed effect):\n" + "\n".join(f"- {md(r)}" for r in reasons)
        )


def _preview(sel: Selection) -> None:
    st.subheader("Preview")
    first = sel.frame if sel.big is None else sel.big.data.preview
    n_rows = len(sel.frame) if sel.big is None else sel.big.n_rows
    n_columns = sel.frame.shape[1]
    st.caption(f"First {min(PREVIEW_ROWS, len(first))} of {n_rows:,} rows; {n_columns} columns.")
    st.dataframe(first.head(PREVIEW_ROWS), height=300, hide_index=True)


def _columns(sel: Selection) -> None:
    if sel.big is None:
        render.table(column_overview(sel.frame), "columns", show_index=False)
        return
    try:
        table = big.column_overview(sel.big)
    except ExplorerError as exc:
        show_error(exc)
        return
    render.table(table, "columns", show_index=False)
    st.caption(
        "Missing and distinct values counted over all rows; kinds and examples from "
        f"{big.sample_words(sel.big)}."
    )


def _report(sel: Selection) -> None:
    st.subheader("Validation report")
    try:
        if sel.big is None:
            report = cache.validate(sel.source, sel.roles, sel.frame)
        else:
            report = big.validate(sel.big, sel.roles)
            st.caption(
                f"Counted over all {report.n_rows:,} rows; the cautions about the predictor "
                f"and outcome values are judged on {big.sample_words(sel.big)}."
            )
    except ExplorerError as exc:
        show_error(exc)
        return
    # Sized to their values (not four equal columns) so that "2,000,000" is not cut.
    with st.container(horizontal=True, gap="large"):
        st.metric("Rows", f"{report.n_rows:,}", width="content")
        st.metric("Rows used", f"{report.n_used:,}", width="content")
        st.metric("Rows dropped", f"{report.n_dropped:,}", width="content")
        st.metric("Groups", f"{report.n_groups:,}", width="content")
    if report.n_dropped:
        reasons = ", ".join(f"{md(c)} ({n:,} rows)" for c, n in report.missing_by_column)
        st.info(
            f"{report.n_dropped:,} rows are dropped because a role column is missing or not "
            f"finite in them: {reasons}. A row missing in several columns is counted once in "
            "the total.",
            icon=":material/filter_alt:",
        )
    else:
        st.success("No rows dropped: every row has all role columns.", icon=":material/check:")
    for text in report.warnings:
        st.warning(md(text), icon=":material/warning:")
    sizes = pd.DataFrame(
        {"rows": list(report.group_sizes)},
        index=pd.Index(list(report.group_levels), name=sel.roles.group),
    )
    st.markdown(
        f"Group sizes: smallest {min(report.group_sizes):,}, median "
        f"{int(pd.Series(report.group_sizes).median()):,}, largest {max(report.group_sizes):,}."
    )
    render.table(sizes, "group_sizes", height=250)
