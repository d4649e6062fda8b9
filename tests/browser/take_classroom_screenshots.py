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

# name -> (URL path and query, heading, tab to click or None)
SHOTS = {
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
    "pooling-full-plane-1280": "screenshot-pooling.png",
    "sandbox-1024": "screenshot-sandbox.png",
    "present-model-1024": "screenshot-presentation.png",
    "present-lesson-1024": "screenshot-lesson.png",
}


def _prepare(page: Page, heading: str, tab: str | None) -> None:
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(timeout=90_000)
    if tab:
        page.get_by_role("tab", name=tab).click()
    page.wait_for_timeout(1500)  # charts draw after the run ends


def _full_height(page: Page, out: Path, size: dict) -> None:
    # Streamlit scrolls inside its main block: a tall viewport shows it all.
    page.set_viewport_size({"width": size["width"], "height": 2400})
    page.wait_for_timeout(800)
    page.screenshot(path=out.with_name(out.stem + "-full.png"))


if __name__ == "__main__":
    raise SystemExit(take(SHOTS, DOCS, "classroom", _prepare, _full_height))
