"""The layout rule (ui.layout, ui.render): tables wrap their columns into blocks that fit
the 449 px column, each block repeating the row labels; metrics wrap at their own width."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import whole_table
from streamlit.testing.v1 import AppTest

from ui import layout, render

# Column widths measured in chromium with the app's theme (st.dataframe, baseFontSize 20):
# one cell of each text in a 40 px wide grid, the grid's scrollWidth.
MEASURED_PX = {
    "1": 63,
    "12345": 64,
    "1,234.5678": 99,
    "Std. Error": 89,
    "mmmmmmmmmm": 166,
    "iiiiiiiiii": 64,
    "Random intercept and slope": 227,
}
ROOM = layout.MAIN_PX - layout.GRID_BORDER_PX


@pytest.mark.parametrize(("text", "measured"), MEASURED_PX.items())
def test_column_widths_are_never_underestimated(text, measured):
    estimate = layout.GRID.column_px("x", [text])
    assert measured <= estimate <= measured + 6


def test_a_table_that_fits_stays_whole():
    columns = {"": ["(Intercept)", "study_time"], "Estimate": ["27.7620", "1.9494"]}
    assert layout.column_blocks(columns, layout.GRID, ROOM, label="") == [["", "Estimate"]]


def test_a_wide_table_wraps_into_balanced_blocks_that_fit():
    labels = ["Random intercept", "Intercept + slope"]
    numbers = {f"column {k}": ["1,234.5678", "-0.0001"] for k in range(7)}
    columns = {"model": labels, **numbers}
    blocks = layout.column_blocks(columns, layout.GRID, ROOM, label="model")
    assert [b[0] for b in blocks] == ["model"] * len(blocks)  # labels in every block
    assert sum(len(b) - 1 for b in blocks) == 7  # every column once, in order
    assert [c for b in blocks for c in b[1:]] == list(numbers)
    sizes = [len(b) - 1 for b in blocks]
    assert max(sizes) - min(sizes) <= 1  # balanced: not six and one
    for block in blocks:
        assert sum(layout.GRID.column_px(c, columns[c]) for c in block) <= ROOM


def test_a_column_too_wide_to_share_stands_alone_with_the_labels():
    columns = {"g": ["a"], "long": ["x" * 80], "n": ["1"]}
    assert layout.column_blocks(columns, layout.GRID, ROOM, label="g") == [
        ["g", "long"],
        ["g", "n"],
    ]


def _table_app(present: bool) -> AppTest:
    def script() -> None:
        import numpy as np
        import pandas as pd
        import streamlit as st

        from ui import render

        if st.session_state.get("present"):
            st.session_state["_present"] = True
        frame = pd.DataFrame(
            np.arange(24.0).reshape(3, 8) * 1234.5678,
            index=pd.Index(["Hillcrest", "Oakwood", "St Mary’s"], name="school"),
            columns=[f"statistic {k}" for k in range(8)],
        )
        render.table(frame, "wide")
        render.metrics([render.Metric("BIC (REML)", "1,005.7"), render.Metric("n", "183")])

    at = AppTest.from_function(script, default_timeout=30)
    at.session_state["present"] = present
    return at.run()


def test_render_table_shows_a_wide_table_in_blocks_with_the_labels_repeated():
    at = _table_app(present=False)
    assert not at.exception
    assert len(at.dataframe) > 1
    for block in at.dataframe:
        assert block.value.columns[0] == "school"
        assert block.value["school"].tolist() == ["Hillcrest", "Oakwood", "St Mary’s"]
    joined = whole_table(at, "statistic 0")
    assert list(joined.columns) == [f"statistic {k}" for k in range(8)]
    assert joined.loc["Oakwood", "statistic 7"] == f"{15 * 1234.5678:,.4f}"
    assert len(at.get("download_button")) == 1  # one CSV with every column
    assert [m.value for m in at.metric] == ["1,005.7", "183"]


def test_presentation_tables_have_no_empty_index_column():
    at = _table_app(present=True)
    assert not at.exception
    assert len(at.table) > 1 and not at.dataframe
    for block in at.table:
        assert block.value.columns[0] == "school"  # the labels are an ordinary column
        assert block.proto.hide_index  # and st.table draws no (blank) index before them


def test_first_text_column_is_repeated_without_an_index():
    frame = pd.DataFrame(
        {"school": ["A", "B"], **{f"value {k}": np.arange(2.0) * 1e4 for k in range(8)}}
    )
    shown = render.shown_table(frame, show_index=False)
    assert render.blocks(shown, render._labelled(frame, False), static=False)[1][0] == "school"
    numbers = frame.drop(columns="school")
    assert not render._labelled(numbers, False)
