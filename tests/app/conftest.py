"""Shared AppTest helper: open a page of the real app (multipage, from app.py)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60  # seconds: AppTest's default of 3 s is too short for fits


def open_app(page: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """Run ``page`` (e.g. ``"pages/3_Model.py"``) as a fresh session with URL ``query``."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    if page is not None:
        at.switch_page(page)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


@pytest.fixture
def open_page() -> Callable[..., AppTest]:
    return open_app


def plain(text: str) -> str:
    """Undo the Markdown escaping of user text (``lib.present.markdown.md``) for assertions."""
    return re.sub(r"\\(.)", r"\1", text)


def frame_with(at: AppTest, column: str):
    """The first st.dataframe on the page that has ``column``."""
    for element in at.dataframe:
        if column in element.value.columns:
            return element.value
    raise AssertionError(f"no table with column {column!r}")


def labelled(frame):
    """A shown table indexed by its first column: ``ui.render.table`` shows row labels as
    an ordinary (pinned) column rather than as st.dataframe's faint grey index."""
    return frame.set_index(frame.columns[0])


def whole_table(at: AppTest, column: str):
    """The table holding ``column``, its blocks joined: ``ui.render.table`` wraps a table too
    wide for the main column into consecutive tables that repeat the row-label column."""
    frames = [element.value for element in at.dataframe]
    k = next((i for i, f in enumerate(frames) if column in f.columns), None)
    if k is None:
        raise AssertionError(f"no table with column {column!r}")

    def same_rows(other) -> bool:
        first = frames[k].iloc[:, 0]
        return other.columns[0] == frames[k].columns[0] and other.iloc[:, 0].equals(first)

    start, stop = k, k + 1
    while start > 0 and same_rows(frames[start - 1]):
        start -= 1
    while stop < len(frames) and same_rows(frames[stop]):
        stop += 1
    parts = [frames[start]] + [f.iloc[:, 1:] for f in frames[start + 1 : stop]]
    return labelled(pd.concat([p.reset_index(drop=True) for p in parts], axis=1))
