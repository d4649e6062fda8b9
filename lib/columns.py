"""What a column holds: missing-value markers, why it cannot be the outcome, how
outcome-like it looks.

Spreadsheets and statistics packages mark a missing number in many ways: SPSS
and SAS exports write ``.``, others ``-``, ``NA``, ``n/a`` or ``?``. pandas reads
some of them as missing (``NA``, ``n/a``, an empty cell) but ``.`` and ``-``
turn the whole column into text, which then silently disappears from the
outcome list. ``numbers_with_markers`` reads such markers as missing when every
other value of the column is a number, and says which columns it changed.

Column names are matched against words in several languages after folding
accents (``Résultat final`` -> ``resultat``, ``final``), because the names
students upload are not always English.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.design import is_numeric_column

# Compared after stripping blanks and lower-casing.
NA_MARKERS = frozenset(
    {"", ".", "-", "--", "?", "na", "n/a", "n.a.", "nan", "null", "none", "missing", "#n/a"}
)

# Whole tokens of a column name (accents folded). English, French, German, Spanish,
# Italian, Portuguese and Dutch.
GROUP_WORDS = frozenset(
    "group grp cluster school class classroom id subject subj participant patient person "
    "pig animal firm company site centre center hospital unit country region state city "
    "team family household litter batch plot block clinic ward village district "
    "groupe gruppe grupo gruppo classe klasse clase ecole schule escuela scuola escola "
    "etablissement sujet proband teilnehmer paciente paziente patiente hopital krankenhaus "
    "ville stadt ciudad pays".split()
)
OUTCOME_WORDS = frozenset(
    "score outcome response y result grade weight yield reaction invest performance "
    "achievement mark marks points total dv "
    "resultat reponse note notes poids rendement reussite "
    "ergebnis punkte punktzahl noten leistung gewicht ertrag "
    "resultado nota notas puntuacion puntaje calificacion rendimiento peso "
    "risultato punteggio voto voti "
    "pontuacao desempenho "
    "resultaat uitkomst cijfer cijfers".split()
)
PREDICTOR_WORDS = frozenset(
    "time hours hour study x age dose days day week weeks year years value ses iq income "
    "minutes temps heures heure etude jours semaines annee annees revenu "
    "zeit stunden stunde lernzeit alter tage wochen jahr jahre einkommen "
    "tiempo horas edad semanas ingreso tempo ore eta anni".split()
)
FEW_VALUES = 10  # an integer column with at most this many values is a poor outcome


@dataclass(frozen=True)
class MarkerNote:
    """A column whose missing-value markers were read as missing.

    Attributes
    ----------
    column : str
    markers : tuple of str
        The markers as written in the file (stripped), most frequent first.
    count : int
        Cells read as missing because of them.
    """

    column: str
    markers: tuple[str, ...]
    count: int


def numbers_with_markers(
    frame: pd.DataFrame, decimal: str = "."
) -> tuple[pd.DataFrame, tuple[MarkerNote, ...]]:
    """Text columns that are numbers apart from missing-value markers, made numeric.

    Parameters
    ----------
    frame : DataFrame
    decimal : str
        The file's decimal mark ("," for ``3,14``).

    Returns
    -------
    (DataFrame, tuple of MarkerNote)
        The frame (a copy only when a column changed) and one note per changed column.
        A column changes only when it has at least one marker and at least one number,
        and nothing else.
    """
    notes: list[MarkerNote] = []
    out = frame
    for column in frame.columns:
        series = frame[column]
        if is_numeric_column(series) or pd.api.types.is_bool_dtype(series):
            continue
        converted = _convert(series, decimal)
        if converted is None:
            continue
        values, markers, count = converted
        if out is frame:
            out = frame.copy()
        out[column] = values
        notes.append(MarkerNote(str(column), markers, count))
    return out, tuple(notes)


def _convert(series: pd.Series, decimal: str) -> tuple[pd.Series, tuple[str, ...], int] | None:
    present = series.dropna()
    if not len(present):
        return None
    # A word among the first values settles it cheaply (most text columns are labels).
    for raw in present.iloc[:50].astype(str):
        text = raw.strip()
        if text.lower() not in NA_MARKERS and _number(text, decimal) is None:
            return None
    # Then the distinct values: a column of 10^6 rows has few of them when it is text.
    uniques = pd.unique(present.astype(str))
    mapping: dict[str, float] = {}
    markers: list[str] = []
    for raw in uniques:
        text = raw.strip()
        if text.lower() in NA_MARKERS:
            mapping[raw] = math.nan
            markers.append(raw)
            continue
        number = _number(text, decimal)
        if number is None:
            return None  # a real word: the column is text
        mapping[raw] = number
    if not markers or len(markers) == len(uniques):
        return None
    as_text = series.astype(str).where(series.notna())
    values = as_text.map(mapping).astype(float)
    counts = as_text[as_text.isin(markers)].str.strip().value_counts()
    return values, tuple(str(m) for m in counts.index), int(counts.sum())


def _number(text: str, decimal: str) -> float | None:
    if decimal == "," and "." not in text:
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


def tokens(column: object) -> set[str]:
    """Lower-case words of a column name, accents folded (``'Résultat final'`` ->
    ``{'resultat', 'final'}``; ``'studyTime'`` -> ``{'study', 'time'}``)."""
    text = unicodedata.normalize("NFKD", str(column))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return {t for t in re.split(r"[\W_]+", spaced.lower()) if t}


def looks_like_group(column: object) -> bool:
    """A name such as ``school``, ``classe`` or ``subject_id``."""
    words = tokens(column)
    return bool(words & GROUP_WORDS) or any(t.endswith("id") for t in words)


def outcome_score(series: pd.Series, column: object) -> float:
    """How much a numeric column looks like an outcome (higher is more likely).

    Outcome-like names count most; predictor-like and ID-like names count against;
    an integer column with few distinct values (an age of 14-17, a rating, a count)
    is a poor outcome for a linear model, a column of decimals with many distinct
    values a good one.
    """
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[np.isfinite(values)]
    if not len(values):
        return -math.inf
    words = tokens(column)
    score = 0.0
    if words & OUTCOME_WORDS:
        score += 4
    if words & PREDICTOR_WORDS:
        score -= 2
    if looks_like_group(column):
        score -= 3
    distinct = len(np.unique(values))
    integer = bool(np.all(np.mod(values, 1) == 0))
    if integer and distinct <= FEW_VALUES:
        score -= 3
    elif not integer:
        score += 1
    return score + min(distinct, 100) / 100


def not_numeric_reason(series: pd.Series, column: object) -> str | None:
    """Why a column cannot be the outcome or the predictor, or None when it can.

    Plain text quoting the column and an offending value; the caller escapes it.
    """
    name = f"'{column}'"
    if is_numeric_column(series):
        return None
    present = series.dropna()
    if not len(present):
        return f"{name} has no values, so it cannot be the outcome or the predictor."
    if pd.api.types.is_bool_dtype(present):
        return f"{name} holds true/false values (a category), so it cannot be the outcome."
    text = present.astype(str).str.strip()
    given = ~text.str.lower().isin(NA_MARKERS).to_numpy()  # markers count as missing
    present, text = present[given], text[given]
    if not len(present):
        return f"{name} has no values, so it cannot be the outcome or the predictor."
    as_number = pd.to_numeric(text, errors="coerce")
    bad = present[as_number.isna().to_numpy()]
    example = str(bad.iloc[0])[:40] if len(bad) else str(present.iloc[0])[:40]
    if len(bad) * 2 < len(present):
        return (
            f"{name} is text: {len(bad):,} of {len(present):,} values are not numbers "
            f"(for example '{example}'), so it cannot be the outcome. Correct them, or leave "
            "those cells empty (or write NA) if they are missing values."
        )
    return f"{name} is text (for example '{example}'), so it cannot be the outcome."
