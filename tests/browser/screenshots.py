"""The loop both screenshot scripts share: a server, chromium, each shot at two sizes.

``take_classroom_screenshots.py`` and ``take_section_screenshots.py`` differ only
in their shot lists, where they wait and scroll (``prepare``) and whether they
add a full-height shot (``after``).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable, Mapping

from playwright.sync_api import Page, expect, sync_playwright

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


def take(
    shots: Mapping[str, tuple[str, str, str | None]],
    docs_map: Mapping[str, str],
    prefix: str,
    prepare: Callable[[Page, str, str | None], None],
    after: Callable[[Page, object, dict], None] | None = None,
) -> int:
    """Write ``<prefix>-<name>-<width>.png`` for each shot (path, heading, tab).

    Command line: shot names (all when none), and ``--docs`` to copy the ones in
    ``docs_map`` into ``docs/``.
    """
    names = [a for a in sys.argv[1:] if a != "--docs"]
    docs = "--docs" in sys.argv
    if not CHROMIUM.exists():
        print(CHROMIUM_MISSING, file=sys.stderr)
        return 1
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    with streamlit_server() as base_url, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for name in names or list(shots):
                path, heading, tab = shots[name]
                for size in SIZES:
                    page = browser.new_page(viewport=size)
                    page.goto(base_url + path)
                    page.wait_for_selector(IDLE, state="attached", timeout=90_000)
                    expect(page.locator('[data-testid="stSpinner"]')).to_have_count(
                        0, timeout=90_000
                    )
                    prepare(page, heading, tab)
                    expect(page.locator('[data-testid="stException"]')).to_have_count(0)
                    page.mouse.move(0, 0)
                    out = SCREENSHOT_DIR / f"{prefix}-{name}-{size['width']}.png"
                    page.screenshot(path=out)
                    if after is not None:
                        after(page, out, size)
                    print(f"wrote {out.relative_to(REPO_ROOT)}")
                    key = f"{name}-{size['width']}"
                    if docs and key in docs_map:
                        shutil.copy(out, REPO_ROOT / "docs" / docs_map[key])
                    page.close()
        finally:
            browser.close()
    return 0
