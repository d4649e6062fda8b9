"""The Lesson page in headless chromium: a step opened from its link, Next, reload."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    open_page,
    shoot,
    wait_idle,
)

pytestmark = pytest.mark.browser


STEP6 = "Step 6 of 9: Random intercept"


def _step(page: Page) -> list[str]:
    return parse_qs(urlsplit(page.url).query).get("step", [])


def test_a_step_link_opens_that_step_and_survives_reload(page: Page, screenshot_dir: Path):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, "/Lesson?step=5", "Step 5 of 9: Null model and ICC")
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("What to look at.")).to_be_visible()
    expect(main.get_by_text("0.359: 35.9% of the variation lies between groups")).to_be_visible()
    assert _step(page) == ["5"]
    page.wait_for_timeout(1500)  # elements settle after the run ends
    shoot(page, screenshot_dir, "lesson-step5-1024")
    main.get_by_role("button", name="Next: Random intercept").first.click()
    expect(
        page.get_by_role("heading", level=1, name="Step 6 of 9: Random intercept")
    ).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert _step(page) == ["6"]
    page.reload()  # a new session: the step comes from the URL alone
    expect(
        page.get_by_role("heading", level=1, name="Step 6 of 9: Random intercept")
    ).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert_no_exception(page)


def test_presenting_a_step(page: Page, screenshot_dir: Path):
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, "/Lesson?step=6&present=1", STEP6)
    assert_no_exception(page)
    expect(page.get_by_text("What to look at.")).to_be_visible()
    expect(page.get_by_text("REML criterion")).to_be_visible()
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible()
    page.wait_for_timeout(1500)  # charts draw after the run ends
    shoot(page, screenshot_dir, "lesson-present-1024")
