"""Rerun latency of the Model page after a sidebar toggle, on the tutorial data.

Two measurements, both on ``data/schools.csv`` (the app's default data set):

* **server** (``streamlit.testing.v1.AppTest``): wall time of the script rerun
  that a toggle triggers, i.e. everything Streamlit executes on the server:
  reading the session's choices, the (cached) fit, building every table and
  chart spec. ``miss`` clears ``st.cache_data`` before the toggle, so the rerun
  refits; ``hit`` repeats a toggle whose fit is already cached.
* **browser** (Playwright + Debian ``/usr/bin/chromium``, a real
  ``streamlit run app.py`` server on a free local port): from the click on the
  sidebar toggle until the page shows the new formula *and* Streamlit reports the
  run finished (``data-test-script-state="notRunning"``). This is what a user
  sees, including the websocket round trip and the browser's rendering of every
  element (Vega charts finish drawing asynchronously afterwards). Each model in
  the cycle is new to the server the first time (``miss``), cached afterwards
  (``hit``). Skipped with a note when chromium or Playwright is missing.

Usage::

    python benchmarks/bench_app.py                 # both, 10 rounds each
    python benchmarks/bench_app.py --rounds 20 --no-browser
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MODEL_PAGE = "pages/3_Model.py"
FORMULA_RI = "test_score ~ 1 + study_time + (1 | school)"
FORMULA_FULL = "test_score ~ 1 + study_time + (1 + study_time | school)"
FORMULA_UNCORR = "test_score ~ 1 + study_time + (1 | school) + (0 + study_time | school)"

# Browser cycle: (sidebar toggle label, switch on?, formula shown afterwards).
# Starting from the default random-intercept model, each step is a different
# model, and the cycle ends where it started, so round 1 refits and later rounds
# hit the cache.
CYCLE = (
    ("Random slope", True, FORMULA_FULL),
    ("Correlated intercept and slope", False, FORMULA_UNCORR),
    ("Correlated intercept and slope", True, FORMULA_FULL),
    ("Random slope", False, FORMULA_RI),
)


def summarize(times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return (
        f"n={len(ms):3d}  median {statistics.median(ms):7.1f} ms  "
        f"min {min(ms):7.1f} ms  max {max(ms):7.1f} ms"
    )


def server_latency(rounds: int) -> dict[str, list[float]]:
    """AppTest reruns after toggling the random slope, with and without a cached fit."""
    from streamlit.testing.v1 import AppTest

    from ui import cache

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(MODEL_PAGE)
    at.run()
    assert not at.exception, at.exception
    out: dict[str, list[float]] = {"miss": [], "hit": []}

    def toggle_random_slope(on: bool) -> float:
        toggle = at.sidebar.toggle(key="random_slope").set_value(on)
        start = time.perf_counter()
        toggle.run()
        elapsed = time.perf_counter() - start
        assert not at.exception, at.exception
        expected = FORMULA_FULL if on else FORMULA_RI
        assert expected in [c.value for c in at.code], expected
        return elapsed

    for _ in range(rounds):
        # As the first time anyone toggles: no fit and no chart of the new model cached
        # (the data, its sample and summaries stay cached, as after the first page view).
        cache.fit.clear()
        cache.chart_spec.clear()
        out["miss"].append(toggle_random_slope(True))  # refits the full model
        toggle_random_slope(False)  # refits (and caches) the random-intercept model
        out["hit"].append(toggle_random_slope(True))  # both fits cached now
        toggle_random_slope(False)
    return out


def browser_latency(rounds: int) -> dict[str, list[float]] | str:
    """Click-to-finished times in chromium; a reason string when it cannot run."""
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        return "skipped: /usr/bin/chromium not installed"
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        return "skipped: playwright not installed (pip install -e '.[test]')"
    from tests.browser.conftest import CHROMIUM_ARGS, VIEWPORT, streamlit_server

    idle = '[data-testid="stApp"][data-test-script-state="notRunning"]'
    formula = '[data-testid="stMain"] [data-testid="stCode"]'
    out: dict[str, list[float]] = {"miss": [], "hit": []}
    with streamlit_server() as base_url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport=VIEWPORT, base_url=base_url)
        page.goto("/Model")
        expect(page.locator(formula).first).to_have_text(FORMULA_RI, timeout=120_000)
        page.wait_for_selector(idle, state="attached", timeout=120_000)
        sidebar = page.locator('[data-testid="stSidebar"]')
        fitted = {FORMULA_RI}  # the server has fitted (and cached) these models
        for _ in range(rounds):
            for label, on, shown in CYCLE:
                switch = sidebar.get_by_role("switch", name=label, exact=True)
                target = (  # the visible label; the switch input itself is 1 px
                    sidebar.locator('[data-testid="stCheckbox"]')
                    .filter(has=page.get_by_role("switch", name=label, exact=True))
                    .locator("label")
                    .first
                )
                assert switch.is_checked() != on, (label, on)
                page.mouse.move(0, 0)
                start = time.perf_counter()
                target.click()
                expect(page.locator(formula).first).to_have_text(shown, timeout=60_000)
                page.wait_for_selector(idle, state="attached", timeout=60_000)
                elapsed = time.perf_counter() - start
                out["hit" if shown in fitted else "miss"].append(elapsed)
                fitted.add(shown)
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-server", action="store_true")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    logging.disable(logging.WARNING)  # AppTest's "no runtime" notices, one per rerun
    print(f"Model page rerun after a toggle, tutorial data (load average {os.getloadavg()[0]:.2f})")
    if not args.no_server:
        server = server_latency(args.rounds)
        print("server (AppTest script rerun)")
        print(f"  fit not cached  {summarize(server['miss'])}")
        print(f"  fit cached      {summarize(server['hit'])}")
    if not args.no_browser:
        browser = browser_latency(args.rounds)
        print("browser (click -> new formula shown and run finished, chromium)")
        if isinstance(browser, str):
            print(f"  {browser}")
        else:
            print(f"  fit not cached  {summarize(browser['miss'])}")
            print(f"  fit cached      {summarize(browser['hit'])}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
