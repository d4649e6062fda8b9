"""What a column holds and the helpers every stage uses on columns: numeric or factor,
factor levels and codes (R's C collation), interaction codes, the one complete-rows rule,
missing-value markers, why a column cannot be the outcome, how outcome-like it looks.

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
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lib.errors import DataError

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


def is_numeric_column(series: pd.Series) -> bool:
    """True for real-valued columns (bool counts as categorical, as in R)."""
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def factor_levels(series: pd.Series) -> tuple[str, ...]:
    """Sorted distinct labels of a column as strings (R's factor levels, C collation).

    Numeric group codes sort numerically (1, 2, 10) and logicals FALSE < TRUE,
    as R's ``factor`` does; text sorts by code point.
    """
    return factor_codes(series.dropna())[1]


def _label(value: object) -> str:
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"  # R's spelling, so dummies read flagTRUE
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def factor_codes(series: pd.Series) -> tuple[np.ndarray, tuple[str, ...]]:
    """Integer codes 0..G-1 in ``factor_levels`` order (-1 for missing), and the levels.

    The rows are factorised once; only the (few) distinct values are labelled
    and sorted. For a categorical column pandas reuses its stored codes, which
    is what keeps 10^6 rows cheap (labelling every row took 0.28 s of a 1 s fit).
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        # Reuse the stored codes; unused categories are dropped, as lme4 drops
        # unused factor levels.
        codes = series.cat.codes.to_numpy().astype(np.int64)
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(series.cat.categories)))
        compact = np.full(len(series.cat.categories) + 1, -1, dtype=np.int64)
        compact[used] = np.arange(used.size)
        codes = compact[codes]
        uniques = series.cat.categories[used]
    else:
        codes, uniques = pd.factorize(series, sort=False)
    kind = uniques.dtype
    if pd.api.types.is_bool_dtype(kind) or (
        pd.api.types.is_numeric_dtype(kind) and not isinstance(kind, pd.CategoricalDtype)
    ):
        values = list(uniques)
        labels = [_label(v) for v in values]
        order = sorted(range(len(values)), key=lambda k: values[k])
    else:
        # Text (or mixed) labels: convert the distinct values in one vectorised step.
        labels = (
            [_label(v) for v in uniques]
            if pd.api.types.is_object_dtype(kind)
            else uniques.astype(str).tolist()
        )
        order = sorted(range(len(labels)), key=lambda k: labels[k])
    remap = np.empty(len(labels) + 1, dtype=np.int64)
    remap[-1] = -1  # pd.factorize marks missing values with -1
    for new, old in enumerate(order):
        remap[old] = new
    return remap[codes], tuple(labels[k] for k in order)


def dense_unique(keys: np.ndarray, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(keys, return_inverse=True)`` for keys in [0, bound).

    With a bound not far above n a presence map numbers the distinct keys in O(n)
    passes instead of an O(n log n) sort of all n keys (0.2 s at 10^6 rows); a
    sparse key space is sorted as usual.
    """
    if bound > max(2.0 * keys.size, 1e6):
        return np.unique(keys, return_inverse=True)
    present = np.zeros(int(bound), dtype=bool)
    present[keys] = True
    distinct = np.flatnonzero(present)
    number = np.cumsum(present, dtype=np.int64) - 1
    return distinct, number[keys]


def interaction_codes(
    frame: pd.DataFrame, columns: Sequence[str]
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Codes and levels of the interaction of several columns, as R's ``a:b``.

    R's ``:`` on factors orders levels with the first factor varying slowest and
    lme4 drops unused combinations, so the levels are the combinations present,
    sorted by each column's own level order (numeric labels numerically), and
    named by joining the labels with ":".
    """
    if len(columns) == 1:
        return factor_codes(frame[columns[0]])
    parts = [factor_codes(frame[c]) for c in columns]
    sizes = [max(len(levels), 1) for _, levels in parts]
    combined = np.zeros(len(frame), dtype=np.int64)
    # Mixed radix, first column most significant: sorting the integer sorts the tuple.
    for (codes, _), size in zip(parts, sizes, strict=True):
        combined = combined * size + codes
    present, codes = dense_unique(combined, int(np.prod(sizes, dtype=float)))
    labels = []
    for value in present:
        digits = []
        for size in reversed(sizes):
            digits.append(int(value % size))
            value //= size
        digits.reverse()
        labels.append(":".join(levels[d] for d, (_, levels) in zip(digits, parts, strict=True)))
    return codes.astype(np.int64), tuple(labels)


_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars", ",": "commas"}


def missing_column_message(column: str, available: Sequence[object]) -> str:
    """'Column not found', naming the separator when the header was not split.

    A semicolon- or tab-separated file read as comma-separated has one column
    whose name is the whole header line ("g;x;y"); saying so beats a bare
    "not in the data".
    """
    names = [str(c) for c in available]
    shown = ", ".join(repr(c) for c in names[:20])
    message = f"Column {column!r} is not in the data. Available columns: {shown}."
    if len(names) == 1:
        seen = [word for mark, word in _DELIMITERS.items() if mark in names[0]]
        if seen:
            message += (
                f" The header was read as one column, but it contains {seen[0]}: save the "
                "file with commas between fields, or upload it in the app, which detects "
                "the separator."
            )
    return message


def non_numeric_example(series: pd.Series) -> str:
    """The first value of a column that is not a number, quoted for a message.

    For a mostly numeric column with one stray word this shows the word ('abc'),
    not the first value of the column.
    """
    present = series.dropna()
    if not len(present):
        return "no values"
    if pd.api.types.is_bool_dtype(present):
        return repr(_label(present.iloc[0]))
    as_number = pd.to_numeric(present.astype(str), errors="coerce")
    bad = present[as_number.isna().to_numpy()]
    value = bad.iloc[0] if len(bad) else present.iloc[0]
    return repr(str(value)[:60])


def not_numeric_error(role: str, column: object, example: str) -> DataError:
    """The one message for a column that must hold numbers but holds text or categories.

    Parameters
    ----------
    role : str
        What the column was chosen as: "outcome", "predictor", "random slope",
        "histogram column".
    column : object
        The column's name.
    example : str
        An offending value, quoted (``non_numeric_example``), or "no values".
    """
    advice = "Choose a numeric column."
    if role == "random slope":
        # Only the DuckDB/Spark engines say this: in memory a categorical column on the
        # left of "|" is coded as lme4 codes it (lib.model.random_effects).
        advice += (
            " A categorical column on the left of '|' is fitted in memory (--engine "
            "pandas), not by the DuckDB/Spark engines."
        )
    return DataError(
        f"The {role} {str(column)!r} must be numeric, but it holds text or categories "
        f"(for example {example}). {advice}"
    )


def require_columns(available: Sequence[str], columns: Sequence[str]) -> None:
    """DataError naming the first of ``columns`` that is not ``available``."""
    missing = [c for c in columns if c not in available]
    if missing:
        raise DataError(missing_column_message(missing[0], available))


def complete_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """Rows with a usable value in every column (NaN, None and +-inf removed)."""
    require_columns(frame.columns, columns)
    # Column by column: frame.loc[:, columns] copies a sub-frame, which alone cost
    # 1.5 ms of a 10 ms tutorial-sized fit.
    keep = np.ones(len(frame), dtype=bool)
    for c in dict.fromkeys(columns):
        column = frame[c]
        if is_numeric_column(column):
            keep &= np.isfinite(column.to_numpy(dtype=float, na_value=np.nan))
        else:
            keep &= column.notna().to_numpy(dtype=bool)
    n_dropped = int((~keep).sum())
    return (frame if n_dropped == 0 else frame.loc[keep]), n_dropped


def finite_range(frame: pd.DataFrame, column: str) -> tuple[float, float]:
    """Smallest and largest usable value of a numeric column (the complete-rows rule).

    Raises
    ------
    DataError
        When the column has no usable value.
    """
    clean, _ = complete_rows(frame, [column])
    values = clean[column].to_numpy(dtype=float)
    if values.size == 0:
        raise DataError(f"Column {column!r} has no usable (finite) value.")
    return float(values.min()), float(values.max())


def common_rows(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[pd.DataFrame, int]:
    """The rows every model of a comparison uses: complete in the union of their columns.

    lme4's ``anova()`` refuses models fitted to different numbers of rows; fitting
    each model to these rows instead makes the comparison honest (same as
    ``complete_rows``; named for what the callers mean by it).
    """
    return complete_rows(frame, list(dict.fromkeys(columns)))


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
