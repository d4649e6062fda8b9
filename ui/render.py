"""Turn tables of numbers into formatted, downloadable Streamlit elements.

Cells are written by ``lib.present.numbers.cell`` (the report writes its tables the same
way). Tables are shown with ``st.dataframe`` (which never interprets cell text as HTML or
Markdown) and downloaded unrounded as CSV. Tables and metrics follow the one layout rule of
``ui.layout``: a table too wide for the main column at 1024 px wraps its columns into
blocks that each fit (each repeating the row labels), and metrics are sized to their text
and wrap, so no number is ever cut or scrolled out of sight. Any user-supplied text
(column names, group labels, file names) that goes into Markdown passes through
``lib.present.markdown.md`` first.
"""

from __future__ import annotations

import io
import threading
import zipfile
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import pandas as pd
import pyarrow as pa
import streamlit as st

from lib.present.numbers import cell
from lib.table.export import csv_bytes
from ui import layout, memo, presentation

ROW_PX = 35  # st.dataframe's row height
PRESENT_MAX_ROWS = 40  # presentation mode draws static tables up to this many rows
MEASURED_CELLS = 24  # the longest texts of a column that are measured for its width


def format_table(frame: pd.DataFrame, decimals: int | Mapping[str, int] = 4) -> pd.DataFrame:
    """Strings for display: numbers rounded per column, p-values as R prints them."""
    out = pd.DataFrame(_formatted_columns(frame, decimals), index=[str(i) for i in frame.index])
    out.index.name = frame.index.name
    return out


def _formatted_columns(
    frame: pd.DataFrame, decimals: int | Mapping[str, int]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for column in frame.columns:
        d = decimals.get(column, 4) if isinstance(decimals, Mapping) else decimals
        out[str(column)] = [cell(v, column, d) for v in frame[column].tolist()]
    return out


def shown_table(
    frame: pd.DataFrame, decimals: int | Mapping[str, int] = 4, show_index: bool = True
) -> pa.Table:
    """The table as shown: every cell a formatted string, row labels as a first column.

    An Arrow table of strings goes to ``st.dataframe`` as it is; a pandas frame would be
    converted to Arrow on every run (measured: about a third of the cost of a table).
    """
    columns = _formatted_columns(frame, decimals)
    if show_index:
        label = "" if frame.index.name is None else str(frame.index.name)
        while label in columns:  # a column already has the index's name
            label += " "
        columns = {label: [str(i) for i in frame.index], **columns}
    return pa.table(columns, schema=pa.schema([(name, pa.string()) for name in columns]))


def blocks(shown: pa.Table, labelled: bool, static: bool) -> list[list[str]]:
    """The shown table's columns in blocks that fit the main column (``ui.layout``);
    ``labelled``: the first column names the rows and starts every block."""
    columns = {}
    for name in shown.column_names:
        cells = set(shown.column(name).to_pylist())
        columns[name] = sorted(cells, key=len)[-MEASURED_CELLS:]
    font, room = (
        (layout.STATIC, layout.PRESENT_PX)
        if static
        else (layout.GRID, layout.MAIN_PX - layout.GRID_BORDER_PX)
    )
    label = shown.column_names[0] if labelled else None
    return layout.column_blocks(columns, font, room, label)


def _labelled(frame: pd.DataFrame, show_index: bool) -> bool:
    """Whether the shown table's first column names its rows: the index, or a first
    column of text (a group, a term), which a wrapped table repeats in every block."""
    if show_index:
        return True
    return frame.shape[1] > 1 and not pd.api.types.is_numeric_dtype(frame.iloc[:, 0])


@dataclass(frozen=True)
class Prepared:
    """A table made ready to show: the frame (for the download) and its formatted
    Arrow table, one per block of columns that fits the main column."""

    frame: pd.DataFrame
    parts: tuple[pa.Table, ...]


# Every table shown with a key, formatted once per process (what st.cache_resource held).
PREPARED = memo.KeyedStore(max_entries=512, ttl=3600)


def prepare(
    frame: pd.DataFrame, decimals: int | Mapping[str, int], show_index: bool, static: bool
) -> Prepared:
    """Format ``frame`` for display and wrap its columns into blocks (``ui.layout``)."""
    shown = shown_table(frame, decimals, show_index)
    columns = blocks(shown, _labelled(frame, show_index), static)
    if len(columns) == 1:
        return Prepared(frame, (shown,))
    return Prepared(frame, tuple(shown.select(block) for block in columns))


def table(
    frame: pd.DataFrame | Callable[[], pd.DataFrame],
    name: str,
    *,
    decimals: int | Mapping[str, int] = 4,
    show_index: bool = True,
    caption: str | None = None,
    height: int | None = None,
    download: pd.DataFrame | None = None,
    key: Hashable | None = None,
) -> None:
    """Show a formatted table with a CSV download of the unrounded numbers.

    ``name`` becomes the download's file name and the widget key, so it must be
    unique on the page. ``height`` caps the height of a long table (pixels);
    short tables are as tall as their rows. With ``show_index`` the row labels
    become an ordinary first column: st.dataframe draws an index (and a pinned
    column) in light grey, too faint for a projector.
    ``download`` is the frame to export when the table shows only some of its
    columns (default: ``frame``); its CSV is made on click, with formula-like
    text neutralised (``lib.table.export``).
    ``key``: a small hashable value that determines ``frame``'s content (e.g. the
    data's source id, the model spec and the table's name). With it, the formatted
    table is made once and shared by every session and rerun; a wrong key would show
    another table's numbers, so leave it out when unsure. ``frame`` may then be a
    function that builds it: called only the first time, so a rerun builds no frame
    (the Model page's seven tables cost 2.4 ms a run to build, on every rerun).
    A table wider than the main column is shown as several tables, its columns wrapped
    into blocks that fit (``ui.layout``); the download still holds every column.
    """
    # Presentation mode: a static table whose text CSS can enlarge (st.dataframe draws
    # on a canvas at a fixed size).
    static = presentation.is_on()
    if key is None:
        frame = frame() if callable(frame) else frame
        static = static and len(frame) <= PRESENT_MAX_ROWS
        prepared = prepare(frame, decimals, show_index, static)
    else:
        packed = tuple(sorted(decimals.items())) if isinstance(decimals, Mapping) else decimals

        def make(static: bool = static) -> Prepared:
            built = frame() if callable(frame) else frame
            return prepare(built, decimals, show_index, static and len(built) <= PRESENT_MAX_ROWS)

        prepared = PREPARED.get((key, name, packed, show_index, static), make)
        frame = prepared.frame
        static = static and len(frame) <= PRESENT_MAX_ROWS
    rows_height = ROW_PX * (len(frame) + 1) + 3
    shown_height: int | str = "auto" if height is None or rows_height <= height else height
    for part in prepared.parts:
        if static:
            st.table(part.to_pandas(), hide_index=True)
        else:
            st.dataframe(part, hide_index=True, width="stretch", height=shown_height)
    if caption:
        st.caption(caption)
    exported = frame if download is None else download
    csv_download(
        "Download CSV", partial(csv_bytes, exported, index=show_index), name, f"download_{name}"
    )


@dataclass
class TableDownloads:
    """The CSV files of the tables drawn while ``tables_in_one_download`` is on: their
    names (``<name>.csv``) and functions that make their bytes."""

    files: list[tuple[str, Callable[[], bytes]]] = field(default_factory=list)

    def zip_bytes(self) -> bytes:
        """Every file in one ZIP (made on click)."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for file_name, make in self.files:
                archive.writestr(file_name, make())
        return out.getvalue()


_COLLECTING = threading.local()  # each session's page runs in its own script thread


@contextmanager
def tables_in_one_download() -> Iterator[TableDownloads]:
    """Collect the CSV downloads of the tables drawn inside, for one ZIP button
    (``zip_download``) instead of a button under each: a download button is the dearest
    element of a rerun (~0.35 ms of server CPU for the widget and its registered file, and
    Streamlit's media manager walks every session's files after every run), and the Model
    page's eight of them cost a class flipping a toggle together about a tenth of the
    server's time (issue 17)."""
    collected = TableDownloads()
    previous = getattr(_COLLECTING, "downloads", None)
    _COLLECTING.downloads = collected
    try:
        yield collected
    finally:
        _COLLECTING.downloads = previous


def csv_download(label: str, make: Callable[[], bytes], name: str, key: str) -> None:
    """A CSV download of ``make()`` (deferred: built only when someone clicks, not on
    every rerun of every session), or one more file of the ZIP being collected."""
    collecting = getattr(_COLLECTING, "downloads", None)
    if collecting is not None:
        collecting.files.append((f"{name}.csv", make))
        return
    st.download_button(
        label,
        data=make,
        file_name=f"{name}.csv",
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        type="tertiary",
    )


def zip_download(downloads: TableDownloads, file_name: str, key: str) -> None:
    """One button for the collected tables' CSV files."""
    if not downloads.files:
        return
    st.download_button(
        f"Tables (CSV, {len(downloads.files)} files in a ZIP)",
        data=downloads.zip_bytes,
        file_name=file_name,
        mime="application/zip",
        key=key,
        on_click="ignore",
        icon=":material/folder_zip:",
    )


@dataclass(frozen=True)
class Metric:
    """One key number: its label, its text (already formatted) and an optional help."""

    label: str
    value: str
    help: str | None = None


def metrics(items: Sequence[Metric]) -> None:
    """Key numbers in one wrapping row, each as wide as its text (``ui.layout``): in equal
    columns a third of 449 px cut "1,005.7" to "100…"."""
    with st.container(horizontal=True, gap="medium"):
        for item in items:
            st.metric(item.label, item.value, help=item.help, width="content")


def chart(spec: dict, alt_text: str) -> None:
    """Draw a Vega-Lite spec (``ui.cache.chart_spec``) with the app's fonts (not the
    theme's) and an alt text."""
    spec = presentation.scale_chart(spec)
    # A chart of fixed size (the shrinkage plane, whose arrowheads are aimed for it) keeps
    # it: with "stretch" its width would be replaced by the column's.
    fixed = isinstance(spec.get("width"), int | float)
    st.vega_lite_chart(spec=spec, theme=None, width="content" if fixed else "stretch", alt=alt_text)


def meaning_text(text: str) -> str:
    """The Markdown of the "what this means" line (text must already be escaped), for a
    page that sends it in one element with what follows it."""
    return f":material/lightbulb: **What this means:** {text}"


def meaning(text: str) -> None:
    """The "what this means" line under a panel (text must already be escaped)."""
    st.markdown(meaning_text(text))
