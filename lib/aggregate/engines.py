"""SQL engines the aggregate runs on: DuckDB (embedded) and Spark (a SparkSession).

An engine is a small adapter: it binds the user's data to the relation
``mle_src``, reports the column types, runs generated SQL, and exchanges small
tables with Python as Arrow tables. Everything the user chose (a path, a table
name, column names) reaches SQL only as

- a path or table name passed to the engine's reader API (never spliced into SQL),
- an identifier quoted by ``quote`` (DuckDB: double quotes, Spark: backticks, the
  quote character doubled inside), or
- data in a registered table (levels, random effects, fixed effects).

The only literals in the generated SQL are integers and the fixed quantile
probabilities written by this package.
"""

from __future__ import annotations

import glob
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pyarrow as pa

from lib.errors import DataError

#: The strings pandas.read_csv reads as missing by default; DuckDB is told the same,
#: so both engines drop the same rows of a CSV.
PANDAS_NA_VALUES = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND",
    "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip

NUMERIC, BOOLEAN, OTHER = "numeric", "boolean", "other"
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")


def quote_double(name: str) -> str:
    """A SQL identifier in double quotes (DuckDB, standard SQL), embedded quotes doubled."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_backtick(name: str) -> str:
    """A Spark SQL identifier in backticks, embedded backticks doubled."""
    return "`" + str(name).replace("`", "``") + "`"


def _check_name(name: str) -> str:
    if "\x00" in str(name):
        raise DataError(f"Column name {name!r} contains a NUL character; rename the column.")
    return str(name)


def resolve_paths(data: str) -> list[str]:
    """The files a path or glob names, sorted; DataError if none."""
    if any(ch in data for ch in "*?["):
        paths = sorted(glob.glob(data))
        if not paths:
            raise DataError(f"No file matches {data!r}. Check the pattern.")
        return paths
    path = Path(data)
    if path.is_dir():
        parquet = sorted(str(p) for p in path.glob("*.parquet"))
        if not parquet:
            raise DataError(f"{data!r} is a directory without .parquet files.")
        return parquet
    if not path.is_file():
        raise DataError(f"Data file {data!r} does not exist.")
    return [data]


class DuckDBEngine:
    """DuckDB in this process; reads CSV and Parquet larger than memory, spills to disk.

    Parameters
    ----------
    source : str, pandas.DataFrame or pyarrow.Table
        A CSV/Parquet path or a glob of Parquet files, or a table already in memory.
    memory_limit : str, optional
        DuckDB's ``memory_limit`` (e.g. ``"2GB"``); above it, operators spill to
        ``temp_directory``.
    threads : int, optional
    temp_directory : str, optional
    """

    name = "duckdb"
    quote = staticmethod(quote_double)

    def __init__(
        self,
        source: object,
        memory_limit: str | None = None,
        threads: int | None = None,
        temp_directory: str | None = None,
    ) -> None:
        import duckdb

        self._duckdb = duckdb
        self.prefix = _prefix()
        self.con = duckdb.connect()
        for key, value in (
            ("memory_limit", memory_limit),
            ("threads", threads),
            ("temp_directory", temp_directory),
        ):
            if value is not None:
                self._set(key, value)
        self.con.execute("SET preserve_insertion_order = false")
        relation = self._relation(source)
        relation.create_view(self.source, replace=True)

    def _set(self, key: str, value: object) -> None:
        # SET takes no parameters; the value is checked here and written as a literal.
        if key == "threads":
            self.con.execute(f"SET threads = {int(value)}")
        else:
            text = str(value)
            if "'" in text:
                raise DataError(f"DuckDB setting {key} must not contain quotes, got {text!r}.")
            self.con.execute(f"SET {key} = '{text}'")

    def _relation(self, source: object):  # noqa: ANN202 - duckdb.DuckDBPyRelation
        if isinstance(source, str | Path):
            paths = resolve_paths(str(source))
            suffixes = {Path(p).suffix.lower() for p in paths}
            try:
                if suffixes <= {".parquet"}:
                    return self.con.read_parquet(paths)
                if len(paths) == 1 and suffixes <= set(_TEXT_SUFFIXES):
                    sep = "\t" if paths[0].lower().endswith(".tsv") else None
                    return self.con.read_csv(
                        paths[0], header=True, na_values=list(PANDAS_NA_VALUES), sep=sep
                    )
            except self._duckdb.Error as exc:
                raise DataError(f"DuckDB could not read {source!s}: {_first_line(exc)}") from exc
            if suffixes <= {".xlsx"} and len(paths) == 1:
                from lib.table.read import load_table

                return self.con.from_df(load_table(Path(paths[0]).read_bytes(), paths[0]))
            raise DataError(
                f"DuckDB reads one CSV file or Parquet files; got {', '.join(paths[:3])}."
            )
        if isinstance(source, pa.Table):
            return self.con.from_arrow(source)
        return self.con.from_df(source)

    @property
    def source(self) -> str:
        """The relation holding the user's rows."""
        return self.prefix + "src"

    def schema(self) -> dict[str, str]:
        """Column name -> NUMERIC, BOOLEAN or OTHER."""
        rel = self.con.table(self.source)
        out = {}
        for name, dtype in zip(rel.columns, rel.types, strict=True):
            out[_check_name(name)] = _duckdb_kind(str(dtype))
        return out

    def finite(self, expr: str) -> str:
        return f"isfinite(CAST({expr} AS DOUBLE))"

    def quantiles(self, expr: str, probs: Sequence[float]) -> str:
        # quantile_cont is exact and interpolates at h = (n - 1) p: R's type 7.
        return f"quantile_cont({expr}, [{', '.join(_prob(p) for p in probs)}])"

    def approx_quantiles(self, expr: str, probs: Sequence[float]) -> str:
        # t-digest: bounded memory, used only to bracket the exact order statistics.
        return f"approx_quantile({expr}, [{', '.join(_prob(p) for p in probs)}])"

    def collect(self, expr: str) -> str:
        return f"list({expr})"

    def run(self, sql: str) -> pa.Table:
        try:
            return self.con.sql(sql).to_arrow_table()
        except self._duckdb.Error as exc:
            raise DataError(f"DuckDB could not run the aggregate: {_first_line(exc)}") from exc

    def materialize(self, name: str, select: str) -> None:
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
        except self._duckdb.Error as exc:
            raise DataError(f"DuckDB could not run the aggregate: {_first_line(exc)}") from exc

    def view(self, name: str, select: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {select}")

    def register(self, name: str, table: pa.Table) -> None:
        self.con.register(name, table)

    def close(self) -> None:
        self.con.close()


def _duckdb_kind(dtype: str) -> str:
    t = dtype.upper()
    if t == "BOOLEAN":
        return BOOLEAN
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "REAL")
    if t.startswith("DECIMAL") or t.lstrip("U") in numeric or t in numeric:
        return NUMERIC
    return OTHER


class SparkEngine:
    """A SparkSession (local mode or a cluster); the same generated SQL in Spark's dialect.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    source : str
        A CSV/Parquet path, a glob or directory of Parquet files, or the name of a
        table in the session's catalog.
    """

    name = "spark"
    quote = staticmethod(quote_backtick)

    def __init__(self, spark: object, source: str) -> None:
        self.spark = spark
        self.prefix = _prefix()
        self._cached: list[str] = []
        self._frame(source).createOrReplaceTempView(self.source)

    def _frame(self, source: str):  # noqa: ANN202 - pyspark DataFrame
        reader = self.spark.read
        text = str(source)
        is_path = any(ch in text for ch in "*?[/\\") or Path(text).exists()
        if not is_path:
            try:
                return self.spark.table(text)
            except Exception as exc:  # pyspark raises AnalysisException
                raise DataError(
                    f"{text!r} is neither a file nor a table Spark knows: {_first_line(exc)}"
                ) from exc
        lower = text.lower()
        try:
            if lower.endswith(_TEXT_SUFFIXES):
                sep = "\t" if lower.endswith(".tsv") else ","
                # escape='"': quotes inside quoted fields are doubled (RFC 4180, as pandas
                # and R write them), not backslash-escaped as Spark assumes by default.
                return reader.csv(
                    text, header=True, inferSchema=True, nullValue="NA", sep=sep, escape='"'
                )
            return reader.parquet(text)
        except Exception as exc:
            raise DataError(f"Spark could not read {text!r}: {_first_line(exc)}") from exc

    @property
    def source(self) -> str:
        """The relation holding the user's rows."""
        return self.prefix + "src"

    def schema(self) -> dict[str, str]:
        from pyspark.sql import types as T

        out = {}
        for field in self.spark.table(self.source).schema.fields:
            dt = field.dataType
            if isinstance(dt, T.BooleanType):
                kind = BOOLEAN
            elif isinstance(dt, T.NumericType):
                kind = NUMERIC
            else:
                kind = OTHER
            out[_check_name(field.name)] = kind
        return out

    def finite(self, expr: str) -> str:
        e = f"CAST({expr} AS DOUBLE)"
        return (
            f"(NOT isnan({e}) AND {e} > CAST('-Infinity' AS DOUBLE) "
            f"AND {e} < CAST('Infinity' AS DOUBLE))"
        )

    def quantiles(self, expr: str, probs: Sequence[float]) -> str:
        # percentile (not percentile_approx) is exact, interpolating at (n - 1) p: type 7.
        return f"percentile({expr}, array({', '.join(_prob(p) for p in probs)}))"

    def approx_quantiles(self, expr: str, probs: Sequence[float]) -> str:
        # Greenwald-Khanna with accuracy 10^4 (rank error <= n / 10^4): brackets only.
        return f"percentile_approx({expr}, array({', '.join(_prob(p) for p in probs)}), 10000)"

    def collect(self, expr: str) -> str:
        return f"collect_list({expr})"

    def run(self, sql: str) -> pa.Table:
        try:
            return self.spark.sql(sql).toArrow()
        except Exception as exc:
            raise DataError(f"Spark could not run the aggregate: {_first_line(exc)}") from exc

    def materialize(self, name: str, select: str) -> None:
        self.spark.sql(f"CACHE TABLE {name} AS {select}")
        self._cached.append(name)

    def view(self, name: str, select: str) -> None:
        self.spark.sql(f"CREATE OR REPLACE TEMPORARY VIEW {name} AS {select}")

    def register(self, name: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(name)

    def close(self) -> None:
        for name in self._cached:
            self.spark.sql(f"UNCACHE TABLE IF EXISTS {name}")
        self._cached.clear()


def _prefix() -> str:
    """Names of this engine's relations: unique, so concurrent fits in one session never clash."""
    return f"mle_{uuid.uuid4().hex[:10]}_"


def _prob(p: float) -> str:
    value = float(p)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"probability must be in [0, 1], got {p}")
    return repr(value)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def spark_session(master: str | None = None, conf: Mapping[str, str] | Iterable = ()):  # noqa: ANN201
    """A SparkSession as spark-submit would configure it (``--master``, ``--conf k=v``).

    Without ``master``, an existing session (a notebook's ``spark``, or one made by
    spark-submit) is reused, else ``local[*]`` is started.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise DataError(
            "The Spark engine needs pyspark: pip install pyspark (and Java 17 or newer)."
        ) from exc
    builder = SparkSession.builder.appName("multilevel-explorer")
    if master:
        builder = builder.master(master)
    elif SparkSession.getActiveSession() is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        # Not under spark-submit (which sets the master and the gateway) nor in a notebook.
        builder = builder.master("local[*]")
    items = conf.items() if isinstance(conf, Mapping) else conf
    for key, value in items:
        builder = builder.config(key, value)
    return builder.getOrCreate()
