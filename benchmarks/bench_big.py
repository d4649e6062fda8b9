"""Fit ``y ~ x + (x | group)`` (REML) to big Parquet files with each engine; print a table.

    python benchmarks/make_big.py --rows 1e7 --groups 1e5 --out /tmp/big_1e7.parquet
    python benchmarks/make_big.py --rows 1e8 --groups 1e6 --out /tmp/big_1e8.parquet
    python benchmarks/bench_big.py --case duckdb:/tmp/big_1e7.parquet \
        --case pandas:/tmp/big_1e7.parquet --case spark:/tmp/big_1e7.parquet \
        --case duckdb:/tmp/big_1e8.parquet

Each case runs in its own process under ``/usr/bin/time -v`` so its peak memory
(maximum resident set size) is measured; for Spark that is the larger of the
Python driver and the JVM (getrusage reports the largest descendant, not the sum).
Columns: the aggregate (reading + GROUP BYs, or pandas' read and the design),
the engine (optimisation, Satterthwaite df, packaging), the second pass
(residual quantiles and var(X beta)), the whole wall time of the process
(imports and, for Spark, starting the JVM included) and peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_case(engine: str, path: str, memory_limit: str | None) -> dict:
    """One fit in this process; returns the phase timings (seconds) and the criterion."""
    from lib.lmm.fit import fit_stats
    from lib.model.spec import ModelSpec

    spec = ModelSpec.one_factor("y", "group", fixed=("x",), random_slopes=("x",))
    timings: dict[str, float] = {}
    start = time.perf_counter()
    if engine == "pandas":
        import pandas as pd

        from lib.lmm.fit import rows_pass
        from lib.lmm.stats import model_stats
        from lib.model.design import build_design

        frame = pd.read_parquet(path)
        frame["group"] = frame["group"].astype("category")
        design = build_design(frame, spec)
        stats = model_stats(design)

        def rows(b, m, s):  # noqa: ANN001, ANN202
            return rows_pass(design, b, m, s)

    else:
        from lib.aggregate import DuckDBEngine, SparkEngine, engine_stats, spark_session
        from lib.aggregate.sqlfit import second_pass

        if engine == "duckdb":
            db = DuckDBEngine(path, memory_limit=memory_limit)
        else:
            session = spark_session(
                "local[2]",
                {
                    "spark.ui.enabled": "false",
                    "spark.sql.shuffle.partitions": "8",
                    "spark.driver.memory": "4g",
                },
            )
            session.sparkContext.setLogLevel("ERROR")
            timings["spark_start"] = time.perf_counter() - start
            start = time.perf_counter()
            db = SparkEngine(session, path)
        stats, model = engine_stats(db, spec)

        def rows(b, m, s):  # noqa: ANN001, ANN202
            return second_pass(model, b, m, s)

    timings["aggregate"] = time.perf_counter() - start
    second = {}

    def timed_rows(b, m, s):  # noqa: ANN001, ANN202
        t = time.perf_counter()
        out = rows(b, m, s)
        second["t"] = time.perf_counter() - t
        return out

    t = time.perf_counter()
    fit = fit_stats(stats, spec, timed_rows)
    timings["second_pass"] = second["t"]
    timings["engine"] = time.perf_counter() - t - second["t"]
    timings["total"] = time.perf_counter() - start + timings.get("spark_start", 0.0)
    return {
        "timings": timings,
        "criterion": fit.criterion,
        "nobs": fit.nobs,
        "groups": len(fit.ranef[0].levels),
    }


def measure(engine: str, path: str, memory_limit: str | None) -> dict:
    cmd = ["/usr/bin/time", "-v", sys.executable, __file__, "--child", f"{engine}:{path}"]
    if memory_limit:
        cmd += ["--memory-limit", memory_limit]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed"}
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    result["peak_mb"] = int(peak.group(1)) / 1024 if peak else float("nan")
    result["process_wall"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", action="append", default=[], help="ENGINE:PATH (repeatable)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", help="DuckDB memory_limit, e.g. 1500MB")
    args = parser.parse_args()
    if args.child:
        engine, path = args.child.split(":", 1)
        print(json.dumps(run_case(engine, path, args.memory_limit)))
        return
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    head = (
        "| engine | rows | groups | aggregate s | engine s | second pass s | "
        "fit total s | process wall s | peak MB | criterion |"
    )
    print(head)
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for case in args.case:
        engine, path = case.split(":", 1)
        r = measure(engine, path, args.memory_limit)
        if "error" in r:
            print(f"| {engine} | {path} | error: {r['error']} |")
            continue
        t = r["timings"]
        agg = t["aggregate"]
        if "spark_start" in t:
            agg_text = f"{agg:.2f} (+{t['spark_start']:.1f} JVM start)"
        else:
            agg_text = f"{agg:.2f}"
        print(
            f"| {engine} | {r['nobs']:,} | {r['groups']:,} | {agg_text} | {t['engine']:.2f} | "
            f"{t['second_pass']:.2f} | {t['total']:.2f} | {r['process_wall']:.1f} | "
            f"{r['peak_mb']:.0f} | {r['criterion']:.6f} |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
