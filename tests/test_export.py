"""CSV downloads neutralise formula-like text (OWASP CSV injection) and keep numbers."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.table.export import FORMULA_START, csv_bytes, neutralise_cell


def read_back(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_formula_like_text_gets_a_quote_prefix():
    for text in ("=cmd|' /C calc'!A0", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "=1"):
        assert neutralise_cell(text) == "'" + text
    for text in ("école", "a=b", " =1", "", "1e5"):
        assert neutralise_cell(text) == text


def test_numbers_stay_numbers():
    assert neutralise_cell(-1.5) == -1.5
    for text in ("-1.5", "+3", "-2e-3", "-.5", "-7"):
        assert neutralise_cell(text) == text  # a label that is a plain number stays one


def test_table_download_bytes():
    frame = pd.DataFrame(
        {'=HYPERLINK("x")': [-1.25, 2.0], "label": ["@evil", "-3"], "n": [1, -2]},
        index=pd.Index(["=1+1", "ok"], name="+g"),
    )
    rows = read_back(csv_bytes(frame))
    assert rows[0] == ["'+g", '\'=HYPERLINK("x")', "label", "n"]
    assert rows[1] == ["'=1+1", "-1.25", "'@evil", "1"]
    assert rows[2] == ["ok", "2.0", "-3", "-2"]


def test_numeric_index_and_missing_values_unchanged():
    frame = pd.DataFrame({"a": [np.nan, -1.0], "b": [None, "=x"]}, index=[-1, 2])
    rows = read_back(csv_bytes(frame))
    assert rows[1] == ["-1", "", ""]
    assert rows[2] == ["2", "-1.0", "'=x"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=6))
def test_no_cell_of_a_download_starts_like_a_formula(labels):
    frame = pd.DataFrame({"label": labels, "value": range(len(labels))})
    for row in read_back(csv_bytes(frame, index=False))[1:]:
        cell = row[0]
        number = cell.lstrip("+-").replace(".", "", 1).replace("e", "", 1).replace("E", "", 1)
        assert not cell.startswith(FORMULA_START) or number.lstrip("+-").isdigit()
