"""Screenshots of one section of a page (equations, diagnostics, per-school details).

    python tests/browser/take_section_screenshots.py [NAME ...] [--docs]

Scrolls the section's heading to the top of the screen and writes
``tests/artifacts/screenshots/section-<name>-<width>.png`` at 1024x768 and 1280x720;
``--docs`` copies the ones the README uses to ``docs/``. Needs Debian's chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from playwright.sync_api import Page

from tests.browser.screenshots import take

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


def _prepare(page: Page, heading: str, tab: str | None) -> None:
    """Scroll the section's heading to the top of the screen."""
    if tab:
        page.get_by_role("tab", name=tab).click()
    target = page.get_by_text(heading, exact=False).first
    target.wait_for(state="attached", timeout=90_000)
    target.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(2000)  # charts and KaTeX draw after the run ends


if __name__ == "__main__":
    raise SystemExit(take(SHOTS, DOCS, "section", _prepare))
