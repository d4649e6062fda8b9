"""Benchmark ``lib.glmm.fit_glmm`` against glmer's timings and logLik.

Cases (issue 16's targets: each in <= 1/10 of glmer's time, logLik never below):

* ``cbpp``: ``cbind(incidence, size - incidence) ~ period + (1 | herd)`` (56 rows);
* ``verbagg``: lme4's VerbAgg ``r2 ~ Anger + Gender + btype + situ + (1 | id) +
  (1 | item)`` (7,584 rows, crossed);
* ``1e5``: simulated ``y ~ x1 + x2 + (1 + x1 | g)``, 10^5 rows / 1,000 groups
  (``tests/glmm_reference.py: simulate_binary_slope``, the rows glmer fitted);
* ``1e6`` (``--sizes ...,1e6``): the same at 10^6 rows / 10,000 groups (not run
  by glmer here; the issue quotes 407 s).

What is timed: the whole ``fit_glmm(frame, spec, family)`` call on a frame in
memory (design, both stages, the Hessian SEs, packaging); one warm-up, then the
median of ``--repeats`` runs, wall time and CPU time (``time.process_time``; the
machine is shared, CPU time is the steadier number). glmer's time and logLik come
from ``tests/reference/glmm_bench_r.json`` (``benchmarks/bench_glmm_r.R``, glmer's
default control, on this machine under load) and, for cbpp, from
``tests/reference/glmm_engine_check.json``.

Usage::

    python benchmarks/bench_glmm.py                       # cbpp, verbagg, 1e5
    python benchmarks/bench_glmm.py --sizes verbagg --repeats 5
    python benchmarks/bench_glmm.py --sizes cbpp,verbagg,1e5,1e6 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.glmm import fit_glmm  # noqa: E402
from lib.model.response import ResponseFamily  # noqa: E402
from lib.model.spec import ModelSpec, RandomTerm  # noqa: E402
from tests.glmm_reference import frame as reference_frame  # noqa: E402
from tests.glmm_reference import simulate_binary_slope  # noqa: E402

REF = ROOT / "tests" / "reference"
# The quiet-machine glmer time for 10^6 rows (FACTS.md); glmer was not run here.
GLMER_1E6_SECONDS = 407.0


def case_cbpp() -> tuple:
    data = pd.read_csv(REF / "data" / "glmm_engine_cbpp.csv", dtype={"herd": str, "period": str})
    spec = ModelSpec(outcome="incidence", fixed=("period",), random=(RandomTerm(group=("herd",)),))
    check = json.loads((REF / "glmm_engine_check.json").read_text())
    return (
        data,
        spec,
        ResponseFamily("binomial", trials="size"),
        None,
        check["cbpp"]["tight"]["loglik"],
    )


def case_verbagg() -> tuple:
    data = reference_frame("verbagg")
    data["r2"] = (data["r2"].astype(str) != "N").astype(float)
    spec = ModelSpec(
        outcome="r2",
        fixed=("Anger", "Gender", "btype", "situ"),
        random=(RandomTerm(group=("id",)), RandomTerm(group=("item",))),
    )
    return (data, spec, ResponseFamily("binomial")) + _bench_r("verbagg")


def case_binary(n: int, groups: int, key: str | None) -> tuple:
    data = simulate_binary_slope(n, groups)
    spec = ModelSpec(
        outcome="y", fixed=("x1", "x2"), random=(RandomTerm(group=("g",), slopes=("x1",)),)
    )
    ref = _bench_r(key) if key else (GLMER_1E6_SECONDS, None)
    return (data, spec, ResponseFamily("binomial")) + ref


def _bench_r(case: str) -> tuple:
    bench = json.loads((REF / "glmm_bench_r.json").read_text())
    for r in bench["results"]:
        if r["case"] == case:
            return r["glmer_seconds"], r["glmer_loglik"]
    raise KeyError(case)


CASES = {
    "cbpp": case_cbpp,
    "verbagg": case_verbagg,
    "1e5": lambda: case_binary(100_000, 1_000, "1e5"),
    "1e6": lambda: case_binary(1_000_000, 10_000, None),
}


def measure(name: str, repeats: int) -> dict:
    data, spec, family, glmer_seconds, glmer_loglik = CASES[name]()
    fit = fit_glmm(data, spec, family)  # warm-up
    walls, cpus = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        fit = fit_glmm(data, spec, family)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    wall = statistics.median(walls)
    return {
        "case": name,
        "rows": fit.nobs,
        "wall": wall,
        "cpu": statistics.median(cpus),
        "loglik": fit.loglik,
        "evaluations": fit.evaluations,
        "glmer_seconds": glmer_seconds,
        "glmer_loglik": glmer_loglik,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="cbpp,verbagg,1e5")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows = [measure(name, args.repeats) for name in args.sizes.split(",")]
    head = (
        f"{'case':8} {'rows':>9} {'wall s':>8} {'cpu s':>8} {'logLik':>15} {'evals':>10} "
        f"{'glmer s':>8} {'glmer logLik':>15} {'glmer/ours':>10} {'dlogLik':>10}"
    )
    print(head)
    for r in rows:
        gl = r["glmer_loglik"]
        gs = r["glmer_seconds"]
        print(
            f"{r['case']:8} {r['rows']:>9,} {r['wall']:>8.3f} {r['cpu']:>8.3f} "
            f"{r['loglik']:>15.6f} {'/'.join(map(str, r['evaluations'])):>10} "
            f"{gs if gs is not None else float('nan'):>8.2f} "
            f"{gl if gl is not None else float('nan'):>15.6f} "
            f"{(gs / r['wall']) if gs else float('nan'):>10.1f} "
            f"{(r['loglik'] - gl) if gl is not None else float('nan'):>10.2e}"
        )
    print(f"repeats {args.repeats}, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
