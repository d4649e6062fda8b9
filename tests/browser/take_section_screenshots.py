"""Screenshots of one section of a page (equations, diagnostics, per-school details).

    python tests/browser/take_section_screenshots.py [NAME ...] [--docs]

Scrolls the section's heading to the top of the screen and writes
``tests/artifacts/screenshots/section-<name>-<width>.png`` at 1024x768 and 1280x720;
``--docs`` copies the ones the README uses to ``docs/``. Needs Debian's chromium.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import expect, sync_playwright

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_MISSING,
    REPO_ROOT,
    SCREENSHOT_DIR,
    launch_chromium,
    streamlit_server,
)

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
SIZES = ({"width": 1024, "height": 768}, {"width": 1280, "height": 720})
# name -> (URL path and query, section heading, tab to click first or None)
SHOTS = {
    "equations": ("/Model?random_slope=true", "Equations and code", None),
    "equations-fitted": ("/Model?random_slope=true", "With the fitted numbers", None),
    "equations-code": ("/Model?random_slope=true", "R (lme4)", None),
    "equations-nested": (
        "/Model?data=pupils&random_slope=true",
        "Equations and code",
        None,
    ),
    "separate": ("/Compare", "Each group's regression equation", "3 Separate regressions"),
    "diagnostics": ("/Model?random_slope=true", "Diagnostics", None),
    "diagnostics-qq": ("/Model?random_slope=true", "Normal QQ plot of the scaled residuals", None),
    "diagnostics-ranef": ("/Model?random_slope=true", "QQ plot of the random effects", None),
    "report": ("/Model?random_slope=true", "Report and downloads", None),
}
DOCS = {
    "equations-1024": "screenshot-equations.png",
    "diagnostics-1024": "screenshot-diagnostics.png",
}


def main(names: list[str], docs: bool) -> int:
    if not CHROMIUM.exists():
        print(CHROMIUM_MISSING, file=sys.stderr)
        return 1
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    wanted = names or list(SHOTS)
    with streamlit_server() as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for name in wanted:
                path, heading, tab = SHOTS[name]
                for size in SIZES:
                    page = browser.new_page(viewport=size)
                    page.goto(base_url + path)
                    page.wait_for_selector(IDLE, state="attached", timeout=90_000)
                    expect(page.locator('[data-testid="stSpinner"]')).to_have_count(
                        0, timeout=90_000
                    )
                    if tab:
                        page.get_by_role("tab", name=tab).click()
                    target = page.get_by_text(heading, exact=False).first
                    target.wait_for(state="attached", timeout=90_000)
                    target.evaluate("e => e.scrollIntoView({block: 'start'})")
                    page.wait_for_timeout(2000)  # charts and KaTeX draw after the run ends
                    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
                    page.mouse.move(0, 0)
                    out = SCREENSHOT_DIR / f"section-{name}-{size['width']}.png"
                    page.screenshot(path=out)
                    print(f"wrote {out.relative_to(REPO_ROOT)}")
                    key = f"{name}-{size['width']}"
                    if docs and key in DOCS:
                        shutil.copy(out, REPO_ROOT / "docs" / DOCS[key])
                    page.close()
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--docs"]
    raise SystemExit(main(args, "--docs" in sys.argv))
