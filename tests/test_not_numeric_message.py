"""Every path that needs a numeric column refuses a text one with the same sentence
(``lib.table.columns.not_numeric_error``): pandas and DuckDB, model, OLS, Explore, roles."""

from __future__ import annotations

import pandas as pd
import pytest

from lib.aggregate import summaries
from lib.aggregate.engines import DuckDBEngine
from lib.aggregate.sqlfit import fit_engine
from lib.errors import DataError, FitError
from lib.explore import groups
from lib.lmm import fit_lmm
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from lib.ols.regressions import fit_ols
from lib.table.columns import not_numeric_error
from lib.table.roles import Roles, check_roles

# Every value of y is text, so each path's example is its first value, 'a'.
FRAME = pd.DataFrame(
    {
        "y": list("abcdefgh"),
        "x": [1.0, 2, 3, 4, 5, 6, 7, 8],
        "t": list("pqpqpqpq"),
        "g": list("aabbccdd"),
    }
)
OUTCOME = str(not_numeric_error("outcome", "y", "'a'"))
SLOPE = str(not_numeric_error("random slope", "t", "'p'"))


def test_the_sentence():
    assert OUTCOME == (
        "The outcome 'y' must be numeric, but it holds text or categories (for example 'a'). "
        "Choose a numeric column."
    )
    assert SLOPE.endswith(
        "Choose a numeric column. A categorical column on the left of '|' is fitted in "
        "memory (--engine pandas), not by the DuckDB/Spark engines."
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: fit_lmm(FRAME, ModelSpec.one_factor("y", "g", ("x",))),
        lambda: fit_engine(DuckDBEngine(FRAME), ModelSpec.one_factor("y", "g", ("x",))),
        lambda: fit_ols(FRAME, "y", ["x"]),
        lambda: groups.group_summary(FRAME, "y", "g"),
        lambda: summaries.group_summary(DuckDBEngine(FRAME), "y", "g"),
        lambda: check_roles(FRAME, Roles("y", "x", "g")),
    ],
    ids=["fit_lmm", "fit_engine", "fit_ols", "group_summary", "duckdb_group_summary", "roles"],
)
def test_text_outcome_gets_the_one_message(call):
    with pytest.raises(DataError) as caught:
        call()
    assert str(caught.value) == OUTCOME


def test_text_random_slope_gets_the_one_message_from_the_sql_engines():
    spec = ModelSpec.one_factor("x", "g", ("t",), random_slopes=("t",))
    with pytest.raises(DataError) as caught:
        fit_engine(DuckDBEngine(FRAME), spec)
    assert str(caught.value) == SLOPE
    # In memory it is lme4's categorical random effect (its dummy tq), which these 8 rows
    # cannot identify: lme4's check.nobs.vs.nRE, counting the dummy.
    assert build_design(FRAME, spec).terms[0].names == ("(Intercept)", "tq")
    with pytest.raises(FitError, match=r"\(1 \+ t \| g\) has 8 random effects"):
        fit_lmm(FRAME, spec)


def test_histogram_names_its_column_alike():
    expected = str(not_numeric_error("histogram column", "y", "'a'"))
    with pytest.raises(DataError) as caught:
        groups.histogram(FRAME, "y")
    assert str(caught.value) == expected
    with pytest.raises(DataError) as caught:
        summaries.histogram(DuckDBEngine(FRAME), "y")
    assert str(caught.value) == expected
