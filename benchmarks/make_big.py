"""Write synthetic Parquet for the big-data benchmarks without holding the rows in memory.

    python benchmarks/make_big.py --rows 1e7 --groups 1e5 --out /tmp/big_1e7.parquet
    python benchmarks/make_big.py --rows 1e8 --groups 1e6 --out /tmp/big_1e8.parquet

Model (as benchmarks/bench_fit.py): y = 2 + 0.5 x + u0 + u1 x + e, x ~ N(5, 2),
random-effect SDs 2 and 0.5 with correlation 0.3, residual SD 1.5; each row's group
is drawn uniformly (int32 codes, column ``group``). Rows are written in chunks of
``--chunk`` rows, one Parquet row group each, so memory stays at a few chunks.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SEED = 20240611


def random_effects(rng: np.random.Generator, groups: int) -> np.ndarray:
    sd = np.array([2.0, 0.5])
    corr = np.array([[1.0, 0.3], [0.3, 1.0]])
    cov = corr * np.outer(sd, sd)
    return rng.multivariate_normal(np.zeros(2), cov, size=groups)


def write(rows: int, groups: int, out: str, chunk: int = 5_000_000) -> None:
    rng = np.random.default_rng(SEED)
    u = random_effects(rng, groups)
    schema = pa.schema([("y", pa.float64()), ("x", pa.float64()), ("group", pa.int32())])
    with pq.ParquetWriter(out, schema, compression="snappy") as writer:
        done = 0
        while done < rows:
            n = min(chunk, rows - done)
            g = rng.integers(0, groups, n, dtype=np.int32)
            x = rng.normal(5.0, 2.0, n)
            y = 2.0 + 0.5 * x + u[g, 0] + u[g, 1] * x + rng.normal(0.0, 1.5, n)
            writer.write_table(pa.table({"y": y, "x": x, "group": g}, schema=schema))
            done += n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=float, required=True)
    parser.add_argument("--groups", type=float, required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--chunk", type=int, default=5_000_000)
    args = parser.parse_args()
    start = time.perf_counter()
    write(int(args.rows), int(args.groups), args.out, args.chunk)
    print(f"wrote {int(args.rows):,} rows to {args.out} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
