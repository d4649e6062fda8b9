"""Browser: confidence intervals (profile on a click; bootstrap with a progress bar that a
click on Stop really stops) and the effect plot, at a projector's 1024x768."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    open_page,
    wait_idle,
)

pytestmark = pytest.mark.browser
SMALL = {"width": 1024, "height": 768}
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _scroll_to(page: Page, text: str) -> None:
    target = page.get_by_text(text, exact=True).first
    target.wait_for(state="attached", timeout=SLOW_TIMEOUT_MS)
    target.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)


def _shot(page: Page, directory: Path, name: str) -> None:
    path = directory / name
    page.screenshot(path=path)
    DOCS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS / name)


def test_profile_and_bootstrap_intervals(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size(SMALL)
    open_page(page, "/Model?random_slope=true", "Model")
    assert_no_exception(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("95% Wald intervals", exact=False)).to_be_visible()
    _scroll_to(page, "Confidence intervals")
    main.get_by_text("Profile likelihood", exact=True).click()
    main.get_by_role("button", name="Compute profile intervals").click()
    expect(main.get_by_text("95% profile likelihood intervals", exact=False)).to_be_visible(
        timeout=SLOW_TIMEOUT_MS
    )
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert_no_exception(page)
    _scroll_to(page, "Confidence intervals")
    _shot(page, screenshot_dir, "intervals-profile-1024.png")
    _scroll_to(page, "Fixed effects")
    _shot(page, screenshot_dir, "intervals-fixed-1024.png")

    main.get_by_text("Parametric bootstrap", exact=True).click()
    run = main.get_by_role("button", name="Run bootstrap")
    run.wait_for(timeout=SLOW_TIMEOUT_MS)
    refits = main.get_by_label("Refits")
    refits.fill("10000")  # long enough to be stopped by hand
    refits.press("Enter")
    wait_idle(page, SLOW_TIMEOUT_MS)
    main.get_by_role("button", name="Run bootstrap").click()
    bar = main.locator('[data-testid="stProgress"]')
    expect(bar).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    page.wait_for_timeout(1500)
    _shot(page, screenshot_dir, "intervals-bootstrap-running-1024.png")
    main.get_by_role("button", name="Stop").click()
    resume = main.get_by_role("button", name="Resume", exact=False)
    expect(resume).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert "of 10,000 done" in resume.inner_text()
    expect(main.get_by_text("stopped early", exact=False)).to_be_visible()
    expect(bar).to_have_count(0)
    assert_no_exception(page)
    _scroll_to(page, "Confidence intervals")
    _shot(page, screenshot_dir, "intervals-bootstrap-stopped-1024.png")


def test_effect_plot(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size(SMALL)
    open_page(page, "/Model?data=pupils&covariates=sex", "Model")
    assert_no_exception(page)
    _scroll_to(page, "Effect plot")
    main = page.locator('[data-testid="stMain"]')
    box = main.locator('[class*="st-key-effect_moderator"]')
    wanted = page.get_by_role("option", name="sex", exact=True)
    for _ in range(3):  # a line per level of sex
        box.get_by_role("button", name="Open").click()
        try:
            expect(wanted).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    wanted.click()
    expect(box.get_by_role("combobox")).to_have_value("sex", timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    _scroll_to(page, "Effect plot")
    chart = page.locator('[data-testid="stMain"] [data-testid="stVegaLiteChart"]')
    expect(chart.first).to_be_visible()
    page.wait_for_timeout(1500)
    _shot(page, screenshot_dir, "effect-plot-1024.png")
    assert_no_exception(page)
