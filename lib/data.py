"""Tables in, clean frames out: loading, column roles, validation, bundled data.

Every problem a user can cause by choosing a file or a column ends in a
``DataError`` whose message names the file or column, the value seen and what
to do, so the UI can show it verbatim. Nothing here imports Streamlit: an
upload arrives as ``(content: bytes, filename: str)``, which is also what makes
the loader cacheable by value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from lib.columns import (
    PREDICTOR_WORDS,
    MarkerNote,
    looks_like_group,
    numbers_with_markers,
    outcome_score,
    tokens,
)
from lib.design import (
    complete_rows,
    factor_codes,
    is_numeric_column,
    missing_column_message,
    non_numeric_example,
)
from lib.errors import DataError
from lib.levels import CROSSED, GroupLevel

DATA_DIR = Path(__file__).resolve().parent.parent / "data"

MAX_BYTES = 200 * 1024 * 1024  # Streamlit's default server.maxUploadSize
MAX_ROWS = 2_000_000
MAX_COLUMNS = 500
FEW_GROUPS = 5
SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")


@dataclass(frozen=True)
class Roles:
    """Which column plays which part in the models.

    Attributes
    ----------
    outcome : str
        Numeric response.
    predictor : str or None
        The numeric predictor drawn on the x axis; it gets the fixed and/or
        random slope. None when the data have no second numeric column.
    group : str
        Grouping factor (schools, pigs, firms...), the top level.
    covariates : tuple of str
        Further fixed-effect predictors (numeric or categorical).
    levels : tuple of GroupLevel
        Lower grouping columns, each nested in or crossed with the level above
        (``class`` nested in ``school``); empty for a two-level model.
    """

    outcome: str
    predictor: str | None
    group: str
    covariates: tuple[str, ...] = ()
    levels: tuple[GroupLevel, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "covariates", tuple(self.covariates))
        object.__setattr__(self, "levels", tuple(self.levels))

    @property
    def group_columns(self) -> tuple[str, ...]:
        """The grouping columns, top level first."""
        return (self.group, *(level.column for level in self.levels))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the roles use, without duplicates."""
        names = (self.outcome, self.predictor, *self.group_columns, *self.covariates)
        return tuple(dict.fromkeys(n for n in names if n is not None))


@dataclass(frozen=True)
class BundledDataset:
    """A data set shipped with the app (see ``data/SOURCES.md`` and ``data/README.md``)."""

    key: str
    title: str
    filename: str
    description: str
    roles: Roles
    provenance: str

    @property
    def path(self) -> Path:
        return DATA_DIR / self.filename


BUNDLED: Mapping[str, BundledDataset] = MappingProxyType(
    {
        "schools": BundledDataset(
            key="schools",
            title="Schools: study time and test scores (tutorial)",
            filename="schools.csv",
            description=(
                "183 students in 3 schools: average study time before exams (hours) and "
                "average test score (%). The hierarchical-modelling tutorial's example, "
                "reconstructed."
            ),
            roles=Roles(outcome="test_score", predictor="study_time", group="school"),
            provenance=(
                "Constructed so that R prints every number shown in N. Mevenkamp's tutorial "
                "'Advanced Statistics: Hierarchical Modeling' (MCI, 2025); they are not the "
                "tutorial's own students. How it was made: data/README.md."
            ),
        ),
        "pupils": BundledDataset(
            key="pupils",
            title="Pupils in classes in schools (simulated, three levels)",
            filename="pupils.csv",
            description=(
                "3,021 pupils in 151 classes in 30 schools: test score, weekly homework hours, "
                "socio-economic status (ses) and sex. Class labels A, B, C... repeat in every "
                "school, so class must be coded as nested in school."
            ),
            roles=Roles(
                outcome="score",
                predictor="hours",
                group="school",
                levels=(GroupLevel("class"),),
            ),
            provenance=(
                "Simulated for teaching from stated parameters (school and class random "
                "intercepts, a school random slope of hours); no real pupils. How it was made: "
                "data/make_pupils.py and data/README.md."
            ),
        ),
        "pastes": BundledDataset(
            key="pastes",
            title="Paste strength: casks within batches (lme4 Pastes)",
            filename="pastes.csv",
            description=(
                "60 strength measurements: 10 delivery batches, 3 casks per batch, 2 assays "
                "per cask. Casks are labelled a, b, c in every batch, so cask is nested in "
                "batch: lme4's (1 | batch/cask)."
            ),
            roles=Roles(
                outcome="strength", predictor=None, group="batch", levels=(GroupLevel("cask"),)
            ),
            provenance=(
                "Davies & Goldsmith (1972), Statistical Methods in Research and Production, "
                "as the data set Pastes of the R package lme4 (see data/README.md)."
            ),
        ),
        "penicillin": BundledDataset(
            key="penicillin",
            title="Penicillin assay: plates crossed with samples (lme4 Penicillin)",
            filename="penicillin.csv",
            description=(
                "144 inhibition-zone diameters: 6 penicillin samples, each tested once on each "
                "of 24 plates. Plate and sample are crossed: (1 | plate) + (1 | sample)."
            ),
            roles=Roles(
                outcome="diameter",
                predictor=None,
                group="plate",
                levels=(GroupLevel("sample", CROSSED),),
            ),
            provenance=(
                "Davies & Goldsmith (1972), Statistical Methods in Research and Production, "
                "as the data set Penicillin of the R package lme4 (see data/README.md)."
            ),
        ),
        "dietox": BundledDataset(
            key="dietox",
            title="Pigs: weight over 12 weeks (dietox)",
            filename="dietox.csv",
            description=(
                "861 weekly weights of 72 pigs (repeated measures): each pig is a group, "
                "and pigs differ both in starting weight and in growth rate."
            ),
            roles=Roles(outcome="Weight", predictor="Time", group="Pig"),
            provenance=(
                "Lauridsen, Højsgaard & Sørensen (1999), J. Animal Science 77:906-916; "
                "the 'dietox' data of R's geepack/doBy, as shipped in statsmodels 0.15 "
                "(see data/SOURCES.md)."
            ),
        ),
        "grunfeld": BundledDataset(
            key="grunfeld",
            title="Firms: investment and market value (Grunfeld)",
            filename="grunfeld.csv",
            description=(
                "220 yearly records of 11 US firms, 1935-1954: gross investment against "
                "market value and capital stock (millions of 1947 dollars)."
            ),
            roles=Roles(outcome="invest", predictor="value", group="firm"),
            provenance=(
                "Grunfeld (1958) as recreated by Kleiber & Zeileis (2010), public domain, "
                "as shipped in statsmodels 0.15 (see data/SOURCES.md)."
            ),
        ),
    }
)
DEFAULT_DATASET = "schools"


def load_bundled(key: str) -> pd.DataFrame:
    """Read a bundled data set by its registry key.

    Raises
    ------
    DataError
        For an unknown key or a missing file.
    """
    if key not in BUNDLED:
        raise DataError(
            f"There is no bundled data set called {key!r}. Choose one of: {', '.join(BUNDLED)}."
        )
    entry = BUNDLED[key]
    if not entry.path.is_file():
        raise DataError(
            f"The bundled data file {entry.filename!r} is missing from {DATA_DIR}; "
            "reinstall the app or choose another data set."
        )
    return load_table(entry.path.read_bytes(), entry.filename)


def load_table(content: bytes, filename: str, max_rows: int | None = None) -> pd.DataFrame:
    """Parse an uploaded CSV / TSV / Excel (.xlsx) / Parquet file.

    Parameters
    ----------
    content : bytes
        The file's bytes.
    filename : str
        Used for the format (by extension) and in error messages.
    max_rows : int, optional
        Refuse tables with more rows (default ``MAX_ROWS``; the app may lower it).

    Returns
    -------
    DataFrame
        String column names, at least one row and one column.

    Raises
    ------
    DataError
        Unsupported extension, empty or oversized file, unparsable content,
        duplicate column names, too many rows or columns.
    """
    name, ext = check_upload(content, filename)
    if ext == ".xlsx":
        frame = _read_excel(content, name)
    elif ext == ".parquet":
        frame = _read_parquet(content, name)
    else:
        frame = _read_text(content, name)
    return check_table(frame, name, max_rows)


def check_upload(content: bytes, filename: str) -> tuple[str, str]:
    """The checks every upload passes before it is parsed: a supported extension,
    not empty, at most ``MAX_BYTES``, and bytes of the kind the extension says.

    Returns
    -------
    (str, str)
        The name to use in messages and the lower-case extension.
    """
    name = filename or "the file"
    ext = Path(name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        shown = ext or "no extension"
        raise DataError(
            f"'{name}' has an unsupported file type ({shown}). Upload a .csv (or .tsv/.txt), "
            ".xlsx or .parquet file; from R, use write.csv(df, 'data.csv', row.names = FALSE)."
        )
    if len(content) == 0:
        raise DataError(f"'{name}' is empty (0 bytes). Choose a file that contains a table.")
    if len(content) > MAX_BYTES:
        raise DataError(
            f"'{name}' is {len(content) / 1e6:.0f} MB; the limit is {MAX_BYTES / 1e6:.0f} MB. "
            "Drop unused columns or rows first."
        )
    _check_content_kind(content, name, ext)
    return name, ext


# The first bytes of file formats that students rename or save with the wrong
# extension, and what to tell them.
_SIGNATURES = (
    (b"PK\x03\x04", "an Excel workbook (.xlsx) or another zip archive", ".xlsx"),
    (b"\xd0\xcf\x11\xe0", "an old Excel 97-2003 workbook (.xls)", None),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\x1f\x8b", "a gzip-compressed file", None),
    (b"%PDF", "a PDF document", None),
    (b"\x89PNG", "a PNG image", None),
    (b"\xff\xd8\xff", "a JPEG image", None),
)


def _check_content_kind(content: bytes, name: str, ext: str) -> None:
    """Refuse a file whose bytes are not what its extension says."""
    for magic, kind, proper in _SIGNATURES:
        if content.startswith(magic):
            if proper == ext:
                return
            fix = (
                f"rename it to end in {proper}"
                if proper
                else "open it in its program and export the table as CSV"
            )
            raise DataError(
                f"'{name}' is named {ext or 'without an extension'} but is {kind}; {fix}."
            )
    if ext in (".xlsx", ".parquet"):
        return  # their readers say what is wrong with the content
    if _text_encoding(content[:4]) is None and b"\x00" in content[:65536]:
        raise DataError(
            f"'{name}' holds binary data (zero bytes), not text. Upload a CSV text file, "
            ".xlsx or .parquet."
        )


def _text_encoding(start: bytes) -> str | None:
    """UTF-16 when the file starts with its byte-order mark (Excel's "Unicode text")."""
    if start.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    return None


def _decode(content: bytes) -> str:
    """Text of a CSV: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252.

    Excel on Windows still writes cp1252 CSVs; the few bytes cp1252 leaves
    undefined are read as Latin-1, which never fails.
    """
    encoding = _text_encoding(content[:4])
    if encoding is not None:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            pass
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("cp1252")
    except UnicodeDecodeError:
        return content.decode("latin-1")


def sniff_delimiter(sample: str, name: str) -> str:
    """The field separator of a text table (comma, semicolon, tab or bar), from its start."""
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return "\t" if name.lower().endswith(".tsv") else ","


def text_format(content: bytes, name: str) -> tuple[str, str, str]:
    """How ``load_table`` reads a text table: (delimiter, decimal mark, encoding), judged
    from its first 64 KB, so that another reader (DuckDB's, for large uploads) reads
    the same columns and numbers."""
    encoding = _text_encoding(content[:4])
    if encoding is None:
        try:
            content[:65536].decode("utf-8-sig")
            encoding = "utf-8"
        except UnicodeDecodeError as exc:  # a character cut at the 64 KB boundary is fine
            encoding = "utf-8" if exc.start > 65530 else "cp1252"
    sample = content[:65536].decode(encoding, errors="ignore").lstrip("\ufeff")
    delimiter = sniff_delimiter(sample, name)
    return delimiter, _decimal_mark(sample, delimiter), encoding


def _read_text(content: bytes, name: str) -> pd.DataFrame:
    text = _decode(content)
    if not text.strip():
        raise DataError(f"'{name}' contains only blank space. Choose a file with a table.")
    sample = text[:65536]
    delimiter = sniff_delimiter(sample, name)
    try:
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error as exc:  # e.g. a lone carriage return inside the first field
        raise DataError(
            f"'{name}' could not be read as a table: its first line is not a row of column "
            f"names ({exc}). Check that it is a CSV text file."
        ) from exc
    _check_names([h.strip() for h in header], name, delimiter=delimiter)
    decimal = _decimal_mark(sample, delimiter)
    try:
        frame = pd.read_csv(
            io.StringIO(text), sep=delimiter, decimal=decimal, skipinitialspace=True
        )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"'{name}' has no columns. Choose a file with a header row.") from exc
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0][:200]
        raise DataError(
            f"'{name}' could not be read as a table separated by {delimiter!r}: {reason}. "
            "Check that every row has the same number of fields."
        ) from exc
    if isinstance(frame.index, pd.MultiIndex):
        raise DataError(
            f"'{name}' has rows with more fields than its header row ({len(frame.columns)} "
            f"names, separated by {delimiter!r}). Check the separator and quoting."
        )
    # One extra field per row is R's write.table row names: pandas made it the index.
    frame = frame.reset_index(drop=True)
    frame.columns = [str(c).strip() for c in frame.columns]
    return _with_markers(frame, decimal)


MARKERS_ATTR = "missing_markers"  # frame.attrs key: the MarkerNotes of the loader


def _with_markers(frame: pd.DataFrame, decimal: str = ".") -> pd.DataFrame:
    """Missing-value markers ('.', '-', 'n/a'...) in otherwise numeric columns read as
    missing; the notes travel with the frame (``missing_markers``)."""
    frame, notes = numbers_with_markers(frame, decimal)
    # Plain JSON values: Streamlit serialises a frame's attrs when it draws the frame.
    frame.attrs[MARKERS_ATTR] = [
        {"column": n.column, "markers": list(n.markers), "count": n.count} for n in notes
    ]
    return frame


def missing_markers(frame: pd.DataFrame) -> tuple[MarkerNote, ...]:
    """The columns whose missing-value markers the loader read as missing."""
    return tuple(
        MarkerNote(d["column"], tuple(d["markers"]), int(d["count"]))
        for d in frame.attrs.get(MARKERS_ATTR, ())
    )


_COMMA_DECIMAL = re.compile(r"(?<![\d.,])-?\d+,\d+(?![\d.,])")
_POINT_DECIMAL = re.compile(r"(?<![\d.,])-?\d+\.\d+(?![\d.,])")


def _decimal_mark(sample: str, delimiter: str) -> str:
    """Comma as the decimal mark when the numbers of a non-comma file are written 3,14.

    Semicolon and tab files come from locales whose decimal mark is often, but
    not always, a comma: count both spellings in the sample and take the more
    frequent, so that neither kind of file loses its numbers.
    """
    if delimiter == ",":
        return "."
    commas = len(_COMMA_DECIMAL.findall(sample))
    points = len(_POINT_DECIMAL.findall(sample))
    return "," if commas > points else "."


def _read_excel(content: bytes, name: str) -> pd.DataFrame:
    try:
        raw = pd.read_excel(io.BytesIO(content), sheet_name=0, header=None, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types (BadZipFile, KeyError, ...)
        raise DataError(
            f"'{name}' could not be read as an Excel workbook ({type(exc).__name__}). "
            "Save it again as .xlsx, or export the sheet as CSV."
        ) from exc
    raw = raw.dropna(how="all").dropna(axis=1, how="all")
    if raw.empty:
        raise DataError(f"The first sheet of '{name}' is empty. Put the table on the first sheet.")
    header = [f"Unnamed: {i}" if pd.isna(v) else _cell_name(v) for i, v in enumerate(raw.iloc[0])]
    _check_names(header, name)
    frame = raw.iloc[1:].reset_index(drop=True)
    frame.columns = header
    # Cells below a text header arrive as object columns; restore numeric types.
    return _with_markers(frame.infer_objects())


def _cell_name(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_parquet(content: bytes, name: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(io.BytesIO(content))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DataError(
            f"'{name}' could not be read as a Parquet file ({str(exc)[:150]}). "
            "Check that it is not truncated, or export the data as CSV."
        ) from exc
    _check_names([str(c) for c in table.column_names], name)
    return arrow_frame(table)


def arrow_frame(table, decimal: str = ".") -> pd.DataFrame:  # noqa: ANN001 - pyarrow.Table
    """A pyarrow table as ``load_table`` returns frames: string column names, a plain
    row index, text columns of numbers and missing-value markers made numeric."""
    frame = table.to_pandas()
    frame.columns = [str(c) for c in frame.columns]
    return _with_markers(frame.reset_index(drop=True), decimal)


def _check_names(names: Sequence[str], name: str, delimiter: str | None = None) -> None:
    """Header checks, most basic first: too many, empty, then duplicate names."""
    if len(names) > MAX_COLUMNS:
        raise DataError(
            f"'{name}' has {len(names)} columns; the limit is {MAX_COLUMNS}. "
            "Keep only the columns you want to model."
        )
    # A blank first name is allowed: R's write.csv writes "" above its row names.
    blank = [i + 1 for i, column in enumerate(names) if not str(column).strip() and i > 0]
    if blank or (names and not any(str(c).strip() for c in names)):
        split = f" (split at {delimiter!r})" if delimiter else ""
        where = (
            "found only empty names"
            if not any(str(c).strip() for c in names)
            else f"found empty names in column{'s' if len(blank) > 1 else ''} "
            f"{_positions(blank)} of {len(names)}"
        )
        raise DataError(
            f"'{name}': the first row should hold column names; {where}{split}. "
            "Give every column a name in the first row, and check that the file is a table "
            "with one separator (comma, semicolon or tab)."
        )
    seen: set[str] = set()
    duplicates: list[str] = []
    for column in names:
        if column in seen and column not in duplicates:
            duplicates.append(column)
        seen.add(column)
    if duplicates:
        shown = ", ".join(repr(d) for d in duplicates[:5])
        raise DataError(
            f"'{name}' has duplicate column names: {shown}. Give every column a unique name."
        )


def _positions(numbers: Sequence[int]) -> str:
    """1-based column positions for a message: "2", "2 and 3", "2, 3 and 4", "2, 3, ..."."""
    shown = [str(n) for n in numbers[:5]]
    if len(numbers) > 5:
        return ", ".join(shown) + ", ..."
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def check_table(frame: pd.DataFrame, name: str, max_rows: int | None = None) -> pd.DataFrame:
    """The size and header checks every loaded table passes (also the CLI's fast path)."""
    max_rows = MAX_ROWS if max_rows is None else max_rows
    if frame.shape[1] == 0:
        raise DataError(f"'{name}' has no columns. Choose a file with a header row.")
    if frame.shape[1] > MAX_COLUMNS:
        raise DataError(
            f"'{name}' has {frame.shape[1]} columns; the limit is {MAX_COLUMNS}. "
            "Keep only the columns you want to model."
        )
    if len(frame) == 0:
        raise DataError(
            f"'{name}' has a header row ({', '.join(map(str, frame.columns[:5]))}) but no data "
            "rows. Put one row per observation below the column names."
        )
    if len(frame) > max_rows:
        raise DataError(
            f"'{name}' has {len(frame):,} rows; the limit is {max_rows:,}. Use a sample "
            "or aggregate first (or the command line, python -m lib fit, for larger files)."
        )
    _check_names([str(c) for c in frame.columns], name)
    return frame


def numeric_columns(frame: pd.DataFrame) -> tuple[str, ...]:
    """Columns usable as outcome or predictor (real numbers, not booleans)."""
    return tuple(c for c in frame.columns if is_numeric_column(frame[c]))


def _group_score(frame: pd.DataFrame, column: str) -> float | None:
    series = frame[column]
    n_levels = series.nunique(dropna=True)
    n = int(series.notna().sum())
    if n_levels < 2 or n_levels > max(2, n // 2):
        return None
    score = 0.0
    if looks_like_group(column):
        score += 4
    if not is_numeric_column(series):
        score += 2
    else:
        values = series.dropna().to_numpy(dtype=float)
        # Only whole numbers can be group codes; inf and NaN are not (and np.mod of
        # them warns).
        if not np.all(np.isfinite(values)) or not np.all(np.mod(values, 1) == 0):
            return None
    # Between two otherwise equal candidates, more groups make a better mixed model.
    return score + min(n_levels, 1000) / 1000


def guess_roles(frame: pd.DataFrame) -> Roles:
    """Guess outcome, predictor and grouping column from names and types.

    The group is a column with repeated values (2 to n/2 distinct), preferring
    text columns and names such as ``school``, ``classe`` or ``*_id``. The outcome
    is the numeric column that looks most like one (``lib.columns.outcome_score``:
    names such as ``score`` or ``Résultat`` in several languages, decimals with many
    distinct values; not an integer column with few values such as an age of
    14-17); the predictor prefers names such as ``time`` or ``age``, else the first
    remaining numeric column.

    Raises
    ------
    DataError
        When no numeric column or no grouping column can be found.
    """
    scores = {c: s for c in frame.columns if (s := _group_score(frame, c)) is not None}
    numeric = [c for c in numeric_columns(frame) if frame[c].nunique() > 2]
    if not numeric:
        numeric = list(numeric_columns(frame))
    if not numeric:
        raise DataError(
            "The data have no numeric column to use as the outcome; columns are "
            f"{', '.join(map(str, frame.columns[:10]))}."
        )
    if not scores:
        # Nothing looks like a group: take any other column with repeated values and
        # let the validation report explain what is wrong with it.
        others = [c for c in frame.columns if c != numeric[-1] and frame[c].nunique() >= 2]
        if not others:
            raise DataError(
                "No column can serve as the grouping factor (a column whose values repeat, "
                "e.g. a school name or subject ID); add one to the data."
            )
        scores = {others[0]: 0.0}
    group = max(scores, key=lambda c: scores[c])
    candidates = [c for c in numeric if c != group] or numeric
    # Ties go to the later column (an outcome is often the last column of a table).
    ranked = [(outcome_score(frame[c], c), k) for k, c in enumerate(candidates)]
    outcome = candidates[max(ranked)[1]]
    rest = [c for c in candidates if c != outcome]
    plain = [c for c in rest if not looks_like_group(c)] or rest
    predictor = next((c for c in plain if tokens(c) & PREDICTOR_WORDS), plain[0] if plain else None)
    return Roles(outcome=outcome, predictor=predictor, group=group)


@dataclass(frozen=True)
class ValidationReport:
    """What the chosen roles leave of the data (numbers, no formatting).

    Attributes
    ----------
    n_rows : int
        Rows in the data set.
    n_used : int
        Rows with a usable value in every role column.
    missing_by_column : tuple of (str, int)
        Role columns with missing or non-finite values and how many.
    group_levels : tuple of str
    group_sizes : tuple of int
        Rows per group among the used rows, in ``group_levels`` order.
    warnings : tuple of str
        Plain-language cautions (few groups, singleton groups...).
    """

    n_rows: int
    n_used: int
    missing_by_column: tuple[tuple[str, int], ...]
    group_levels: tuple[str, ...]
    group_sizes: tuple[int, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def n_dropped(self) -> int:
        return self.n_rows - self.n_used

    @property
    def n_groups(self) -> int:
        return len(self.group_levels)


def validate(frame: pd.DataFrame, roles: Roles) -> ValidationReport:
    """Check the roles against the data and describe what a model will use.

    Raises
    ------
    DataError
        When no model can be fitted: a role column is missing, the outcome or
        predictor is not numeric, no complete row or fewer than 2 groups remain.
    """
    check_roles(frame, roles)
    columns = list(roles.columns)
    missing = []
    for column in columns:
        series = frame[column]
        bad = series.isna().to_numpy().copy()
        if is_numeric_column(series):
            bad |= ~np.isfinite(series.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            missing.append((column, int(bad.sum())))
    clean, _ = complete_rows(frame, columns)
    check_usable(roles, len(clean), 0)
    codes, levels = factor_codes(clean[roles.group])
    check_usable(roles, len(clean), len(levels))
    # Sizes from the same codes that name the levels (a TRUE/FALSE column's labels
    # are spelled as R spells them, which str() of the values is not).
    sizes = tuple(int(k) for k in np.bincount(codes, minlength=len(levels)))
    report = ValidationReport(
        n_rows=len(frame),
        n_used=len(clean),
        missing_by_column=tuple(missing),
        group_levels=levels,
        group_sizes=sizes,
    )
    return replace(report, warnings=tuple(report_warnings(clean, roles, report)))


def check_roles(frame: pd.DataFrame, roles: Roles) -> None:
    """Every role column is in ``frame``; the outcome and predictor are numeric."""
    for column in roles.columns:
        if column not in frame.columns:
            raise DataError(missing_column_message(column, frame.columns))
    for role, column in (("outcome", roles.outcome), ("predictor", roles.predictor)):
        if column is not None and not is_numeric_column(frame[column]):
            shown = non_numeric_example(frame[column])
            raise DataError(
                f"The {role} must be numeric, but {column!r} holds text or categories "
                f"(for example {shown}). Choose a numeric column."
            )


def check_usable(roles: Roles, n_used: int, n_groups: int) -> None:
    """Refuse roles that leave no complete row (``n_groups`` 0: not counted yet) or fewer
    than 2 groups among the complete rows."""
    if n_used == 0:
        raise DataError(
            f"No row has a value in every chosen column ({', '.join(roles.columns)}); choose "
            "columns with fewer missing values."
        )
    if 0 < n_groups < 2:
        raise DataError(
            f"The grouping column {roles.group!r} has {n_groups} distinct value(s) in the "
            "usable rows; a multilevel model needs at least 2 groups. Choose another column."
        )


def report_warnings(clean: pd.DataFrame, roles: Roles, report: ValidationReport) -> list[str]:
    """The report's cautions: few or single-row groups, decimal group labels, a constant
    predictor, a two-valued outcome (``clean``: the complete rows, or a sample of them)."""
    out: list[str] = []
    g, n = report.n_groups, report.n_used
    if g < FEW_GROUPS:
        out.append(
            f"Only {g} groups: the variance between groups is estimated from {g} group "
            "effects, so variance estimates will be imprecise (and random slopes may not be "
            "identifiable). Mixed models work best with 10 or more groups."
        )
    singletons = sum(1 for s in report.group_sizes if s == 1)
    if singletons:
        out.append(
            f"{singletons} of {g} groups have a single row: they inform the average but "
            "nothing about differences within a group."
        )
    if g > n / 2:
        out.append(
            f"{g} groups for {n} rows: most groups have one or two rows. Is {roles.group!r} "
            "really a grouping column and not a row ID?"
        )
    series = clean[roles.group]
    if is_numeric_column(series) and not np.all(np.mod(series.to_numpy(dtype=float), 1) == 0):
        out.append(
            f"The grouping column {roles.group!r} holds decimal numbers; every distinct value "
            "becomes its own group."
        )
    if roles.predictor is not None and clean[roles.predictor].nunique() < 2:
        out.append(
            f"The predictor {roles.predictor!r} has the same value in every row, so no slope "
            "can be estimated."
        )
    if clean[roles.outcome].nunique() <= 2:
        out.append(
            f"The outcome {roles.outcome!r} takes at most two values; a linear mixed model "
            "treats it as continuous (a logistic model would suit it better)."
        )
    return out


def column_overview(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per column: kind, missing values, distinct values, an example."""
    rows = []
    for column in frame.columns:
        series = frame[column]
        present = series.dropna()
        rows.append(
            {
                "column": str(column),
                "kind": "numeric" if is_numeric_column(series) else "categorical",
                "missing": int(series.isna().sum()),
                "distinct": int(series.nunique(dropna=True)),
                "example": str(present.iloc[0]) if len(present) else "",
            }
        )
    return pd.DataFrame(rows, columns=["column", "kind", "missing", "distinct", "example"])
