"""lib.table.columns and lib.table.roles: missing-value markers, role guesses, why a column
is not offered as the outcome, and what else changes when one role is set."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError
from lib.model.spec import GroupLevel
from lib.table.catalogue import load_bundled
from lib.table.columns import not_numeric_reason, numbers_with_markers, outcome_score, tokens
from lib.table.read import load_table, missing_markers
from lib.table.roles import (
    COVARIATES,
    GROUP,
    LEVELS,
    OUTCOME,
    PREDICTOR,
    RoleChange,
    Roles,
    best_predictor,
    change_role,
    guess_roles,
    looks_like_id,
    numeric_columns,
    predictor_score,
)


def _teacher_file(marker: str = ".") -> pd.DataFrame:
    """What a teacher uploaded: pupils in classes, an integer age of 14-17, the final
    result with decimals, some results missing, and a comments column."""
    rng = np.random.default_rng(3)
    n = 60
    result = np.round(rng.normal(12, 3, n), 1).astype(object)
    result[[4, 17, 33]] = marker
    return pd.DataFrame(
        {
            "élève": [f"E{k:03d}" for k in range(n)],
            "classe": np.repeat(["3A", "3B", "3C", "3D"], n // 4),
            "Résultat final": result,
            "heures": np.round(rng.uniform(0, 10, n), 1),
            "commentaires": rng.choice(["bien", "assez bien", "à revoir"], n),
            "age": rng.integers(14, 18, n),
        }
    )


def _csv(frame: pd.DataFrame, sep: str = ",", decimal: str = ".") -> bytes:
    return frame.to_csv(index=False, sep=sep, decimal=decimal).encode()


@pytest.mark.parametrize("marker", [".", "-", "NA", "n/a", "", "?", "missing"])
def test_markers_in_a_numeric_column_are_missing(marker):
    frame = load_table(_csv(_teacher_file(marker)), "classe.csv")
    assert "Résultat final" in numeric_columns(frame)
    assert frame["Résultat final"].isna().sum() == 3
    assert frame["Résultat final"].notna().sum() == 57
    notes = missing_markers(frame)
    if marker in ("", "NA", "n/a"):  # pandas reads these as missing itself
        assert notes == ()
    else:
        assert [(n.column, n.markers, n.count) for n in notes] == [("Résultat final", (marker,), 3)]


def test_markers_with_a_decimal_comma():
    frame = load_table(_csv(_teacher_file("."), sep=";", decimal=","), "classe.csv")
    original = pd.to_numeric(_teacher_file(".")["Résultat final"], errors="coerce")
    assert np.allclose(frame["Résultat final"], original, equal_nan=True)


def test_markers_in_excel():
    buffer = io.BytesIO()
    _teacher_file("-").to_excel(buffer, index=False)
    frame = load_table(buffer.getvalue(), "classe.xlsx")
    assert frame["Résultat final"].isna().sum() == 3
    assert missing_markers(frame)[0].markers == ("-",)


def test_a_real_word_keeps_the_column_text():
    frame = pd.DataFrame({"y": ["1.5", ".", "abc", "2"], "g": ["a", "b", "c", "d"]})
    out, notes = numbers_with_markers(frame)
    assert out is frame and notes == ()
    assert "abc" in not_numeric_reason(out["y"], "y")
    assert "1 of 3 values are not numbers" in not_numeric_reason(out["y"], "y")


def test_a_column_of_markers_only_is_left_alone():
    frame = pd.DataFrame({"y": [".", "-", "."]})
    out, notes = numbers_with_markers(frame)
    assert notes == () and "y" not in numeric_columns(out)


def test_why_a_text_column_is_not_offered():
    frame = _teacher_file()
    assert not_numeric_reason(frame["commentaires"], "commentaires").startswith(
        "'commentaires' is text (for example '"
    )
    assert "cannot be the outcome" in not_numeric_reason(frame["commentaires"], "commentaires")
    assert not_numeric_reason(frame["heures"], "heures") is None
    flags = pd.Series([True, False, True])
    assert "true/false" in not_numeric_reason(flags, "passed")
    assert "no values" in not_numeric_reason(pd.Series([None, None], dtype=object), "empty")


def test_tokens_fold_accents_and_split_camel_case():
    assert tokens("Résultat final") == {"resultat", "final"}
    assert tokens("studyTime") == {"study", "time"}
    assert tokens("Punktzahl_Test") == {"punktzahl", "test"}


def test_guess_prefers_the_result_over_an_integer_age():
    frame = load_table(_csv(_teacher_file(".")), "classe.csv")
    roles = guess_roles(frame)
    assert roles.outcome == "Résultat final"
    assert roles.group == "classe"
    assert roles.predictor in ("heures", "age")


def test_guess_without_helpful_names_prefers_decimals_with_many_values():
    # No word in the names helps: the integer column with four values (last, where the
    # old guess looked) is a poor outcome; the decimal column with many values wins.
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "g": np.repeat(["a", "b", "c", "d", "e"], 20),
            "v1": rng.normal(50, 10, 100),
            "v2": rng.integers(14, 18, 100),
        }
    )
    assert guess_roles(frame).outcome == "v1"
    assert outcome_score(frame["v2"], "v2") < outcome_score(frame["v1"], "v1")


@pytest.mark.parametrize(
    "name", ["Ergebnis", "resultado", "punteggio", "Note finale", "cijfer", "score"]
)
def test_outcome_words_in_several_languages(name):
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(
        {
            name: rng.normal(50, 15, 40).round(0),  # whole numbers with many values
            "weird": rng.normal(0, 1, 40),
            "grp": np.repeat(["a", "b", "c", "d"], 10),
        }
    )
    assert guess_roles(frame).outcome == name


# ------------------------------------------------ roles on files with many columns
# mlmRev's Exam (tests/reference/classroom_data.R): numeric codes `school` and
# `student` (pupil numbers restarting in every school), school attributes (schgend,
# schavg, vr, type) and pupil columns (normexam, standLRT, intake, sex).
REFERENCE_DATA = Path(__file__).parent / "reference" / "data"


@pytest.fixture(scope="module")
def exam() -> pd.DataFrame:
    return load_table((REFERENCE_DATA / "classroom_exam.csv").read_bytes(), "Exam.csv")


def test_guess_on_exam_takes_the_pupil_level_predictor(exam):
    # It used to take schavg, constant within school, which gives no slope within schools.
    assert guess_roles(exam) == Roles(outcome="normexam", predictor="standLRT", group="school")
    assert predictor_score(exam, "schavg", "school") < predictor_score(exam, "standLRT", "school")


def test_ids_are_not_amounts(exam):
    assert looks_like_id(exam, "school") and looks_like_id(exam, "student")  # by name
    # Unnamed: numbers (almost) unique within each school, 650 of them against at most 198
    # pupils a school. Without a group to look within they are only whole numbers.
    renamed = exam.rename(columns={"student": "k"})
    assert looks_like_id(renamed, "k", "school") and not looks_like_id(renamed, "k")
    assert not looks_like_id(exam, "standLRT", "school")  # decimals
    # A time index takes about as many values as a group has rows: not an id.
    oxboys = pd.read_csv(REFERENCE_DATA / "classroom_oxboys.csv")
    assert not looks_like_id(oxboys, "Occasion", "Subject")
    dietox = load_bundled("dietox")
    assert not looks_like_id(dietox, "Time", "Pig") and looks_like_id(dietox, "Pig")
    assert best_predictor(dietox, ("Weight", "Pig"), "Pig") == "Time"


def test_setting_the_outcome_says_what_else_changed(exam):
    roles = guess_roles(exam)
    change = change_role(exam, roles, OUTCOME, "standLRT")
    assert change.roles == Roles(outcome="standLRT", predictor="normexam", group="school")
    (switch,) = change.switched
    assert (switch.role, switch.old, switch.new) == (PREDICTOR, "standLRT", "normexam")
    assert switch.reason.startswith("'standLRT' is now the outcome; the predictor is now")
    # An outcome that takes no other role's column changes nothing else.
    change = change_role(exam, roles, OUTCOME, "schavg")
    assert change.roles == Roles(outcome="schavg", predictor="standLRT", group="school")
    assert change.switched == ()
    assert change_role(exam, roles, OUTCOME, "normexam") == RoleChange(roles, ())


def test_a_freed_predictor_is_never_an_id(exam):
    # The file: outcome normexam, predictor schavg, group school, and only ids and
    # the old outcome left once schavg becomes the outcome.
    roles = Roles(outcome="normexam", predictor="schavg", group="school")
    for keep in (exam, exam.drop(columns=["standLRT"])):
        change = change_role(keep, roles, OUTCOME, "schavg")
        assert change.roles.predictor == "normexam" and change.roles.group == "school"
        assert [s.role for s in change.switched] == [PREDICTOR]
    # With only ids left, an id it is; otherwise never.
    assert best_predictor(exam, ("normexam",), "school") == "standLRT"
    ids = exam[["school", "student", "normexam"]]
    assert best_predictor(ids, ("normexam", "school"), "school") == "student"


def test_taking_the_group_column_picks_a_group_with_enough_levels(exam):
    roles = guess_roles(exam)
    change = change_role(exam, roles, PREDICTOR, "school")
    (switch,) = change.switched
    assert (switch.role, switch.old) == (GROUP, "school")
    # Not schgend, vr, type (3 or 2 levels): the 650 pupil numbers, said out loud.
    assert switch.new == "student" == change.roles.group
    assert "'school' is now the predictor; the group is now 'student'" in switch.reason


def test_covariates_and_levels_that_take_a_role_are_dropped_with_a_reason():
    pupils = load_bundled("pupils")
    roles = Roles(
        "score", "hours", "school", covariates=("ses", "sex"), levels=(GroupLevel("class"),)
    )
    change = change_role(pupils, roles, PREDICTOR, "ses")
    assert change.roles.covariates == ("sex",) and change.roles.predictor == "ses"
    (switch,) = change.switched
    assert (switch.role, switch.old, switch.new) == (COVARIATES, "ses", None)
    assert switch.reason == "'ses' is now the predictor, so it is no longer a fixed effect."
    change = change_role(pupils, roles, GROUP, "class")
    assert change.roles.group == "class" and change.roles.levels == ()
    (switch,) = change.switched
    assert (switch.role, switch.old) == (LEVELS, "class")
    assert "'class' is now the group, so it is no longer a grouping level" in switch.reason


def test_change_role_refuses_bad_requests(exam):
    roles = guess_roles(exam)
    with pytest.raises(DataError, match="must be numeric, but 'schgend'"):
        change_role(exam, roles, OUTCOME, "schgend")
    with pytest.raises(DataError, match="'nope' is not in the data"):
        change_role(exam, roles, GROUP, "nope")
    with pytest.raises(DataError, match="`role` must be"):
        change_role(exam, roles, "slope", "standLRT")
    with pytest.raises(DataError, match="only the predictor may be none"):
        change_role(exam, roles, GROUP, None)
    assert change_role(exam, roles, PREDICTOR, None).roles.predictor is None
