"""Benchmark several random terms (crossed and nested) against lme4.

Cases
-----
* ``insteval``: lme4's InstEval (73,421 rows; 2,972 students x 1,128 lecturers
  x 14 departments, crossed), ``y ~ service + (1|s) + (1|d) + (1|dept)`` by REML.
  Data: ``tests/reference/data/insteval.csv.gz`` (written by the reference R
  script).
* ``nested3``: synthetic pupils in classes in schools, 10^6 rows (1,000 schools
  x 20 classes x 50 pupils), ``y ~ x + (1|school) + (1|class:school)``.
* ``onefactor``: ``y ~ x + (x | g)`` on 10^6 rows / 10,000 groups (the case of
  ``bench_fit.py``), to check the one-term path did not get slower.

What is timed
-------------
* engine "to optimum": design, statistics and the theta search (what lme4's
  ``lmer`` does); engine "full fit": the whole ``fit_lmm`` call, which also
  computes lmerTest's Satterthwaite df, conditional variances, ICC and R^2.
* lme4: ``system.time(lmer(...))["elapsed"]`` inside R on data already read.

Medians of ``--repeats`` runs after one warm-up (lme4: one run for InstEval).

Usage::

    python benchmarks/bench_multilevel.py                 # all cases, lme4 if Rscript exists
    python benchmarks/bench_multilevel.py --cases insteval --no-r
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_fit import load_average, render_table, synthetic_frame  # noqa: E402
from lib.lmm import blas, fit_lmm  # noqa: E402
from lib.lmm.blocked import BlockedModel  # noqa: E402
from lib.lmm.oneterm import OneTermModel  # noqa: E402
from lib.lmm.search import blocked_search, one_term_search  # noqa: E402
from lib.lmm.stats import model_stats  # noqa: E402
from lib.model.design import build_design  # noqa: E402
from lib.model.spec import ModelSpec, RandomTerm  # noqa: E402

INSTEVAL = ROOT / "tests" / "reference" / "data" / "insteval.csv.gz"
SEED = 20261129

SPECS = {
    "insteval": ModelSpec(
        "y", ("service",), (RandomTerm(("s",)), RandomTerm(("d",)), RandomTerm(("dept",)))
    ),
    "nested3": ModelSpec("y", ("x",), (RandomTerm(("school",)), RandomTerm(("class", "school")))),
    "onefactor": ModelSpec.one_factor("y", "g", ("x",), random_slopes=("x",)),
}
R_FORMULAS = {
    "insteval": "y ~ service + (1|s) + (1|d) + (1|dept)",
    "nested3": "y ~ x + (1|school) + (1|class:school)",
    "onefactor": "y ~ x + (x | g)",
}
FACTORS = {
    "insteval": ("s", "d", "dept", "service"),
    "nested3": ("school", "class"),
    "onefactor": ("g",),
}


def insteval_frame() -> pd.DataFrame:
    if not INSTEVAL.is_file():
        raise SystemExit(f"{INSTEVAL} is missing: run tests/reference/make_multilevel_reference.R")
    return pd.read_csv(INSTEVAL, dtype={c: "category" for c in FACTORS["insteval"]})


def nested_frame(schools: int = 1000, classes: int = 20, pupils: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    n = schools * classes * pupils
    school = np.repeat(np.arange(schools), classes * pupils)
    klass = np.tile(np.repeat(np.arange(classes), pupils), schools)
    u_school = rng.normal(0, 3.0, schools)
    u_class = rng.normal(0, 2.0, schools * classes)
    x = rng.normal(0, 1, n)
    y = 50 + 2.0 * x + u_school[school] + u_class[school * classes + klass] + rng.normal(0, 5, n)
    return pd.DataFrame(
        {
            "y": y,
            "x": x,
            "school": pd.Categorical([f"S{k:04d}" for k in range(schools)])[school],
            # Class labels repeat in every school: only class:school identifies a class.
            "class": pd.Categorical([f"C{k:02d}" for k in range(classes)])[klass],
        }
    )


def frame_for(case: str) -> pd.DataFrame:
    if case == "insteval":
        return insteval_frame()
    if case == "nested3":
        return nested_frame()
    frame = synthetic_frame(1_000_000, 10_000)
    frame["g"] = frame["g"].astype("category")
    return frame


def to_optimum(frame: pd.DataFrame, spec: ModelSpec) -> float:
    """Design, statistics and the theta search only; returns the criterion."""
    with blas.single_thread():
        stats = model_stats(build_design(frame, spec))
        if len(stats.terms) == 1:
            return one_term_search(OneTermModel(stats), spec.reml)[1]
        return blocked_search(BlockedModel(stats), stats, spec.reml)[1]


def median_time(func, repeats: int) -> tuple[float, object]:  # noqa: ANN001
    result = func()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(lme4))
d <- read.csv(args[1])
for (f in strsplit(args[3], ",")[[1]]) d[[f]] <- factor(d[[f]])
elapsed <- system.time(m <- lmer(as.formula(args[2]), data = d, REML = TRUE))["elapsed"]
msgs <- m@optinfo$conv$lme4$messages
cat("ELAPSED", sprintf("%.4f", elapsed), "\n")
cat("CRIT", sprintf("%.10f", REMLcrit(m)), "\n")
cat("WARN", if (length(msgs)) paste(msgs, collapse = " | ") else "none", "\n")
"""


def time_lme4(case: str, frame: pd.DataFrame, workdir: Path) -> tuple[float, float, str] | None:
    if shutil.which("Rscript") is None:
        return None
    data = workdir / f"{case}.csv"
    frame.to_csv(data, index=False)
    script = workdir / "fit.R"
    script.write_text(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", str(script), str(data), R_FORMULAS[case], ",".join(FACTORS[case])],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = {line.split(" ", 1)[0]: line.split(" ", 1)[1].strip() for line in out.splitlines()}
    return float(fields["ELAPSED"]), float(fields["CRIT"]), fields["WARN"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="insteval,nested3,onefactor")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-r", action="store_true", help="skip lme4")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in args.cases.split(","):
            frame = frame_for(case)
            spec = SPECS[case]
            t_opt, crit = median_time(lambda f=frame, s=spec: to_optimum(f, s), args.repeats)
            t_fit, fit = median_time(lambda f=frame, s=spec: fit_lmm(f, s), args.repeats)
            r = None if args.no_r else time_lme4(case, frame, Path(tmp))
            levels = " x ".join(f"{n:,}" for n in fit.ngroups.values())
            rows.append(
                [
                    case,
                    f"{len(frame):,}",
                    levels,
                    f"{t_opt:.3f}",
                    f"{t_fit:.3f}",
                    f"{r[0]:.2f}" if r else "-",
                    f"{r[0] / t_opt:.1f}x" if r else "-",
                    f"{crit:.4f}",
                    f"{crit - r[1]:+.2e}" if r else "-",
                    r[2] if r else "-",
                ]
            )
            print(f"{case}: done", file=sys.stderr)
    headers = [
        "case",
        "rows",
        "levels",
        "engine to optimum (s)",
        "engine full fit (s)",
        "lme4 (s)",
        "lme4 / engine",
        "criterion",
        "engine - lme4",
        "lme4 warnings",
    ]
    print(render_table(headers, rows))
    print(f"\nload average at the end: {load_average()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
