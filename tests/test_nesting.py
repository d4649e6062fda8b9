"""lib.model.nesting: how two grouping factors relate, counted on small frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.model.nesting import (
    candidate_factors,
    coding_pitfalls,
    factor_relation,
    factor_sizes,
    implicit_upper,
    relation_table,
)
from lib.model.spec import CROSSED, NESTED, GroupLevel


def schools_frame() -> pd.DataFrame:
    """5 schools x classes A-C (D only in school 5), 2 pupils per class; class_id unique.

    sex alternates F/M within every class; score is a row number (a float column).
    """
    rows = []
    for s in range(1, 6):
        for c in "ABC" + ("D" if s == 5 else ""):
            for p in range(2):
                rows.append((f"S{s}", c, f"S{s}-{c}", "FM"[p], float(len(rows))))
    return pd.DataFrame(rows, columns=["school", "class", "class_id", "sex", "score"])


def test_reused_class_labels_repeat_across_schools():
    rel = factor_relation(schools_frame(), "class", "school")
    assert (rel.n_rows, rel.n_lower, rel.n_upper, rel.n_cells) == (32, 4, 5, 16)
    assert rel.n_repeated == 3  # A, B and C; D occurs in one school only
    assert (rel.max_spread, rel.example) == (5, "A")
    assert rel.repeats_across_upper and not rel.nested
    assert not rel.crossed  # D is missing from schools 1-4
    assert rel.kind == "partly crossed"
    assert rel.rows_per_cell == pytest.approx(2.0)
    assert rel.likely_implicit_nesting


def test_unique_ids_are_nested():
    rel = factor_relation(schools_frame(), "class_id", "school")
    assert (rel.n_lower, rel.n_upper, rel.n_cells, rel.n_repeated) == (16, 5, 16, 0)
    assert rel.nested and rel.kind == "nested"
    assert rel.example == "" and rel.max_spread == 1
    assert not rel.likely_implicit_nesting


def test_interaction_as_a_factor():
    # class:school is the nested coding: it is nested in school, and class_id in it.
    frame = schools_frame()
    assert factor_relation(frame, ("class", "school"), "school").nested
    rel = factor_relation(frame, "class_id", ("class", "school"))
    assert rel.upper == "class:school" and rel.nested and rel.n_upper == 16


def test_fully_crossed_with_one_row_per_cell_is_not_flagged():
    # Penicillin-like: every sample on every plate, once.
    frame = pd.DataFrame(
        [(p, s, 1.0) for p in "abcde" for s in "ABC"], columns=["plate", "sample", "y"]
    )
    rel = factor_relation(frame, "sample", "plate")
    assert rel.crossed and rel.kind == "crossed" and rel.n_cells == 15 == rel.n_rows
    assert rel.repeats_across_upper and not rel.likely_implicit_nesting
    assert implicit_upper(frame, "sample", ["plate"]) is None


def test_missing_labels_are_left_out_and_errors_are_clear():
    frame = schools_frame()
    frame.loc[0, "class"] = None
    assert factor_relation(frame, "class", "school").n_rows == 31
    with pytest.raises(DataError, match="'nope' is not in the data"):
        factor_relation(frame, "nope", "school")
    empty = pd.DataFrame({"a": [None, "x"], "b": ["y", None]})
    with pytest.raises(DataError, match="No row has values in both 'a' and 'b'"):
        factor_relation(empty, "a", "b")


def test_candidate_factors_skip_ids_and_decimals():
    frame = schools_frame().assign(pupil=lambda f: np.arange(len(f)), year=2000)
    # score has decimals... but whole-number floats; make one non-integral
    frame.loc[0, "score"] = 0.5
    assert candidate_factors(frame) == ("school", "class", "class_id", "sex")
    assert candidate_factors(frame, first=["sex", "missing"], limit=2) == ("sex", "school")


def test_implicit_upper_finds_school_not_sex_or_class_id():
    frame = schools_frame()
    candidates = ["school", "class", "class_id", "sex"]
    rel = implicit_upper(frame, "class", candidates)
    assert rel is not None and rel.upper == "school" and rel.n_cells == 16
    # sex has 2 levels; class_id is a finer coding of class; schools are not nested in classes.
    assert implicit_upper(frame, "class", ["sex", "class_id"]) is None
    assert implicit_upper(frame, "school", candidates) is None


def test_relation_table_and_sizes():
    frame = schools_frame()
    table = relation_table(frame, ["school", "class", "class_id"])
    table = table.set_index(["factor", "other"])
    assert table.loc[("class", "school"), "relation"] == "partly crossed with"
    assert table.loc[("class", "school"), "combinations"] == 16
    assert table.loc[("class", "school"), "labels in several groups"] == 3
    assert table.loc[("class_id", "school"), "relation"] == "nested in"
    assert table.loc[("class_id", "class"), "relation"] == "nested in"
    sizes = factor_sizes(frame, ["school", "class"]).set_index("factor")
    assert sizes.loc["school", "levels"] == 5 and sizes.loc["class", "levels"] == 4
    assert sizes.loc["school", "median rows per level"] == 6.0
    assert sizes.loc["class", "median rows per level"] == 10.0


def test_coding_pitfalls_offer_the_nested_coding():
    frame = schools_frame()
    (pit,) = coding_pitfalls(frame, "school", [GroupLevel("class", CROSSED)])
    assert pit.relation.lower == "class" and pit.relation.upper == "school"
    assert pit.group == "school" and pit.levels == (GroupLevel("class", NESTED),)
    assert coding_pitfalls(frame, "school", [GroupLevel("class")]) == ()
    assert coding_pitfalls(frame, "school", [GroupLevel("class_id", CROSSED)]) == ()
    # A single grouping column with reused labels: make school the top level.
    candidates = candidate_factors(frame)
    (pit,) = coding_pitfalls(frame, "class", (), candidates)
    assert pit.group == "school" and pit.levels == (GroupLevel("class"),)
    assert coding_pitfalls(frame, "school", (), candidates) == ()


def test_coding_pitfalls_below_a_nested_level():
    # pupil labels 1-2 repeat in every class of every school: the level above is class:school.
    frame = pd.concat([schools_frame()] * 2, ignore_index=True)
    frame["pupil"] = np.tile(np.repeat([1, 2], 1), len(frame) // 2)
    levels = [GroupLevel("class"), GroupLevel("pupil", CROSSED)]
    (pit,) = coding_pitfalls(frame, "school", levels)
    assert pit.relation.upper == "class:school"
    assert pit.levels == (GroupLevel("class"), GroupLevel("pupil"))
