"""lib.model.nesting: how two grouping factors relate, counted on small frames and on real
data whose labels restart within groups (mlmRev Exam, nlme Oxboys, lme4 Pastes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.model.nesting import (
    FEWER_LABELS,
    LEVEL_ATTRIBUTES,
    UNIQUE_LABELS,
    Factors,
    candidate_factors,
    coding_pitfalls,
    factor_relation,
    factor_sizes,
    finer_factor,
    implicit_upper,
    level_attributes,
    orient,
    relation_table,
)
from lib.model.spec import CROSSED, NESTED, GroupLevel
from lib.table.catalogue import load_bundled


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


# Real data with labels that restart within groups (tests/reference/classroom_data.R).
REFERENCE_DATA = Path(__file__).parent / "reference" / "data"


@pytest.fixture(scope="module")
def exam() -> pd.DataFrame:
    """mlmRev's Exam: 4,059 pupils, 65 schools, pupil numbers restarting in every school."""
    return pd.read_csv(REFERENCE_DATA / "classroom_exam.csv")


@pytest.fixture(scope="module")
def oxboys() -> pd.DataFrame:
    """nlme's Oxboys: 26 boys, Occasion 1-9 within every Subject, one row each."""
    return pd.read_csv(REFERENCE_DATA / "classroom_oxboys.csv")


def test_exam_student_numbers_restart_within_school(exam):
    found = orient(exam, "school", "student")
    rel = found.relation
    # The counts R prints (classroom_data.R): 65 schools, 650 numbers, 4,055 combinations.
    assert (rel.lower, rel.upper) == ("student", "school")
    assert (rel.n_lower, rel.n_upper, rel.n_cells) == (650, 65, 4055)
    # More numbers than schools: "fewer labels" alone would put school below student.
    assert found.rule == LEVEL_ATTRIBUTES
    assert set(found.upper_attributes) == {"schgend", "schavg", "vr", "type"}
    assert found.lower_attributes == ()
    assert orient(exam, "student", "school").relation.lower == "student"  # either order


def test_exam_advice_nests_student_in_school(exam):
    candidates = candidate_factors(exam, first=["school"])
    assert "student" in candidates and "schgend" in candidates
    # School alone pools nothing: no advice (it used to say school is nested in student).
    assert coding_pitfalls(exam, "school", (), candidates) == ()
    # Student alone pools pupil 20 of 34 schools: make school the top, student in it.
    (pit,) = coding_pitfalls(exam, "student", (), candidates)
    assert (pit.relation.lower, pit.relation.upper) == ("student", "school")
    assert pit.group == "school" and pit.levels == (GroupLevel("student", NESTED),)
    assert pit.relation.n_cells == 4055 and pit.relation.max_spread == 34
    # Coded as crossed under school: nest it. Under student: swap, the same coding.
    (pit,) = coding_pitfalls(exam, "school", [GroupLevel("student", CROSSED)], candidates)
    assert pit.group == "school" and pit.levels == (GroupLevel("student", NESTED),)
    (pit,) = coding_pitfalls(exam, "student", [GroupLevel("school", CROSSED)], candidates)
    assert pit.group == "school" and pit.levels == (GroupLevel("student"),)
    assert pit.relation.lower == "student"


def test_exam_school_attributes_draw_no_advice(exam):
    candidates = candidate_factors(exam, first=["school"])
    # schgend and vr are constant within school: 9 combinations of 65 schools.
    rel = factor_relation(exam, "schgend", "vr")
    assert rel.likely_implicit_nesting and rel.n_cells == 9  # what used to fire
    assert finer_factor(exam, rel, candidates) == "school"
    for group in ("schgend", "vr"):
        assert coding_pitfalls(exam, group, (), candidates) == ()
    assert coding_pitfalls(exam, "schgend", [GroupLevel("vr", CROSSED)], candidates) == ()
    # vr also describes schools against the pupils' own intake band.
    assert finer_factor(exam, factor_relation(exam, "vr", "intake"), candidates) == "school"


def test_exam_level_attributes(exam):
    attrs = level_attributes(exam, ["school", "schgend", "student"])
    assert set(attrs["school"]) == {"schgend", "schavg", "vr", "type"}
    assert attrs["schgend"] == ("type",)  # mixed schools are Mxd, boys' and girls' Sngl
    assert attrs["student"] == ()


def test_exam_relation_table_lists_student_below_school(exam):
    table = relation_table(exam, ["school", "student", "schgend"]).set_index(["factor", "other"])
    row = table.loc[("student", "school")]
    assert row["relation"] == "partly crossed with" and row["order by"] == LEVEL_ATTRIBUTES
    assert row["combinations"] == 4055 and row["labels in several groups"] == 322
    assert table.loc[("school", "schgend"), "order by"] == UNIQUE_LABELS


def test_oxboys_occasion_lies_within_subject(oxboys):
    found = orient(oxboys, "Subject", "Occasion")
    rel = found.relation
    assert (rel.lower, rel.upper, found.rule) == ("Occasion", "Subject", FEWER_LABELS)
    assert (rel.n_lower, rel.n_upper, rel.n_cells, rel.n_rows) == (9, 26, 234, 234)
    # One measurement per (Subject, Occasion): the nested coding would be the rows
    # themselves, so neither a crossed Occasion level nor Occasion alone draws advice.
    assert rel.crossed and not rel.likely_implicit_nesting
    candidates = candidate_factors(oxboys)
    assert candidates == ("Subject", "Occasion")
    assert coding_pitfalls(oxboys, "Subject", [GroupLevel("Occasion", CROSSED)], candidates) == ()
    assert coding_pitfalls(oxboys, "Occasion", (), candidates) == ()
    assert coding_pitfalls(oxboys, "Subject", (), candidates) == ()


def test_pastes_casks_within_batches():
    frame = load_bundled("pastes")
    found = orient(frame, "batch", "cask")
    assert (found.relation.lower, found.rule) == ("cask", FEWER_LABELS)
    (pit,) = coding_pitfalls(frame, "cask", (), candidate_factors(frame))
    assert pit.group == "batch" and pit.levels == (GroupLevel("cask"),)
    assert pit.relation.n_cells == 30 and pit.relation.rows_per_cell == 2.0
    # `sample` is the nested coding itself (30 groups), not a finer factor.
    assert finer_factor(frame, pit.relation, ["sample"]) is None


def test_implicit_upper_prefers_the_finest_level_above():
    # Pupils numbered 1-2 in every class, two rows each: the numbers restart within
    # class_id, so class_id is the level above, not school or the class label it lies in
    # (those give fewer combinations, which the old rule preferred).
    frame = pd.concat([schools_frame()] * 2, ignore_index=True)
    frame["pupil"] = np.tile([1, 2], len(frame) // 2)
    rel = implicit_upper(frame, "pupil", ["school", "class", "class_id"])
    assert rel is not None and rel.upper == "class_id" and rel.n_cells == 32
    assert factor_relation(frame, "pupil", "class").n_cells == 8


def test_factors_code_once_and_count_as_the_frame_does():
    frame = schools_frame()
    frame.loc[0, "class"] = None
    frame.loc[3, "school"] = None
    coded = Factors(frame)
    for low, up in (("class", "school"), ("school", "sex"), ("sex", "class_id")):
        rel = coded.relation(low, up)
        rows = frame.dropna(subset=[low, up])  # counted independently, by pandas
        spread = rows.groupby(low)[up].nunique()
        assert (rel.n_rows, rel.n_cells) == (len(rows), len(rows.drop_duplicates([low, up])))
        assert (rel.n_lower, rel.n_upper) == (rows[low].nunique(), rows[up].nunique())
        assert (rel.n_repeated, rel.max_spread) == ((spread > 1).sum(), spread.max())
    assert coded.relation("class", "school").n_rows == 30
    assert coded.relation("class", "school") is coded.relation("class", "school")  # memoised
    codes, levels = coded.codes(("class",))
    assert codes[0] == -1 and levels == ("A", "B", "C", "D")
