"""Hypothesis over names and values: lib's entry points give a result or an ExplorerError.

Nothing else may escape (no KeyError, LinAlgError, ...), no RuntimeWarning may
be emitted by a fit, and a fit never silently loses a valid row. Examples are
bounded so the whole file runs in seconds.
"""

from __future__ import annotations

import csv
import html
import io
import re
import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.errors import ExplorerError
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.present.markdown import md
from lib.present.report import table_html
from lib.table.columns import complete_rows
from lib.table.export import _PLAIN_NUMBER, FORMULA_START, csv_bytes, neutralise_cell
from lib.table.read import load_table
from lib.table.roles import Roles, guess_roles
from lib.table.validate import validate

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
names = st.text(min_size=1, max_size=20).filter(lambda s: s.strip() == s and s != "")
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1.0, -1.0, 1e300, -1e300, 1e-300, 5.0]),
)
labels = st.one_of(
    st.text(max_size=8), st.sampled_from(["=1+1", "__import__('os')", "<b>", "", "NA"])
)


@st.composite
def frames(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    y, x, g = draw(st.lists(names, min_size=3, max_size=3, unique=True))
    data = {
        y: draw(st.lists(values, min_size=n, max_size=n)),
        x: draw(st.lists(values, min_size=n, max_size=n)),
        g: draw(st.lists(labels, min_size=n, max_size=n)),
    }
    return pd.DataFrame(data), y, x, g


@SETTINGS
@given(frames(), st.booleans(), st.booleans())
def test_fit_lmm_gives_a_fit_or_a_clear_error(case, slope, reml):
    frame, y, x, g = case
    spec = ModelSpec.one_factor(
        outcome=y, group=g, fixed=(x,), random_slopes=(x,) if slope else (), reml=reml
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            fit = fit_lmm(frame, spec)
        except ExplorerError as exc:
            assert str(exc).strip()
            return
    complete, dropped = complete_rows(frame, [y, x, g])
    assert fit.nobs == len(complete) and fit.n_dropped == dropped
    assert np.isfinite(fit.criterion)


@SETTINGS
@given(frames())
def test_validate_and_guess_roles_give_a_report_or_a_clear_error(case):
    frame, y, x, g = case
    for call in (lambda: validate(frame, Roles(y, x, g)), lambda: guess_roles(frame)):
        try:
            call()
        except ExplorerError as exc:
            assert str(exc).strip()


@SETTINGS
@given(st.binary(max_size=400), st.sampled_from([".csv", ".tsv", ".txt", ".xlsx", ".parquet"]))
def test_load_table_gives_a_frame_or_a_clear_error(content, ext):
    try:
        frame = load_table(content, "upload" + ext)
    except ExplorerError as exc:
        assert str(exc).strip()
        return
    assert frame.shape[0] >= 1 and frame.shape[1] >= 1


HOSTILE = (
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "`rm -rf ~`",
    "two\nlines",
    "carriage\rreturn",  # once written unquoted, which split the downloaded row
    "@SUM(A1)",
    "+1+2",
    "**bold** [x](javascript:alert(1))",
)
_OUR_TAGS = re.compile(r"</?(table|tr|th|td)>")
_MD_SPECIAL = "\\`*_{}[]()<>#+-.!|~$&:"


def _text_cells(frame: pd.DataFrame) -> list[str]:
    """Every text cell and column name of a frame."""
    cells = [str(c) for c in frame.columns]
    for column in frame.columns:
        cells += [v for v in frame[column].tolist() if isinstance(v, str)]
    return cells


def _assert_neutralised(frame: pd.DataFrame) -> None:
    """Each output a cell can reach (CSV download, HTML report, Markdown) shows it inert."""
    exported = list(csv.reader(io.StringIO(csv_bytes(frame, index=False).decode("utf-8"))))
    assert exported[0] == [str(neutralise_cell(str(c))) for c in frame.columns]
    for row in exported:
        for value in row:  # no cell a spreadsheet would run as a formula
            assert not value.startswith(FORMULA_START) or _PLAIN_NUMBER.match(value), value
    for k, column in enumerate(frame.columns):
        written_cells = [r[k] for r in exported[1:]]
        for value, written in zip(frame[column].tolist(), written_cells, strict=True):
            if isinstance(value, str):
                assert written == neutralise_cell(value)
    page = table_html(frame, show_index=False)
    assert "<" not in _OUR_TAGS.sub("", page) and ">" not in _OUR_TAGS.sub("", page)
    for value in _text_cells(frame):
        assert html.escape(value) in page
        shown = md(value)
        assert "\n" not in shown and "\r" not in shown
        bare = re.sub(r"\\.", "", shown)  # what is left once every escape pair is removed
        assert not any(ch in _MD_SPECIAL for ch in bare), shown
        assert re.sub(r"\\(.)", r"\1", shown) == re.sub(r"\r\n|\r|\n", " ", value)


def test_hostile_cells_are_neutralised_in_every_output():
    buffer = io.StringIO()
    csv.writer(buffer).writerows([("<b>name</b>", "=x"), *((h, k) for k, h in enumerate(HOSTILE))])
    frame = load_table(buffer.getvalue().encode(), "t.csv")
    assert frame.iloc[:, 0].tolist() == list(HOSTILE)  # the cells arrive as typed
    _assert_neutralised(frame)
    exported = csv_bytes(frame, index=False).decode("utf-8")
    assert "'=cmd|' /C calc'!A0" in exported and "'@SUM(A1)" in exported
    assert "'+1+2" in exported and "'=x" in exported
    page = table_html(frame, show_index=False)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert "<th>&lt;b&gt;name&lt;/b&gt;</th>" in page
    assert md("`rm -rf ~`") == "\\`rm \\-rf \\~\\`"
    assert md("two\nlines") == "two lines" == md("two\rlines")
    assert '"carriage\rreturn"' in exported  # quoted: the row stays one row
    assert md("<script>") == "\\<script\\>"


@SETTINGS
@given(
    st.lists(
        st.lists(st.one_of(labels, st.sampled_from(HOSTILE)), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    ),
    names.filter(lambda s: s not in ("b", "c")),
)
def test_text_tables_with_hostile_cells(rows, header):
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # quoted: commas, quotes and line breaks stay in their cell
    writer.writerow([header, "b", "c"])
    writer.writerows(rows)
    try:
        frame = load_table(buffer.getvalue().encode("utf-8", "surrogatepass"), "t.csv")
    except ExplorerError as exc:
        assert str(exc).strip()
        return
    _assert_neutralised(frame)
