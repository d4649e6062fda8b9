"""Browser: typing a formula in the sidebar's box, at a projector's 1024x768.

Screenshots of the sidebar (the formula box with a note on terms the toggles cannot show,
and the centring controls) go to docs/screenshots/ so that they can be looked at in review.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    FORMULA,
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    open_page,
    sidebar,
    wait_idle,
)

pytestmark = pytest.mark.browser
SMALL = {"width": 1024, "height": 768}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TYPED = "score ~ hours * sex + (1 | school/class)"
SHOWN = "score ~ 1 + hours + sex + hours:sex + (1 | school) + (1 | class:school)"


def _scroll_sidebar_to(page: Page, text: str) -> None:
    target = sidebar(page).get_by_text(text, exact=False).first
    target.wait_for(state="attached", timeout=SLOW_TIMEOUT_MS)
    target.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(600)


def test_typing_a_formula_sets_the_model(page: Page) -> None:
    page.set_viewport_size(SMALL)
    open_page(page, "/Model?data=pupils", "Model")
    sidebar(page).get_by_text("Type a formula").click()
    box = sidebar(page).get_by_role("textbox", name="Formula (lme4)")
    box.fill(TYPED)
    sidebar(page).get_by_role("button", name="Apply formula").click()
    wait_idle(page, SLOW_TIMEOUT_MS)
    expect(sidebar(page).get_by_text("terms the toggles cannot show")).to_be_visible()
    expect(box).to_have_value(SHOWN)
    expect(page.locator(FORMULA).first).to_have_text(SHOWN, timeout=SLOW_TIMEOUT_MS)
    query = parse_qs(urlsplit(page.url).query)
    assert query["formula"] == [SHOWN]
    assert_no_exception(page)
    _scroll_sidebar_to(page, "Estimation")
    page.screenshot(path=DOCS / "formula-box-1024.png")


def test_a_bad_formula_is_shown_at_the_box(page: Page) -> None:
    page.set_viewport_size(SMALL)
    open_page(page, "/Model", "Model")
    sidebar(page).get_by_text("Type a formula").click()
    box = sidebar(page).get_by_role("textbox", name="Formula (lme4)")
    box.fill("test_score ~ study_time + (1 | school")
    box.press("Control+Enter")
    wait_idle(page, SLOW_TIMEOUT_MS)
    expect(sidebar(page).get_by_text("Formula error at character")).to_be_visible()
    expect(page.locator(FORMULA).first).to_have_text("test_score ~ 1 + study_time + (1 | school)")
    assert_no_exception(page)
    _scroll_sidebar_to(page, "Reset model")
    page.screenshot(path=DOCS / "formula-box-error-1024.png")


def test_centring_controls_in_the_sidebar(page: Page) -> None:
    page.set_viewport_size(SMALL)
    centre = '["hours","within",["school"],true]'
    open_page(page, f"/Model?data=pupils&centre={centre}", "Model")
    expect(page.locator(FORMULA).first).to_contain_text("hours_cwc + hours_mean_school")
    assert_no_exception(page)
    _scroll_sidebar_to(page, "Centring")
    page.screenshot(path=DOCS / "centring-1024.png")
