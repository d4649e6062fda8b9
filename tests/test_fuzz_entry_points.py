"""Hypothesis over names and values: lib's entry points give a result or an ExplorerError.

Nothing else may escape (no KeyError, LinAlgError, ...), no RuntimeWarning may
be emitted by a fit, and a fit never silently loses a valid row. Examples are
bounded so the whole file runs in seconds.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib.errors import ExplorerError
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.columns import complete_rows
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


@SETTINGS
@given(st.lists(st.lists(labels, min_size=3, max_size=3), min_size=1, max_size=8), names)
def test_text_tables_with_hostile_cells(rows, header):
    text = "\n".join([f"{header},b,c", *(",".join(r) for r in rows)])
    try:
        load_table(text.encode("utf-8", "surrogatepass"), "t.csv")
    except ExplorerError:
        pass
