"""lib.table.columns and lib.table.roles.guess_roles: missing-value markers, role guesses, why a
column
is not offered as the outcome."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lib.table.columns import not_numeric_reason, numbers_with_markers, outcome_score, tokens
from lib.table.read import load_table, missing_markers
from lib.table.roles import guess_roles, numeric_columns


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
