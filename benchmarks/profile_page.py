"""CPU profile of one warm Model-page run (``?random_slope=true``), with cProfile.

The page is run once to warm the caches (fit, chart specs), then ``--runs``
more times under the profiler, as ``AppTest`` runs it on the server. Prints the
CPU seconds per run and the functions with the most cumulative time.

    python benchmarks/profile_page.py [--runs 10] [--page pages/3_Model.py]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.runtime.scriptrunner import script_runner  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

PROFILER = cProfile.Profile()
RECORDING = {"on": False, "cpu": 0.0}
_original_run_script = script_runner.ScriptRunner._run_script


def _profiled_run_script(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    """The page script runs in the ScriptRunner's thread: profile it there."""
    if not RECORDING["on"]:
        return _original_run_script(self, *args, **kwargs)
    cpu = time.thread_time()
    PROFILER.enable()
    try:
        return _original_run_script(self, *args, **kwargs)
    finally:
        PROFILER.disable()
        RECORDING["cpu"] += time.thread_time() - cpu


script_runner.ScriptRunner._run_script = _profiled_run_script


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--page", default="pages/3_Model.py")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(args.page)
    at.query_params["random_slope"] = "true"
    at.run()
    assert not at.exception, at.exception
    RECORDING["on"] = True
    for _ in range(args.runs):
        at.run()
    RECORDING["on"] = False
    per_run = RECORDING["cpu"] / args.runs
    profiler = PROFILER
    print(
        f"{args.page}: {per_run * 1000:.0f} ms CPU per warm run in the script thread "
        f"(under cProfile, {args.runs} runs)"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
