"""Large uploads: every row in an Arrow table that DuckDB queries, a sample in pandas.

An upload above ``big_upload_bytes()`` (CSV/TSV/TXT or Parquet) is parsed once by
pyarrow into memory (never to disk) and is never turned into a pandas frame of all
rows: counts, group means, histograms and model fits run in DuckDB over the Arrow
table (``lib.aggregate.summaries``, ``lib.aggregate.sqlfit``). What needs rows in
pandas (charts of single points, the pages that fit on rows) gets a uniform random
sample of at most ``SAMPLE_ROWS`` rows, drawn with a fixed seed so that every rerun
and every session shows the same sample of the same bytes.

The columns are ``lib.table.read.load_table``'s: the delimiter, decimal mark and encoding
are judged as it judges them (``lib.table.read.text_format``), and a text column that is
numbers apart from missing-value markers ('.', 'n/a', ...) is made numeric in the
sample *and* in the table (``lib.table.columns.numbers_with_markers``), so that the sample
and DuckDB agree on which columns are numeric.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from lib.aggregate.engines import PANDAS_NA_VALUES, DuckDBEngine
from lib.errors import DataError
from lib.table.columns import numbers_with_markers
from lib.table.read import MARKERS_ATTR, arrow_frame, check_table, check_upload, text_format

#: Rows of the pandas sample (uniform, without replacement).
SAMPLE_ROWS = 100_000
#: The sample's seed: the same bytes give the same sample in every run.
SEED = 20240601
#: Rows of the Data page's preview (the file's first rows).
PREVIEW_ROWS = 200
#: The formats read this way; Excel workbooks are always read by pandas.
BIG_FORMATS = (".csv", ".tsv", ".txt", ".parquet")
#: Uploads above this size are read this way instead of by pandas.
BIG_UPLOAD_BYTES = 50 * 1024 * 1024
#: Overrides ``BIG_UPLOAD_BYTES`` (bytes), e.g. for a class server or tests.
THRESHOLD_ENV = "EXPLORER_BIG_UPLOAD_BYTES"

Progress = Callable[[float, str], None]


def _no_progress(fraction: float, text: str) -> None:
    return None


def big_upload_bytes() -> int:
    """The size above which an upload is read this way (read at call time)."""
    raw = os.environ.get(THRESHOLD_ENV, "").strip()
    return int(raw) if raw.isdigit() else int(BIG_UPLOAD_BYTES)


def is_big(size: int, filename: str) -> bool:
    """Whether an upload of ``size`` bytes named ``filename`` is read through DuckDB."""
    return size > big_upload_bytes() and Path(filename).suffix.lower() in BIG_FORMATS


def more_rows_than(content: bytes, filename: str, limit: int) -> bool:
    """Whether a CSV/TSV/TXT or Parquet upload may hold more than ``limit`` rows, without
    parsing it: line breaks for text (an upper bound: a quoted field may hold one, and
    then DuckDB reads a file pandas could have read), the footer's count for Parquet.

    A small file of many short rows (3 numeric columns, 3 million rows: ~45 MB) passes
    the size threshold yet exceeds pandas' row limit; it goes to DuckDB instead of
    being refused.
    """
    suffix = Path(filename).suffix.lower()
    if suffix not in BIG_FORMATS:
        return False
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(io.BytesIO(content)).metadata.num_rows > limit
        except Exception:  # noqa: BLE001 - not Parquet after all: load_table says why
            return False
    # Every row ends in a line break (or the end of the file); the header is one more.
    return content.count(b"\n") > limit + 1


@dataclass(frozen=True, eq=False)
class BigUpload:
    """A large upload: all rows for DuckDB, a sample and a preview for pandas.

    Attributes
    ----------
    name : str
        The file name.
    table : pyarrow.Table
        Every row, with the column types of the sample.
    sample : DataFrame
        At most ``SAMPLE_ROWS`` rows drawn uniformly (file order kept), as
        ``lib.table.read.load_table`` would give them.
    preview : DataFrame
        The file's first ``PREVIEW_ROWS`` rows, processed the same way.
    read_seconds : float
        Wall time of ``read_upload``.
    """

    name: str
    table: pa.Table
    sample: pd.DataFrame
    preview: pd.DataFrame
    read_seconds: float

    @property
    def n_rows(self) -> int:
        return int(self.table.num_rows)

    @property
    def n_columns(self) -> int:
        return int(self.table.num_columns)

    @property
    def sampled(self) -> bool:
        """True when the sample leaves rows out."""
        return len(self.sample) < self.n_rows

    def engine(self) -> DuckDBEngine:
        """A new DuckDB connection over the table (zero-copy; one per use, so that
        concurrent reruns never share a connection or its temporary views)."""
        return DuckDBEngine(self.table)


def read_table(content: bytes, filename: str) -> tuple[pa.Table, str]:
    """Parse CSV/TSV/TXT or Parquet bytes with pyarrow; (table, decimal mark)."""
    suffix = Path(filename).suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(io.BytesIO(content)), "."
        if suffix in (".csv", ".tsv", ".txt"):
            delimiter, decimal, encoding = text_format(content, filename)
            try:
                return _read_csv(content, delimiter, decimal, encoding), decimal
            except pa.ArrowInvalid as exc:
                if encoding != "utf-8" or "UTF8" not in str(exc):
                    raise
                # Invalid UTF-8 beyond the first 64 KB: Excel's Windows-1252, as load_table.
                return _read_csv(content, delimiter, decimal, "cp1252"), decimal
    except DataError:
        raise
    except Exception as exc:  # pyarrow parse errors
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Could not read {filename!r}: {first}") from exc
    raise DataError(
        f"{filename!r}: large uploads are read as CSV or Parquet; got {suffix or 'no extension'}."
    )


def upload_engine(content: bytes, filename: str) -> DuckDBEngine:
    """A DuckDB engine over an upload's bytes (CSV/TSV/TXT or Parquet), never on disk.

    The bytes are parsed as ``read_table`` parses them (the delimiter, decimal mark and
    encoding ``lib.table.read.load_table`` would use).
    """
    table, _ = read_table(content, filename)
    return DuckDBEngine(table)


def _read_csv(content: bytes, delimiter: str, decimal: str, encoding: str) -> pa.Table:
    from pyarrow import csv

    return csv.read_csv(
        io.BytesIO(content),
        read_options=csv.ReadOptions(encoding=encoding),
        parse_options=csv.ParseOptions(delimiter=delimiter),
        convert_options=csv.ConvertOptions(
            null_values=list(PANDAS_NA_VALUES),
            strings_can_be_null=True,
            decimal_point=decimal,
        ),
    )


def _pandas_names(table: pa.Table) -> pa.Table:
    """Column names as pandas reads a header: stripped, a blank one 'Unnamed: i'."""
    names = [str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(table.column_names)]
    return table.rename_columns(names)


def sample_indices(n_rows: int, size: int, seed: int = SEED) -> np.ndarray:
    """Sorted row numbers of a uniform sample without replacement (all rows if fewer)."""
    if n_rows <= size:
        return np.arange(n_rows)
    return np.sort(np.random.default_rng(seed).choice(n_rows, size=size, replace=False))


def read_upload(
    content: bytes,
    filename: str,
    sample_rows: int = SAMPLE_ROWS,
    progress: Progress = _no_progress,
) -> BigUpload:
    """Read a large upload (see the module docstring).

    Raises
    ------
    DataError
        As ``lib.table.read.load_table`` (type, size, content, header checks), except that
        there is no row limit.
    """
    start = time.perf_counter()
    name, _ = check_upload(content, filename)
    progress(0.05, f"Reading {len(content) / 1024**2:,.0f} MB")
    table, decimal = read_table(content, name)
    table = _pandas_names(table)
    progress(0.6, f"Drawing a random sample from {table.num_rows:,} rows")
    rows = sample_indices(table.num_rows, sample_rows)
    raw = table.take(pa.array(rows, pa.int64()))
    sample = check_table(arrow_frame(raw, decimal), name, max_rows=sample_rows)
    table, sample = _agree_on_numbers(table, sample, raw, decimal, progress)
    progress(0.95, "Preparing the preview")
    preview = table.slice(0, PREVIEW_ROWS).to_pandas()
    preview.columns = [str(c) for c in preview.columns]
    progress(1.0, "Done")
    return BigUpload(
        name=name,
        table=table,
        sample=sample,
        preview=preview,
        read_seconds=time.perf_counter() - start,
    )


def _agree_on_numbers(
    table: pa.Table, sample: pd.DataFrame, raw: pa.Table, decimal: str, progress: Progress
) -> tuple[pa.Table, pd.DataFrame]:
    """Columns the sample reads as numbers with markers: convert them in the whole table
    (counting the markers there); one that holds a word outside the sample stays text
    in both."""
    notes = {d["column"]: d for d in sample.attrs.get(MARKERS_ATTR, ())}
    if not notes:
        return table, sample
    progress(0.7, "Reading missing-value markers")
    kept = []
    for column in notes:
        full = pd.DataFrame({column: table.column(column).to_pandas()})
        converted, found = numbers_with_markers(full, decimal)
        if found:
            at = table.column_names.index(column)
            values = pa.array(converted[column].to_numpy(float), pa.float64(), from_pandas=True)
            table = table.set_column(at, column, values)
            note = found[0]
            kept.append({"column": column, "markers": list(note.markers), "count": note.count})
        else:
            sample[column] = raw.column(column).to_pandas()
    sample.attrs[MARKERS_ATTR] = kept
    return table, sample
