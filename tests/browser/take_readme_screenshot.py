"""Write docs/screenshot-model.png: the Model page, tutorial data, random-intercept model.

Run from anywhere (needs Debian's chromium at /usr/bin/chromium):

    python tests/browser/take_readme_screenshot.py

It starts the app with the same helper as the browser tests, opens the Model
page on the bundled tutorial data with the default (random-intercept) model,
waits until the fit is shown and the script has finished, and saves the
1280x720 viewport, i.e. what a projector shows without scrolling.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_MISSING,
    REPO_ROOT,
    VIEWPORT,
    launch_chromium,
    streamlit_server,
)

OUTPUT = REPO_ROOT / "docs" / "screenshot-model.png"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
FORMULA = "test_score ~ 1 + study_time + (1 | school)"


def main() -> int:
    if not CHROMIUM.exists():
        print(CHROMIUM_MISSING, file=sys.stderr)
        return 1
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{base_url}/Model")
            code = page.locator('[data-testid="stMain"] [data-testid="stCode"]').first
            expect(code).to_have_text(FORMULA, timeout=60_000)
            page.wait_for_selector(IDLE, state="attached", timeout=60_000)
            expect(page.locator('[data-testid="stSpinner"]')).to_have_count(0)
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            page.mouse.move(0, 0)
            page.screenshot(path=OUTPUT)
        finally:
            browser.close()
    print(f"wrote {OUTPUT.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
