"""lib.table.outcome_kind: which family an outcome column suggests, and its success level."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.table.outcome_kind import (
    binary_outcome,
    outcome_columns,
    outcome_kind,
    with_binary_outcome,
)


def test_zero_one_column_is_binary_with_no_success_to_choose():
    kind = outcome_kind(pd.DataFrame({"pass": [0, 1, 1, 0, np.nan]}), "pass")
    assert (kind.kind, kind.zero_one, kind.numeric) == ("binary", True, True)
    assert kind.suggested_family == "binomial"
    assert kind.default_success is None and not kind.needs_success


def test_true_false_column_orders_false_first_as_r():
    kind = outcome_kind(pd.DataFrame({"passed": [True, False, True]}), "passed")
    assert kind.levels == ("FALSE", "TRUE")
    assert kind.default_success == "TRUE" and kind.needs_success and not kind.numeric


def test_two_text_values_take_glmers_second_level_as_success():
    kind = outcome_kind(pd.DataFrame({"r": ["pass", "fail", "pass"]}), "r")
    assert kind.levels == ("fail", "pass") and kind.default_success == "pass"


def test_counts_and_measurements():
    counts = pd.DataFrame({"ticks": [0, 0, 1, 3, 2, 8, 40, 0]})
    assert outcome_kind(counts, "ticks").suggested_family == "poisson"
    scores = pd.DataFrame({"score": [41.5, 50.2, 38.0]})
    assert outcome_kind(scores, "score").suggested_family == "gaussian"
    # Whole numbers that are mostly large (test marks 60-100) are not taken for counts.
    marks = pd.DataFrame({"mark": [60, 72, 85, 91, 100]})
    assert outcome_kind(marks, "mark").kind == "measurement"
    text = pd.DataFrame({"colour": ["red", "green", "blue"]})
    assert outcome_kind(text, "colour").suggested_family is None


def test_binary_outcome_codes_the_success_level_as_one():
    series = pd.Series(["Y", "N", None, "Y"], name="use")
    np.testing.assert_array_equal(binary_outcome(series, "Y"), [1.0, 0.0, np.nan, 1.0])
    np.testing.assert_array_equal(binary_outcome(series, "N"), [0.0, 1.0, np.nan, 0.0])
    booleans = pd.Series([True, False], name="ok")
    np.testing.assert_array_equal(binary_outcome(booleans, "TRUE"), [1.0, 0.0])


def test_binary_outcome_refuses_three_values_and_an_unknown_level():
    with pytest.raises(DataError, match="has 3 values"):
        binary_outcome(pd.Series(["a", "b", "c"], name="y"), "a")
    with pytest.raises(DataError, match="'maybe' is not a value"):
        binary_outcome(pd.Series(["Y", "N"], name="y"), "maybe")


def test_with_binary_outcome_leaves_zero_one_alone_and_recodes_text():
    zero_one = pd.DataFrame({"y": [0, 1]})
    assert with_binary_outcome(zero_one, "y", None) is zero_one
    flipped = with_binary_outcome(zero_one, "y", "0")
    assert flipped["y"].tolist() == [1.0, 0.0]
    text = pd.DataFrame({"y": ["N", "Y", "Y"]})
    assert with_binary_outcome(text, "y", None)["y"].tolist() == [0.0, 1.0, 1.0]


def test_outcome_columns_offer_numeric_then_two_valued():
    frame = pd.DataFrame(
        {"g": ["a", "b", "c"], "use": ["Y", "N", "Y"], "x": [1.0, 2.0, 3.0], "ok": [True] * 3}
    )
    # ok has one value: it cannot be an outcome.
    assert outcome_columns(frame) == ("x", "use")
