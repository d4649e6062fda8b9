"""CPU of one warm page run (default: Model with ``?random_slope=true``), with cProfile.

The page is run once to warm the caches (fit, chart specs, tables), then
``--runs`` times without a profiler (the plain CPU per run of the script
thread), then ``--runs`` times under cProfile for the breakdown: the share of
the profiled time in each part of the page (tables, charts, cache look-ups,
sidebar...), the number of elements sent (deltas) per run, and the functions
with the most cumulative time. It also times one ``gc.collect(2)`` in this
process: what Streamlit's ``runner.postScriptGC`` (on by default, off in this
app's ``.streamlit/config.toml``) would add to every run.

    python benchmarks/profile_page.py [--runs 10] [--page pages/3_Model.py] [--query k=v]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.runtime.scriptrunner import script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

# cProfile's default (wall-clock) timer: a CPU-time timer costs a system call per event,
# which inflated a 60 ms run to 300 ms and skewed the shares towards call-heavy code.
PROFILER = cProfile.Profile()
RECORDING = {"mode": "off", "cpu": []}
_original_run_script = script_runner.ScriptRunner._run_script

# Parts of a run: (label, file suffix, function name). Shares are of the profiled time
# of the script thread; a part's time includes everything it calls.
PARTS = (
    ("sidebar (ui.sidebar.draw_sidebar)", "ui/sidebar.py", "draw_sidebar"),
    ("tables (ui.render.table)", "ui/render.py", "table"),
    ("  formatting numbers (shown_table)", "ui/render.py", "shown_table"),
    ("  st.dataframe / st.table", "streamlit/elements/arrow.py", "dataframe"),
    ("  download buttons", "streamlit/elements/widgets/button.py", "download_button"),
    ("charts (ui.render.chart)", "ui/render.py", "chart"),
    ("st.cache_data calls", "streamlit/runtime/caching/cache_utils.py", "__call__"),
    ("  hashing the arguments", "streamlit/runtime/caching/cache_utils.py", "_make_value_key"),
    ("fits (lib.lmm.fit_lmm)", "lib/lmm/__init__.py", "fit_lmm"),
)


def _run_script(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """The page script runs in the ScriptRunner's thread: measure it there."""
    mode = RECORDING["mode"]
    if mode == "off":
        return _original_run_script(self, *args, **kwargs)
    cpu = time.thread_time()
    if mode == "profile":
        PROFILER.enable()
    try:
        return _original_run_script(self, *args, **kwargs)
    finally:
        if mode == "profile":
            PROFILER.disable()
        else:
            RECORDING["cpu"].append(time.thread_time() - cpu)


script_runner.ScriptRunner._run_script = _run_script


def _cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    total, calls = 0.0, 0
    for (filename, _line, func), (_cc, nc, _tt, ct, _callers) in stats.stats.items():
        if func == name and filename.endswith(suffix):
            total += ct
            calls += nc
    return total, calls


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--page", default="pages/3_Model.py")
    parser.add_argument("--query", action="append", default=None, help="k=v (repeatable)")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    query = dict(q.split("=", 1) for q in (args.query or ["random_slope=true"]))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    if args.page != "app.py":
        at.switch_page(args.page)
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    at.run()
    RECORDING["mode"] = "plain"
    for _ in range(args.runs):
        at.run()
    RECORDING["mode"] = "profile"
    for _ in range(args.runs):
        at.run()
    RECORDING["mode"] = "off"
    plain = RECORDING["cpu"]
    gc_cpu = time.thread_time()
    gc.collect(2)
    gc_cpu = time.thread_time() - gc_cpu

    stats = pstats.Stats(PROFILER)
    profiled, _ = _cumulative(stats, "scriptrunner/script_runner.py", "_run_script")
    deltas = _cumulative(stats, "streamlit/delta_generator.py", "_enqueue")[1] / args.runs
    print(f"# {args.page} ?{'&'.join(f'{k}={v}' for k, v in query.items())}")
    print(f"# load average {os.getloadavg()[0]:.2f}")
    print(
        f"CPU per warm run (script thread, no profiler): median "
        f"{statistics.median(plain) * 1000:.0f} ms, min {min(plain) * 1000:.0f} ms "
        f"({args.runs} runs)"
    )
    print(f"elements sent per run (deltas): {deltas:.0f}")
    print(f"one gc.collect(2) in this process: {gc_cpu * 1000:.0f} ms CPU")
    print(f"under cProfile: {profiled / args.runs * 1000:.0f} ms per run (wall); shares of that:")
    for label, suffix, name in PARTS:
        seconds, calls = _cumulative(stats, suffix, name)
        if calls:
            print(
                f"  {label:<40} {100 * seconds / profiled:5.1f}%  ({calls / args.runs:.0f} calls)"
            )
    out = io.StringIO()
    stats.stream = out
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
