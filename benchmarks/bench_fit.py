"""Benchmark ``lib.lmm.fit_lmm`` against statsmodels ``MixedLM`` and R's ``lme4::lmer``.

Model: ``y ~ x + (x | g)`` (correlated random intercept and slope, REML) on
synthetic data of 1e4 rows / 100 groups, 1e5 / 1,000 and 1e6 / 10,000, plus the
tutorial-sized data set (``data/schools.csv``: ``test_score ~ study_time +
(study_time | school)``; a synthetic 183 rows / 3 groups when the file is absent).

What is timed
-------------
* engine: the whole ``fit_lmm(frame, spec)`` call on a DataFrame already in
  memory (design matrices, optimisation, Satterthwaite df, ranef, R^2 ...:
  everything the app shows). One warm-up call, then N timed repeats.
* statsmodels: ``MixedLM(endog, exog, groups, exog_re).fit(reml=True)`` on
  NumPy arrays (no formula API). One warm-up, then N repeats, unless the
  warm-up took longer than ``--slow-threshold`` seconds: then that single run is
  the measurement.
* lme4: ``lmer(y ~ x + (x | g), data = d, REML = TRUE)`` timed inside R with
  ``system.time(...)["elapsed"]`` (data already read and ``g`` a factor),
  one warm-up then N repeats. Needs ``Rscript`` on the PATH.

Criteria (REML criterion, -2 * REML log-likelihood) are compared between tools:
``crit diff`` is engine minus other, so a negative value means the engine found
a better (lower) optimum.

Usage::

    python benchmarks/bench_fit.py                       # everything
    python benchmarks/bench_fit.py --sizes tutorial,1e4 --no-r
    python benchmarks/bench_fit.py --json /tmp/bench.json --skip-statsmodels-above 100000
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lib.lmm import fit_lmm  # noqa: E402
from lib.model.spec import ModelSpec  # noqa: E402

SEED = 20240611
SCHOOLS_CSV = ROOT / "data" / "schools.csv"

# name -> (rows, groups, default timed repeats); "tutorial" rows/groups come from the data.
CASES: dict[str, tuple[int, int, int]] = {
    "tutorial": (183, 3, 20),
    "1e4": (10_000, 100, 5),
    "1e5": (100_000, 1_000, 5),
    "1e6": (1_000_000, 10_000, 3),
}

# Informational targets (never change the exit status).
TARGET_1E6_SECONDS = 0.5
TARGET_TUTORIAL_SECONDS = 0.010
TARGET_LME4_SPEEDUP_1E6 = 90.0
TARGET_SM_SPEEDUP_1E6 = 140.0

SPEC = ModelSpec.one_factor(
    outcome="y",
    group="g",
    fixed=("x",),
    random_intercept=True,
    random_slopes=("x",),
    correlated=True,
    reml=True,
)

R_SCRIPT = r"""
args <- commandArgs(trailingOnly = TRUE)
path <- args[1]
reps <- as.integer(args[2])
suppressPackageStartupMessages(library(lme4))
if (requireNamespace("data.table", quietly = TRUE)) {
  d <- as.data.frame(data.table::fread(path, encoding = "UTF-8"))
  reader <- "data.table::fread"
} else {
  d <- read.csv(path, encoding = "UTF-8")
  reader <- "read.csv"
}
d$g <- factor(d$g)
warns <- character()
fit_once <- function() {
  withCallingHandlers(
    lme4::lmer(y ~ x + (x | g), data = d, REML = TRUE),
    warning = function(w) {
      warns <<- c(warns, conditionMessage(w))
      invokeRestart("muffleWarning")
    }
  )
}
warmup <- system.time(m <- fit_once())["elapsed"]
times <- numeric(reps)
for (i in seq_len(reps)) {
  gc(verbose = FALSE)
  times[i] <- system.time(m <- fit_once())["elapsed"]
}
cat("READER", reader, "\n")
cat("VERSION", R.version.string, "| lme4", as.character(packageVersion("lme4")), "\n")
cat("NOBS", nobs(m), "rows,", nlevels(d$g), "groups\n")
cat("WARMUP", sprintf("%.6f", warmup), "\n")
cat("ELAPSED", sprintf("%.6f", times), "\n")
cat("CRIT", sprintf("%.17g", REMLcrit(m)), "\n")
for (w in unique(warns)) cat("WARN", gsub("[\r\n]+", " ", w), "\n")
"""


@dataclass
class Timing:
    """Wall-clock seconds of the timed runs of one tool on one case."""

    times: list[float] = field(default_factory=list)
    warmup: float | None = None
    criterion: float | None = None
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def median(self) -> float | None:
        """Median of the timed runs (None when the tool was not run)."""
        return statistics.median(self.times) if self.times else None

    @property
    def min(self) -> float | None:
        """Fastest timed run (None when the tool was not run)."""
        return min(self.times) if self.times else None

    def to_dict(self) -> dict:
        """JSON-ready dict including the derived median and min."""
        out = asdict(self)
        out["median"] = self.median
        out["min"] = self.min
        return out


@dataclass
class CaseResult:
    """Everything measured for one data size."""

    case: str
    rows: int
    groups: int
    source: str
    engine: Timing
    statsmodels: Timing
    lme4: Timing

    def ratio(self, other: Timing) -> float | None:
        """Median time of ``other`` divided by the engine's median time."""
        if other.median is None or not self.engine.median:
            return None
        return other.median / self.engine.median

    def crit_diff(self, other: Timing) -> float | None:
        """Engine criterion minus ``other``'s (negative: the engine's optimum is lower)."""
        if other.criterion is None or self.engine.criterion is None:
            return None
        return self.engine.criterion - other.criterion

    def to_dict(self) -> dict:
        """JSON-ready dict with timings, ratios and criterion differences."""
        return {
            "case": self.case,
            "rows": self.rows,
            "groups": self.groups,
            "source": self.source,
            "engine": self.engine.to_dict(),
            "statsmodels": self.statsmodels.to_dict(),
            "lme4": self.lme4.to_dict(),
            "sm_over_engine": self.ratio(self.statsmodels),
            "lme4_over_engine": self.ratio(self.lme4),
            "crit_diff_vs_statsmodels": self.crit_diff(self.statsmodels),
            "crit_diff_vs_lme4": self.crit_diff(self.lme4),
        }


# ---------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------


def synthetic_frame(n: int, ngroups: int, seed: int = SEED) -> pd.DataFrame:
    """Simulate ``y = 2 + 0.5 x + u0_g + u1_g x + e`` with correlated (u0, u1).

    Every group gets ``n // ngroups`` or one more rows (shuffled). Group labels
    are strings ``g00042`` held in a pandas Categorical column ``g``.
    """
    rng = np.random.default_rng(seed)
    codes = rng.permutation(np.arange(n) % ngroups).astype(np.int32)
    x = rng.normal(5.0, 2.0, size=n)
    cov = np.array([[4.0, 0.3], [0.3, 0.25]])  # sd 2 and 0.5, correlation 0.3
    u = rng.multivariate_normal([0.0, 0.0], cov, size=ngroups)
    y = 2.0 + 0.5 * x + u[codes, 0] + u[codes, 1] * x + rng.normal(0.0, 1.5, size=n)
    width = max(5, len(str(ngroups - 1)))
    categories = [f"g{i:0{width}d}" for i in range(ngroups)]
    g = pd.Categorical.from_codes(codes, categories=categories)
    return pd.DataFrame({"y": y, "x": x, "g": g})


def tutorial_frame() -> tuple[pd.DataFrame, str]:
    """The tutorial data renamed to y/x/g, or a synthetic 183 x 3 stand-in."""
    if SCHOOLS_CSV.exists():
        raw = pd.read_csv(SCHOOLS_CSV, encoding="utf-8")
        frame = pd.DataFrame(
            {
                "y": raw["test_score"].to_numpy(dtype=float),
                "x": raw["study_time"].to_numpy(dtype=float),
                "g": pd.Categorical(raw["school"].astype(str)),
            }
        )
        digest = hashlib.sha256(SCHOOLS_CSV.read_bytes()).hexdigest()[:12]
        return frame, f"data/schools.csv (sha256 {digest}...)"
    rows, groups, _ = CASES["tutorial"]
    return synthetic_frame(rows, groups), "synthetic (data/schools.csv not found)"


def case_frame(case: str) -> tuple[pd.DataFrame, str]:
    """Data for one named case and a description of where it came from."""
    if case == "tutorial":
        return tutorial_frame()
    rows, groups, _ = CASES[case]
    return synthetic_frame(rows, groups), f"synthetic, seed {SEED}"


# ---------------------------------------------------------------------------
# Timers
# ---------------------------------------------------------------------------


def time_engine(frame: pd.DataFrame, repeats: int) -> Timing:
    """Time ``fit_lmm`` on the in-memory frame: one warm-up, then ``repeats`` runs."""
    result = Timing()
    t0 = time.perf_counter()
    fit = fit_lmm(frame, SPEC)
    result.warmup = time.perf_counter() - t0
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fit = fit_lmm(frame, SPEC)
        result.times.append(time.perf_counter() - t0)
    result.criterion = float(fit.criterion)
    if not fit.optimizer.converged:
        result.notes.append("optimizer did not report convergence")
    if fit.singular:
        result.notes.append("singular fit")
    return result


def _statsmodels_fit_once(y, X, groups, Z):
    """One ``MixedLM(...).fit(reml=True)`` on arrays; returns (seconds, result, warnings)."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        res = MixedLM(endog=y, exog=X, groups=groups, exog_re=Z).fit(reml=True)
        elapsed = time.perf_counter() - t0
    return elapsed, res, caught


def time_statsmodels(frame: pd.DataFrame, repeats: int, slow_threshold: float) -> Timing:
    """Time statsmodels MixedLM on arrays (X = Z = [1, x], groups = category codes).

    One warm-up then ``repeats`` runs; when the warm-up alone exceeds
    ``slow_threshold`` seconds it is kept as the single measurement.
    """
    result = Timing()
    y = frame["y"].to_numpy(dtype=float)
    x = frame["x"].to_numpy(dtype=float)
    X = np.column_stack([np.ones_like(x), x])
    Z = X.copy()
    groups = frame["g"].cat.codes.to_numpy()
    messages: set[str] = set()

    elapsed, res, caught = _statsmodels_fit_once(y, X, groups, Z)
    messages.update(str(w.message).splitlines()[0] for w in caught)
    result.warmup = elapsed
    if elapsed > slow_threshold:
        result.times.append(elapsed)
        result.notes.append(f"warm-up took {elapsed:.1f} s > {slow_threshold:g} s: single run")
    else:
        for _ in range(repeats):
            gc.collect()
            elapsed, res, caught = _statsmodels_fit_once(y, X, groups, Z)
            messages.update(str(w.message).splitlines()[0] for w in caught)
            result.times.append(elapsed)
    result.criterion = float(-2.0 * res.llf)
    if not res.converged:
        result.notes.append("statsmodels reports converged=False")
    result.notes.extend(f"warning: {m}" for m in sorted(messages))
    return result


def time_lme4(frame: pd.DataFrame, repeats: int, workdir: Path) -> Timing:
    """Write the frame to CSV, run ``lmer`` in a fresh Rscript and parse its timings."""
    result = Timing()
    csv_path = workdir / "data.csv"
    script_path = workdir / "bench_lmer.R"
    frame.to_csv(csv_path, index=False, encoding="utf-8")
    script_path.write_text(R_SCRIPT, encoding="utf-8")
    proc = subprocess.run(
        ["Rscript", "--vanilla", str(script_path), str(csv_path), str(repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        result.skipped = f"Rscript failed ({proc.returncode}): {proc.stderr.strip()[-500:]}"
        return result
    for line in proc.stdout.splitlines():
        key, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if key == "ELAPSED":
            result.times = [float(v) for v in rest.split()]
        elif key == "WARMUP":
            result.warmup = float(rest)
        elif key == "CRIT":
            result.criterion = float(rest)
        elif key == "WARN":
            result.notes.append(f"warning: {rest}")
        elif key in ("READER", "VERSION", "NOBS"):
            result.notes.append(f"{key.lower()}: {rest}")
    return result


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def _fmt_seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}x"


def _fmt_diff(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3g}"


def render_table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain-text (Markdown-compatible) table with right-aligned cells."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def summary_table(results: list[CaseResult]) -> str:
    """The main table: medians, speed-ups and criterion differences per case."""
    headers = [
        "case",
        "rows",
        "groups",
        "engine s",
        "statsmodels s",
        "lme4 s",
        "sm/engine",
        "lme4/engine",
        "crit diff vs sm",
        "crit diff vs lme4",
    ]
    rows = [
        [
            r.case,
            f"{r.rows:,}",
            f"{r.groups:,}",
            _fmt_seconds(r.engine.median),
            _fmt_seconds(r.statsmodels.median),
            _fmt_seconds(r.lme4.median),
            _fmt_ratio(r.ratio(r.statsmodels)),
            _fmt_ratio(r.ratio(r.lme4)),
            _fmt_diff(r.crit_diff(r.statsmodels)),
            _fmt_diff(r.crit_diff(r.lme4)),
        ]
        for r in results
    ]
    return render_table(headers, rows)


def detail_table(results: list[CaseResult]) -> str:
    """Per tool: number of timed runs, median, min, warm-up and the criterion."""
    headers = ["case", "tool", "runs", "median s", "min s", "warm-up s", "REML criterion"]
    rows = []
    for r in results:
        for name, t in (("engine", r.engine), ("statsmodels", r.statsmodels), ("lme4", r.lme4)):
            if t.skipped and not t.times:
                rows.append([r.case, name, "0", "-", "-", "-", "skipped"])
                continue
            crit = "-" if t.criterion is None else f"{t.criterion:.6f}"
            rows.append(
                [
                    r.case,
                    name,
                    str(len(t.times)),
                    _fmt_seconds(t.median),
                    _fmt_seconds(t.min),
                    _fmt_seconds(t.warmup),
                    crit,
                ]
            )
    return render_table(headers, rows)


def notes_text(results: list[CaseResult]) -> str:
    """Warnings and other notes collected from the tools, one per line."""
    lines = []
    for r in results:
        lines.append(f"- {r.case}: data = {r.source}")
        for name, t in (("engine", r.engine), ("statsmodels", r.statsmodels), ("lme4", r.lme4)):
            if t.skipped:
                lines.append(f"  - {name}: skipped ({t.skipped})")
            for note in t.notes:
                lines.append(f"  - {name}: {note}")
    return "\n".join(lines)


def evaluate_targets(results: list[CaseResult]) -> list[dict]:
    """PASS / FAIL / n/a for each informational target."""
    by_case = {r.case: r for r in results}
    big = by_case.get("1e6")
    tut = by_case.get("tutorial")

    def check(name: str, value: float | None, limit: float, at_most: bool, unit: str) -> dict:
        if value is None:
            status = "n/a"
        elif at_most:
            status = "PASS" if value <= limit else "FAIL"
        else:
            status = "PASS" if value >= limit else "FAIL"
        return {"target": name, "value": value, "limit": limit, "unit": unit, "status": status}

    return [
        check(
            "1e6 rows / 10,000 groups engine median <= 0.5 s",
            big.engine.median if big else None,
            TARGET_1E6_SECONDS,
            True,
            "s",
        ),
        check(
            "1e6: lme4 / engine >= 90x",
            big.ratio(big.lme4) if big else None,
            TARGET_LME4_SPEEDUP_1E6,
            False,
            "x",
        ),
        check(
            "1e6: statsmodels / engine >= 140x",
            big.ratio(big.statsmodels) if big else None,
            TARGET_SM_SPEEDUP_1E6,
            False,
            "x",
        ),
        check(
            "tutorial-sized engine median <= 10 ms",
            tut.engine.median if tut else None,
            TARGET_TUTORIAL_SECONDS,
            True,
            "s",
        ),
    ]


def targets_text(targets: list[dict]) -> str:
    """One line per target, e.g. ``[PASS] ... (measured 0.27 s)``."""
    lines = []
    for t in targets:
        if t["value"] is None:
            measured = "not measured"
        elif t["unit"] == "x":
            measured = f"measured {t['value']:.1f}x"
        else:
            measured = f"measured {t['value'] * 1000:.2f} ms"
        lines.append(f"[{t['status']:>4}] {t['target']} ({measured})")
    return "\n".join(lines)


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (other processes skew the timings)."""
    try:
        return " / ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def environment() -> dict:
    """Versions and machine facts that matter for reading the timings."""
    import scipy
    import statsmodels

    env = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "statsmodels": statsmodels.__version__,
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        if var in os.environ:
            env[var] = os.environ[var]
    return env


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def parse_sizes(text: str) -> list[str]:
    """``"1e4,tutorial"`` -> ordered, validated case names (``all`` = every case)."""
    if text.strip() == "all":
        return list(CASES)
    wanted = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in CASES]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown size(s) {unknown}; choose from {', '.join(CASES)} or 'all'"
        )
    return [c for c in CASES if c in wanted]


def run_case(case: str, args: argparse.Namespace, workdir: Path | None) -> CaseResult:
    """Build one case's data and time every requested tool on it."""
    frame, source = case_frame(case)
    rows, groups = len(frame), int(frame["g"].nunique())
    repeats = args.repeats if args.repeats else CASES[case][2]

    def log(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    log(f"[{case}] {rows:,} rows, {groups:,} groups, {repeats} repeats: engine ...")
    engine = time_engine(frame, repeats)

    if args.no_statsmodels:
        sm = Timing(skipped="--no-statsmodels")
    elif args.skip_statsmodels_above is not None and rows > args.skip_statsmodels_above:
        sm = Timing(skipped=f"rows > --skip-statsmodels-above {args.skip_statsmodels_above}")
    else:
        log(f"[{case}] statsmodels ...")
        sm = time_statsmodels(frame, repeats, args.slow_threshold)

    if workdir is None:
        lme4 = Timing(skipped="--no-r" if args.no_r else "Rscript not found")
    else:
        log(f"[{case}] lme4 ...")
        lme4 = time_lme4(frame, repeats, workdir)

    return CaseResult(case, rows, groups, source, engine, sm, lme4)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; always returns 0 (targets are informational)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=list(CASES),
        help=f"comma-separated subset of {','.join(CASES)} (default: all)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="timed repeats per tool and case after one warm-up "
        "(default: tutorial 20, 1e4 5, 1e5 5, 1e6 3)",
    )
    parser.add_argument("--no-r", action="store_true", help="skip lme4")
    parser.add_argument("--no-statsmodels", action="store_true", help="skip statsmodels")
    parser.add_argument(
        "--skip-statsmodels-above",
        type=lambda text: int(float(text)),
        default=None,
        metavar="N",
        help="skip statsmodels for cases with more than N rows",
    )
    parser.add_argument(
        "--slow-threshold",
        type=float,
        default=30.0,
        metavar="S",
        help="if the statsmodels warm-up takes more than S seconds it is the only run (default 30)",
    )
    parser.add_argument("--json", type=Path, default=None, metavar="PATH", help="write JSON here")
    parser.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    args = parser.parse_args(argv)

    load_start = load_average()
    use_r = not args.no_r and shutil.which("Rscript") is not None
    results: list[CaseResult] = []
    with tempfile.TemporaryDirectory(prefix="bench_fit_") as tmp:
        workdir = Path(tmp) if use_r else None
        for case in args.sizes:
            results.append(run_case(case, args, workdir))

    targets = evaluate_targets(results)
    env = environment()
    env["load_average_start"] = load_start
    env["load_average_end"] = load_average()
    print("Multilevel Explorer: fit benchmark, y ~ x + (x | g), REML")
    print(f"{env['timestamp']} | Python {env['python']} | {env['cpus']} CPUs | {env['platform']}")
    print(
        f"numpy {env['numpy']}, scipy {env['scipy']}, pandas {env['pandas']}, "
        f"statsmodels {env['statsmodels']}"
    )
    print(
        f"load average (1/5/15 min) at start {env['load_average_start']}, "
        f"at end {env['load_average_end']}"
    )
    print("Times are medians of the timed runs in seconds; crit diff = engine - other.\n")
    print(summary_table(results))
    print("\nDetails\n")
    print(detail_table(results))
    print("\nNotes\n")
    print(notes_text(results))
    print("\nTargets (informational)\n")
    print(targets_text(targets))

    if args.json is not None:
        payload = {
            "environment": env,
            "model": "y ~ x + (x | g), REML",
            "cases": [r.to_dict() for r in results],
            "targets": targets,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
