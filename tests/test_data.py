"""lib.table (read, roles, validate, catalogue): uploads, role guesses, validation, bundled data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, ExplorerError
from lib.table.catalogue import BUNDLED, DEFAULT_DATASET, load_bundled
from lib.table.read import MAX_COLUMNS, dropped_columns, load_table
from lib.table.roles import Roles, guess_roles, numeric_columns
from lib.table.validate import column_overview, validate


def _grouped(n_groups: int = 4, per_group: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for g in range(n_groups):
        for i in range(per_group):
            x = float(i)
            rows.append({"school": f"S{g}", "hours": x, "score": 10 + g + 2 * x + rng.normal()})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- loading


def test_csv_round_trip_keeps_values_and_names():
    frame = _grouped()
    loaded = load_table(frame.to_csv(index=False).encode(), "my data.csv")
    pd.testing.assert_frame_equal(loaded, frame)


def test_semicolon_csv_with_decimal_comma():
    loaded = load_table(b"g;x;y\na;1,5;2\nb;2,5;3\n", "eu.csv")
    assert list(loaded.columns) == ["g", "x", "y"]
    assert loaded["x"].tolist() == [1.5, 2.5]


def test_tab_separated_and_utf8_bom_and_latin1():
    loaded = load_table("\ufeffg\tx\na\t1\nb\t2\n".encode(), "t.tsv")
    assert list(loaded.columns) == ["g", "x"]
    latin = "école;x\nà;1\nè;2\n".encode("latin-1")
    assert list(load_table(latin, "l.csv").columns) == ["école", "x"]


def test_r_row_names_are_dropped():
    text = '"y","g"\n"1",1.5,"a"\n"2",2.5,"b"\n'
    loaded = load_table(text.encode(), "r.csv")
    assert list(loaded.columns) == ["y", "g"]
    assert loaded["y"].tolist() == [1.5, 2.5]


def test_excel_round_trip():
    frame = _grouped()
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    loaded = load_table(buffer.getvalue(), "book.xlsx")
    assert list(loaded.columns) == list(frame.columns)
    assert pd.api.types.is_numeric_dtype(loaded["score"])
    np.testing.assert_allclose(loaded["score"], frame["score"])


def test_parquet_round_trip():
    frame = _grouped()
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    pd.testing.assert_frame_equal(load_table(buffer.getvalue(), "d.parquet"), frame)


@pytest.mark.parametrize(
    ("content", "name", "fragment"),
    [
        (b"", "empty.csv", "is empty (0 bytes)"),
        (b"  \n \n", "blank.csv", "only blank space"),
        (b"a,b\n", "header.csv", "no data rows"),
        (b"a,b,a\n1,2,3\n", "dup.csv", "duplicate column names: 'a'"),
        (b";;;\n", "semi.csv", "the first row should hold column names; found only empty"),
        (b";;;\n1;2;3;4\n", "semi.csv", "found only empty names (split at ';')"),
        (b"a,,c,\n1,2,3,4\n", "gaps.csv", "found empty names in columns 2 and 4 of 4"),
        (b'\x00\xff garbage ;;; "unterminated\n', "garbage.csv", "holds binary data"),
        (b"{}", "data.json", "unsupported file type (.json)"),
        (b"a,b\n1,2", "noext", "unsupported file type (no extension)"),
        (b"a,b\n1,2\n1,2,3\n", "ragged.csv", "could not be read"),
        (b"a,b\n1,2,3,4\n", "wide.csv", "more fields than its header"),
        (b"not a zip", "bad.xlsx", "could not be read as an Excel workbook"),
        (b"garbage!", "bad.parquet", "could not be read as a Parquet file"),
    ],
)
def test_load_errors_name_the_file_and_the_problem(content, name, fragment):
    with pytest.raises(DataError) as info:
        load_table(content, name)
    assert fragment in str(info.value)
    assert isinstance(info.value, ExplorerError)


def test_blank_first_name_is_r_row_names_not_an_error():
    frame = load_table(b'"","a","b"\n"1",2,3\n"2",4,5\n', "r.csv")
    assert frame.shape == (2, 3)


def test_many_columns_are_read_the_app_shows_max_columns():
    """A survey export with 5,004 columns is an ordinary file: no limit on reading."""
    width = 5_004
    header = ",".join(f"c{i}" for i in range(width))
    frame = load_table((header + "\n" + ",".join("1" * width) + "\n").encode(), "w.csv")
    assert frame.shape == (1, width) and MAX_COLUMNS == 500
    some = load_table(
        (header + "\n" + ",".join("1" * width) + "\n").encode(), "w.csv", columns=["c7", "c4000"]
    )
    assert list(some.columns) == ["c7", "c4000"]


def test_trailing_separator_on_every_line_drops_an_empty_unnamed_column():
    content = b"a;b;c;d;\n1;2;3;4;\n5;6;7;8;\n"
    frame = load_table(content, "t.csv")
    assert list(frame.columns) == ["a", "b", "c", "d"]
    assert frame["d"].tolist() == [4, 8]
    assert dropped_columns(frame) == [
        {"position": 5, "reason": "no name and no values (every line ends with ';')"}
    ]
    assert dropped_columns(load_table(b"a,b\n1,2\n", "plain.csv")) == []


def test_a_blank_last_name_over_values_is_still_refused():
    with pytest.raises(DataError, match="found empty names in column 5 of 5"):
        load_table(b"a,b,c,d,\n1,2,3,4,\n5,6,7,8,9\n", "t.csv")


def test_parquet_reads_only_the_columns_asked_for(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": [3, 4]}).to_parquet(path)
    frame = load_table(path.read_bytes(), "t.parquet", columns=["c", "a"])
    assert list(frame.columns) == ["a", "c"]


def test_too_many_rows(monkeypatch):
    monkeypatch.setattr("lib.table.read.MAX_ROWS", 3)
    with pytest.raises(DataError, match="rows; the limit is 3"):
        load_table(b"a\n1\n2\n3\n4\n", "long.csv")


def test_duplicate_names_in_excel_are_refused():
    buffer = io.BytesIO()
    pd.DataFrame([["x", "x"], [1, 2]]).to_excel(buffer, index=False, header=False)
    with pytest.raises(DataError, match="duplicate column names"):
        load_table(buffer.getvalue(), "dup.xlsx")


# ---------------------------------------------------------------- roles


def test_guess_roles_prefers_names_and_text_groups():
    roles = guess_roles(_grouped())
    assert roles == Roles(outcome="score", predictor="hours", group="school")


def test_guess_roles_numeric_id_group():
    frame = _grouped().assign(school=lambda d: d["school"].str[1:].astype(int) + 100)
    frame = frame.rename(columns={"school": "subject_id"})
    assert guess_roles(frame).group == "subject_id"


def test_guess_roles_for_bundled_sets_match_the_registry():
    for key, entry in BUNDLED.items():
        # Multilevel sets name their levels in the registry: a guess picks one group only.
        # A two-valued text outcome (contraception's use: Y/N) is the registry's choice; a
        # guess takes numeric outcomes only.
        if not entry.path.is_file() or entry.roles.levels or entry.key == "contraception":
            continue
        roles = guess_roles(load_bundled(key))
        assert (roles.outcome, roles.predictor, roles.group) == (
            entry.roles.outcome,
            entry.roles.predictor,
            entry.roles.group,
        ), key


def test_guess_roles_without_numeric_column():
    with pytest.raises(DataError, match="no numeric column"):
        guess_roles(pd.DataFrame({"a": ["x", "y"], "b": ["u", "v"]}))


def test_numeric_columns_excludes_booleans():
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": [True, False], "c": ["x", "y"]})
    assert numeric_columns(frame) == ("a",)


# ---------------------------------------------------------------- validation


def test_report_counts_dropped_rows_per_column():
    frame = _grouped()
    frame.loc[0, "score"] = np.nan
    frame.loc[1, "hours"] = np.inf
    frame.loc[2, "school"] = None
    report = validate(frame, Roles("score", "hours", "school"))
    assert report.n_rows == 20
    assert report.n_used == 17
    assert report.n_dropped == 3
    assert dict(report.missing_by_column) == {"score": 1, "hours": 1, "school": 1}
    assert report.group_levels == ("S0", "S1", "S2", "S3")
    assert report.group_sizes == (2, 5, 5, 5)


def test_few_groups_warning():
    report = validate(_grouped(n_groups=3), Roles("score", "hours", "school"))
    assert report.n_groups == 3
    assert any(w.startswith("Only 3 groups") and "imprecise" in w for w in report.warnings)


def test_many_groups_no_warning():
    report = validate(_grouped(n_groups=12), Roles("score", "hours", "school"))
    assert report.warnings == ()


def test_singleton_groups_and_row_id_warnings():
    frame = pd.DataFrame({"y": np.arange(8.0), "x": np.arange(8.0) ** 2, "g": list("aabcdefg")})
    report = validate(frame, Roles("y", "x", "g"))
    text = " ".join(report.warnings)
    assert "6 of 7 groups have a single row" in text
    assert "really a grouping column" in text


def test_numeric_group_levels_sort_numerically():
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4, 5, 6], "g": [10, 2, 10, 2, 1, 1]})
    report = validate(frame, Roles("y", None, "g"))
    assert report.group_levels == ("1", "2", "10")
    assert report.group_sizes == (2, 2, 2)


@pytest.mark.parametrize(
    ("roles", "fragment"),
    [
        (Roles("school", "hours", "score"), "outcome 'school' must be numeric"),
        (Roles("score", "school", "hours"), "predictor 'school' must be numeric"),
        (Roles("score", "hours", "nope"), "'nope' is not in the data"),
    ],
)
def test_validate_errors(roles, fragment):
    with pytest.raises(DataError, match=fragment):
        validate(_grouped(), roles)


def test_validate_needs_two_groups():
    frame = _grouped(n_groups=1)
    with pytest.raises(DataError, match="at least 2 groups"):
        validate(frame, Roles("score", "hours", "school"))


def test_validate_no_complete_rows():
    frame = _grouped().assign(score=np.nan)
    with pytest.raises(DataError, match="No row has a value"):
        validate(frame, Roles("score", "hours", "school"))


# ---------------------------------------------------------------- registry


def test_registry_files_and_roles_exist():
    assert DEFAULT_DATASET in BUNDLED
    for key, entry in BUNDLED.items():
        if key == "schools" and not entry.path.is_file():
            pytest.skip("data/schools.csv is written by data/make_schools.py")
        frame = load_bundled(key)
        for column in entry.roles.columns:
            assert column in frame.columns, (key, column)
        assert entry.description and entry.provenance


def test_dietox_and_grunfeld_shapes():
    dietox = load_bundled("dietox")
    assert dietox.shape == (861, 7)
    assert dietox["Pig"].nunique() == 72
    assert int(dietox["Feed"].isna().sum()) == 72
    grunfeld = load_bundled("grunfeld")
    assert grunfeld.shape == (220, 5)
    assert grunfeld["firm"].nunique() == 11


def test_roles_list_every_grouping_column():
    roles = BUNDLED["pupils"].roles
    assert roles.group_columns == ("school", "class")
    assert roles.columns == ("score", "hours", "school", "class")
    assert roles.levels[0].relation == "nested"
    assert BUNDLED["pastes"].roles.group_columns == ("batch", "cask")
    assert BUNDLED["penicillin"].roles.levels[0].relation == "crossed"


def test_schools_shape():
    if not BUNDLED["schools"].path.is_file():
        pytest.skip("data/schools.csv is written by data/make_schools.py")
    schools = load_bundled("schools")
    assert list(schools.columns) == ["school", "study_time", "test_score"]
    assert len(schools) == 183
    assert schools["school"].nunique() == 3


def test_unknown_bundled_key():
    with pytest.raises(DataError, match="no bundled data set called 'nope'"):
        load_bundled("nope")


def test_column_overview():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": ["x", "x"]})
    overview = column_overview(frame)
    assert overview.to_dict("records") == [
        {"column": "a", "kind": "numeric", "missing": 1, "distinct": 1, "example": "1.0"},
        {"column": "b", "kind": "categorical", "missing": 0, "distinct": 1, "example": "x"},
    ]


def test_row_cap_can_be_lowered_by_the_caller():
    with pytest.raises(DataError, match="has 4 rows; the limit is 3"):
        load_table(b"a\n1\n2\n3\n4\n", "long.csv", max_rows=3)
    assert len(load_table(b"a\n1\n2\n3\n4\n", "long.csv", max_rows=4)) == 4
