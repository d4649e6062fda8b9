"""Reading a table from bytes: CSV/TSV/TXT (encodings, delimiters, decimal marks), Excel,
Parquet; the header and size checks every table passes.

Every problem a user can cause by choosing a file ends in a ``DataError`` whose message
names the file or column, the value seen and what to do. An upload arrives as
``(content: bytes, filename: str)``, which is also what makes the loader cacheable by value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from lib.errors import DataError
from lib.table.columns import (
    MarkerNote,
    numbers_with_markers,
)

MAX_BYTES = 200 * 1024 * 1024  # Streamlit's default server.maxUploadSize


MAX_ROWS = 2_000_000


#: The most columns the app *shows* (pickers, previews). Reading has no column cap: a
#: survey export with 5,004 columns of which the model uses four is an ordinary file.
MAX_COLUMNS = 500

#: What the row-limit message suggests in the app; the CLI passes its own (``--engine``).
APP_BIG_HINT = "or the command line, python -m lib fit, for larger files"
#: frame.attrs key: columns the loader dropped, as [{"position", "reason"}] (JSON values).
DROPPED_ATTR = "dropped_columns"


SUPPORTED_EXTENSIONS = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")


def load_table(
    content: bytes,
    filename: str,
    max_rows: int | None = None,
    columns: Sequence[str] | None = None,
    big_hint: str = APP_BIG_HINT,
) -> pd.DataFrame:
    """Parse an uploaded CSV / TSV / Excel (.xlsx) / Parquet file.

    Parameters
    ----------
    content : bytes
        The file's bytes.
    filename : str
        Used for the format (by extension) and in error messages.
    max_rows : int, optional
        Refuse tables with more rows (default ``MAX_ROWS``; the app may lower it).
    columns : sequence of str, optional
        Read only these columns (those of them the file has); the CLI reads only
        the columns a model uses.
    big_hint : str
        What the too-many-rows message suggests instead.

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
    wanted = None if columns is None else set(columns)
    if ext == ".xlsx":
        frame = _read_excel(content, name)
        frame = _only(frame, wanted)
    elif ext == ".parquet":
        frame = _read_parquet(content, name, wanted)
    else:
        frame = _read_text(content, name, wanted)
    return check_table(frame, name, max_rows, big_hint)


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


def _read_text(content: bytes, name: str, wanted: set[str] | None = None) -> pd.DataFrame:
    text = _decode(content)
    if not text.strip():
        raise DataError(f"'{name}' contains only blank space. Choose a file with a table.")
    sample = text[:65536]
    delimiter = sniff_delimiter(sample, name)
    try:
        rows = list(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter))
    except csv.Error as exc:  # e.g. a lone carriage return inside the first field
        raise DataError(
            f"'{name}' could not be read as a table: its first line is not a row of column "
            f"names ({exc}). Check that it is a CSV text file."
        ) from exc
    header = [h.strip() for h in rows[0]] if rows else []
    trailing = _trailing_delimiter(header, rows[1:] if len(text) <= len(sample) else rows[1:-1])
    _check_names(header[:-1] if trailing else header, name, delimiter=delimiter)
    decimal = _decimal_mark(sample, delimiter)
    try:
        # Every column is parsed (a ragged row is an error wherever it is); only the
        # wanted ones are kept, below.
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
    dropped = []
    if trailing:
        if not frame.iloc[:, -1].isna().all():  # a later row has a value there after all
            _check_names(header, name, delimiter=delimiter)
        # A separator at the end of every line (some exporters, Excel macros) makes a
        # last column without name or values; R's read.csv keeps it as an all-NA column
        # named X. It holds nothing: drop it, and say so.
        dropped.append(
            {
                "position": len(header),
                "reason": f"no name and no values (every line ends with {delimiter!r})",
            }
        )
        frame = frame.iloc[:, :-1]
    frame.columns = [str(c).strip() for c in frame.columns]
    frame = _only(frame, wanted)
    frame = _with_markers(frame, decimal)
    frame.attrs[DROPPED_ATTR] = dropped
    return frame


def _only(frame: pd.DataFrame, wanted: set[str] | None) -> pd.DataFrame:
    """The wanted columns, when the table has all of them; else every column, so that
    the missing one is reported with the columns that are there."""
    if wanted is None or not wanted <= set(frame.columns):
        return frame
    return frame[[c for c in frame.columns if c in wanted]]


def _trailing_delimiter(header: Sequence[str], rows: Sequence[Sequence[str]]) -> bool:
    """Whether the last column has an empty name and is empty in every row seen."""
    if len(header) < 2 or header[-1] or not any(header[:-1]):
        return False
    return all(not row or (len(row) == len(header) and not row[-1].strip()) for row in rows)


def dropped_columns(frame: pd.DataFrame) -> list[dict]:
    """The columns ``load_table`` dropped (position, reason), for a note to the user."""
    return list(frame.attrs.get(DROPPED_ATTR, []))


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


def _read_parquet(content: bytes, name: str, wanted: set[str] | None = None) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = io.BytesIO(content)
        columns = None
        if wanted is not None:
            names = pq.read_schema(source).names
            source.seek(0)
            if wanted <= set(names):  # else all, so that the message lists what is there
                columns = [c for c in names if c in wanted]
        table = pq.read_table(source, columns=columns)
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
    """Header checks, most basic first: empty, then duplicate names."""
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


def check_table(
    frame: pd.DataFrame, name: str, max_rows: int | None = None, big_hint: str = APP_BIG_HINT
) -> pd.DataFrame:
    """The size and header checks every loaded table passes (also the CLI's fast path).

    There is no column limit here: the app shows at most ``MAX_COLUMNS`` of them.
    """
    max_rows = MAX_ROWS if max_rows is None else max_rows
    if frame.shape[1] == 0:
        raise DataError(f"'{name}' has no columns. Choose a file with a header row.")
    if len(frame) == 0:
        raise DataError(
            f"'{name}' has a header row ({', '.join(map(str, frame.columns[:5]))}) but no data "
            "rows. Put one row per observation below the column names."
        )
    if len(frame) > max_rows:
        raise DataError(
            f"'{name}' has {len(frame):,} rows; the limit is {max_rows:,}. Use a sample "
            f"or aggregate first ({big_hint})."
        )
    _check_names([str(c) for c in frame.columns], name)
    return frame
