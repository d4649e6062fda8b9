"""Benchmarks of confidence intervals (issue 15): prints a table.

* ``tutorial_profile``: profile intervals of every parameter of the tutorial's
  model ``test_score ~ study_time + (study_time | school)`` (target <= 0.5 s);
* ``insteval_profile``: profile intervals of InstEval's
  ``y ~ service + (1|s) + (1|d) + (1|dept)`` (target <= 1/10 of lme4's
  ``confint()``; data ``tests/reference/data/insteval.csv.gz``);
* ``tutorial_boot``: 1,000 parametric-bootstrap refits of the tutorial's model
  (target <= 5 s).

Times are wall seconds from the fitted model to the intervals (the fit itself is
not counted), medians of ``--repeats`` runs (one run for InstEval). ``--r`` also
times lme4 with ``benchmarks/bench_intervals_r.R`` (slow: InstEval's profile takes
lme4 minutes). The machine's load average is printed with each figure.

Measured 2026-12-06 on the shared 2-core machine (load average in brackets):
tutorial profile 0.17 s (5.0; lme4 3.35 s at 4.8-9); 1,000 bootstrap refits 5.9 s
(5.4; lme4 80 s at 9); InstEval profile 109 s (3.0-3.3; lme4's confint 1,772 s
at load 10 falling to 4: 16x).

Usage::

    python benchmarks/bench_intervals.py [--cases tutorial_profile,tutorial_boot] [--r]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pandas as pd

from lib.api import lmer

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = "test_score ~ study_time + (study_time | school)"
INSTEVAL = "y ~ service + (1 | s) + (1 | d) + (1 | dept)"
CASES = ("tutorial_profile", "tutorial_boot", "insteval_profile")
R_KEYS = {
    "tutorial_profile": "tutorial_profile",
    "tutorial_boot": "tutorial_boot_1000",
    "insteval_profile": "insteval_profile",
}
R_CASES = {"tutorial_profile": "tutorial", "tutorial_boot": "boot", "insteval_profile": "insteval"}


def load() -> float:
    return os.getloadavg()[0]


def tutorial():  # noqa: ANN201
    frame = pd.read_csv(ROOT / "data" / "schools.csv", dtype={"school": str})
    return lmer(TUTORIAL, frame)


def insteval():  # noqa: ANN201
    frame = pd.read_csv(
        ROOT / "tests" / "reference" / "data" / "insteval.csv.gz",
        dtype={"s": str, "d": str, "dept": str, "service": str},
    )
    return lmer(INSTEVAL, frame)


def timed(run, repeats: int) -> tuple[float, float]:  # noqa: ANN001
    times, loads = [], []
    for _ in range(repeats):
        loads.append(load())
        t = time.perf_counter()
        run()
        times.append(time.perf_counter() - t)
    return statistics.median(times), max(loads)


def r_seconds(case: str) -> tuple[float | None, float]:
    if shutil.which("Rscript") is None:
        return None, load()
    before = load()
    proc = subprocess.run(
        ["Rscript", str(ROOT / "benchmarks" / "bench_intervals_r.R"), R_CASES[case]],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(json.loads(proc.stdout.strip().splitlines()[-1])[R_KEYS[case]]), before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--r", action="store_true", help="also time lme4 (slow)")
    args = parser.parse_args()
    rows = []
    for case in args.cases.split(","):
        if case == "tutorial_profile":
            m = tutorial()
            seconds, busy = timed(lambda m=m: m.confint("profile"), args.repeats)
            target = "<= 0.5 s"
        elif case == "tutorial_boot":
            m = tutorial()
            seconds, busy = timed(lambda m=m: m.confint("boot", nsim=1000, seed=1), args.repeats)
            target = "<= 5 s"
        elif case == "insteval_profile":
            m = insteval()
            seconds, busy = timed(lambda m=m: m.confint("profile"), 1)
            target = "<= lme4 / 10"
        else:
            raise SystemExit(f"unknown case {case!r}; choose from {', '.join(CASES)}")
        r, r_load = r_seconds(case) if args.r else (None, load())
        rows.append((case, seconds, busy, r, r_load, target))
    print(f"{'case':<18} {'ours s':>9} {'load':>5} {'lme4 s':>9} {'load':>5} {'ratio':>7}  target")
    for case, seconds, busy, r, r_load, target in rows:
        ratio = f"{r / seconds:7.1f}" if r else "      -"
        r_text = f"{r:9.2f}" if r else "        -"
        print(f"{case:<18} {seconds:9.3f} {busy:5.1f} {r_text} {r_load:5.1f} {ratio}  {target}")


if __name__ == "__main__":
    main()
