"""Screenshots of the classroom pages at projector sizes (1024x768 and 1280x720).

    python tests/browser/take_classroom_screenshots.py [NAME ...]

Writes ``tests/artifacts/screenshots/classroom-<name>-<width>.png`` (the first
screen, what a projector shows without scrolling); ``--docs`` also copies the
ones the README uses to ``docs/``. Needs Debian's chromium at /usr/bin/chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Page, expect

from tests.browser.screenshots import take

# name -> (URL path and query, heading, tab to click or "#heading" to scroll to, or None)
SHOTS = {
    "compare-tests": ("/Compare", "Compare strategies", "#Model comparison"),
    "ladder-tests": ("/Ladder", "Model ladder", "#Likelihood-ratio tests"),
    "model-metrics-pupils": ("/Model?data=pupils", "Model", "#Linear mixed model fit by REML"),
    "model-lines-pupils": (
        "/Model?data=pupils&group2=&random_slope=true",
        "Model",
        "#No rows were dropped",
    ),
    "explore-pupils": ("/Explore?data=pupils", "Explore", "#Distribution of score"),
    "pooling-plane-1024": ("/Pooling?random_slope=true", "Pooling", "Shrinkage plot"),
    "pooling-ri": ("/Pooling", "Pooling", None),
    "pooling-full-plane": (
        "/Pooling?random_slope=true",
        "Pooling",
        "Shrinkage plot",
    ),
    "pooling-dietox": (
        "/Pooling?data=dietox&random_slope=true",
        "Pooling",
        "Shrinkage plot",
    ),
    "sandbox": ("/Sandbox", "Simulation sandbox: why not just OLS?", None),
    "ladder": ("/Ladder", "Model ladder", None),
    "present-model": ("/Model?present=1", "Model", None),
    "present-model-full": ("/Model?present=1&random_slope=true", "Model", None),
    "present-pooling": ("/Pooling?present=1&random_slope=true", "Pooling", None),
    "lesson": ("/Lesson?step=5", "Step 5 of 9: Null model and ICC", None),
    "present-lesson": ("/Lesson?step=6&present=1", "Step 6 of 9: Random intercept", None),
}
DOCS = {
    "pooling-full-plane-1024": "screenshot-pooling.png",
    "compare-tests-1024": "screenshot-comparison.png",
    "model-lines-pupils-1024": "screenshot-many-groups.png",
    "model-metrics-pupils-1024": "screenshot-metrics-1024.png",
    "sandbox-1024": "screenshot-sandbox.png",
    "present-model-1024": "screenshot-presentation.png",
    "present-lesson-1024": "screenshot-lesson.png",
}


def _prepare(page: Page, heading: str, tab: str | None) -> None:
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(timeout=90_000)
    page.wait_for_timeout(1500)  # charts draw after the run ends
    if tab and tab.startswith("#"):  # scroll that heading (or chart title) to the top
        target = page.get_by_text(tab[1:]).first
        target.scroll_into_view_if_needed()
        target.evaluate("e => e.scrollIntoView({block: 'start'})")
    elif tab:
        page.get_by_role("tab", name=tab).click()
    page.wait_for_timeout(1000)


def _full_height(page: Page, out: Path, size: dict) -> None:
    # Streamlit scrolls inside its main block: a tall viewport shows it all.
    page.set_viewport_size({"width": size["width"], "height": 2400})
    page.wait_for_timeout(800)
    page.screenshot(path=out.with_name(out.stem + "-full.png"))


if __name__ == "__main__":
    raise SystemExit(take(SHOTS, DOCS, "classroom", _prepare, _full_height))
