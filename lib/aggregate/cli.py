"""The CLI's choice of engine: ``--engine pandas|duckdb|spark`` and Spark's options.

Default: pandas for a single file up to ``DUCKDB_ABOVE_BYTES`` (100 MiB), DuckDB
for larger files, globs and directories of Parquet files. The Spark options follow
spark-submit's spelling: ``--spark-master URL`` and ``--spark-conf KEY=VALUE``
(repeatable); giving either selects Spark.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from lib.errors import SpecError
from lib.lmm import LmmFit, fit_lmm
from lib.model.spec import ModelSpec

ENGINES = ("pandas", "duckdb", "spark")
#: Above this size a file is read by DuckDB: a 100 MiB CSV is about 3 million rows
#: of a few numeric columns, which pandas holds as about 0.5 GB; DuckDB streams it.
DUCKDB_ABOVE_BYTES = 100 * 1024 * 1024


def add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    """The engine options of ``python -m lib fit``."""
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        help="where the per-group sums are computed (default: pandas for files up to "
        f"{DUCKDB_ABOVE_BYTES // 2**20} MiB, duckdb above and for globs; spark if a "
        "--spark option is given). With spark, DATA may also be a table name",
    )
    parser.add_argument("--spark-master", help="Spark master URL, e.g. local[4], yarn")
    parser.add_argument(
        "--spark-conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="Spark configuration property (repeatable), as spark-submit --conf",
    )
    parser.add_argument(
        "--duckdb-memory-limit",
        help="DuckDB memory_limit, e.g. 2GB; larger intermediate results spill to disk",
    )


def choose_engine(args: argparse.Namespace) -> str:
    """The engine asked for, or the default for ``args.data``."""
    if args.engine:
        if args.engine != "spark" and (args.spark_master or args.spark_conf):
            raise SpecError("--spark-master and --spark-conf need --engine spark.")
        return args.engine
    if args.spark_master or args.spark_conf:
        return "spark"
    data = str(args.data)
    if any(ch in data for ch in "*?[") or Path(data).is_dir():
        return "duckdb"
    path = Path(data)
    if path.is_file() and path.suffix.lower() != ".xlsx":
        if path.stat().st_size > DUCKDB_ABOVE_BYTES:
            return "duckdb"
    return "pandas"


def spark_conf(items: list[str]) -> list[tuple[str, str]]:
    """``KEY=VALUE`` strings as pairs, with a clear message for a malformed one."""
    pairs = []
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--spark-conf takes KEY=VALUE, got {item!r}.")
        pairs.append((key.strip(), value))
    return pairs


def fit_data(
    args: argparse.Namespace, spec: ModelSpec, read_frame: Callable[[str, ModelSpec], object]
) -> LmmFit:
    """Fit ``spec`` to ``args.data`` with the chosen engine."""
    engine = choose_engine(args)
    if engine == "pandas":
        return fit_lmm(read_frame(args.data, spec), spec)
    from lib.aggregate.engines import DuckDBEngine, SparkEngine, spark_session
    from lib.aggregate.sqlfit import fit_engine

    if engine == "duckdb":
        db = DuckDBEngine(args.data, memory_limit=args.duckdb_memory_limit)
        try:
            return fit_engine(db, spec)
        finally:
            db.close()
    conf = spark_conf(args.spark_conf)
    session = spark_session(args.spark_master, conf)
    spark = SparkEngine(session, args.data)
    try:
        return fit_engine(spark, spec)
    finally:
        spark.close()
