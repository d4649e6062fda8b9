"""End-to-end: grouping levels set in the sidebar of the real app, in headless chromium.

Pupils in classes in schools (``data/pupils.csv``): a three-level model is the
school and the class-within-school grouping factors. The test starts from the
school level alone, adds class through the sidebar, codes it as crossed (the
reused-labels pitfall, which the page flags) and fixes it with the page's
button. Screenshots of the three-level model at 1024x768 and 1280x720 go to
``tests/artifacts/screenshots/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    FORMULA,
    SLOW_TIMEOUT_MS,
    TIMEOUT_MS,
    assert_no_exception,
    go_to,
    open_page,
    shoot,
    sidebar,
    upload,
    wait_idle,
)

pytestmark = pytest.mark.browser

ONE_LEVEL = "score ~ 1 + hours + (1 | school)"
NESTED = "score ~ 1 + hours + (1 | school) + (1 | class:school)"
CROSSED = "score ~ 1 + hours + (1 | school) + (1 | class)"
WITH_SLOPE = "score ~ 1 + hours + (1 | school) + (1 + hours | class:school)"


def choose(page: Page, key: str, option: str) -> None:
    """Pick ``option`` in the sidebar selectbox with widget key ``key``."""
    box = sidebar(page).locator(f".st-key-{key}")
    wanted = page.get_by_role("option", name=option, exact=True)
    # A click that lands while the sidebar is being redrawn can leave the list closed.
    for _ in range(3):
        box.get_by_role("button", name="Open").click()
        try:
            expect(wanted).to_be_visible(timeout=5_000)
            break
        except AssertionError:
            page.keyboard.press("Escape")
    wanted.click()
    expect(box.get_by_role("combobox")).to_have_value(option, timeout=TIMEOUT_MS)


def click_radio(page: Page, key: str, label: str) -> None:
    sidebar(page).locator(f".st-key-{key}").get_by_text(label, exact=True).click()


def switch_on(page: Page, key: str) -> None:
    toggle = sidebar(page).locator(f".st-key-{key}")
    toggle.locator("label").first.click()
    expect(toggle.get_by_role("switch")).to_be_checked(timeout=TIMEOUT_MS)


def shows_formula(page: Page, text: str) -> None:
    expect(page.locator(FORMULA).first).to_have_text(text, timeout=SLOW_TIMEOUT_MS)
    expect(sidebar(page).locator('[data-testid="stCode"]')).to_have_text(text)
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert_no_exception(page)


def test_three_level_model_set_in_the_sidebar(page: Page, screenshot_dir: Path) -> None:
    open_page(page, "/Model?data=pupils&group2=", "Model")
    shows_formula(page, ONE_LEVEL)

    choose(page, "group2", "class")
    shows_formula(page, NESTED)
    expect(page).not_to_have_url(re.compile(r"group2="), timeout=TIMEOUT_MS)  # the default
    side = sidebar(page)
    expect(side.get_by_text("Level: class within school")).to_be_visible()
    expect(page.get_by_role("heading", name="Share of variance at each level")).to_be_visible()
    metric = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(
        has_text="Groups"
    )
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text("151, 30")

    click_radio(page, "group2_relation", "crossed with school")
    shows_formula(page, CROSSED)
    expect(page).to_have_url(re.compile(r"group2_relation=crossed"), timeout=TIMEOUT_MS)
    warning = page.locator('[data-testid="stMain"] [data-testid="stAlertContentWarning"]')
    expect(warning.filter(has_text="Do the labels of class repeat across school?")).to_be_visible()
    page.get_by_role("button", name="Code class as nested in school").click()
    shows_formula(page, NESTED)
    expect(page).not_to_have_url(re.compile(r"group2_relation"), timeout=TIMEOUT_MS)

    switch_on(page, "random_slope2")
    shows_formula(page, WITH_SLOPE)
    expect(page).to_have_url(re.compile(r"random_slope2=true"), timeout=TIMEOUT_MS)


@pytest.mark.parametrize(("width", "height"), [(1024, 768), (1280, 720)])
def test_three_level_screenshots(page: Page, screenshot_dir: Path, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, "/Model?data=pupils", "Model")
    shows_formula(page, NESTED)
    expect(sidebar(page)).to_be_visible()
    name = f"three-level-{width}x{height}"
    shoot(page, screenshot_dir, name)
    shares = page.get_by_role("heading", name="Share of variance at each level")
    shoot(page, screenshot_dir, f"{name}-shares", focus=shares)
    open_page(page, "/Data?data=pupils&group2_relation=crossed", "Data")
    warning = page.get_by_text("Do the labels of class repeat across school?")
    expect(warning).to_be_visible()
    shoot(page, screenshot_dir, f"{name}-data-warning", focus=warning)


def _three_levels_csv(path: Path) -> Path:
    """Pupils in classes x, y of schools a-c in regions R0-R3 (labels reused at every level)."""
    rows = ["region,school,class,hours,score"]
    for r in range(4):
        for s, school in enumerate("abc"):
            for c, klass in enumerate("xy"):
                for p in range(6):
                    hours = 1 + p * 1.5
                    score = 50 + 1.2 * hours + 3 * r - 2 * s + 1.5 * c + ((p * 7 + r) % 5 - 2)
                    rows.append(f"R{r},{school},{klass},{hours:.1f},{score:.2f}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_third_grouping_factor_on_an_upload(page: Page, tmp_path: Path) -> None:
    open_page(page, "/Data", "Data")
    upload(page, _three_levels_csv(tmp_path / "regions.csv"))
    expect(page.get_by_text("regions.csv").first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    go_to(page, "Model")
    choose(page, "group", "region")
    choose(page, "group2", "school")
    shows_formula(page, "score ~ 1 + hours + (1 | region) + (1 | school:region)")
    choose(page, "group3", "class")
    shows_formula(
        page, "score ~ 1 + hours + (1 | region) + (1 | school:region) + (1 | class:school:region)"
    )
    metric = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(
        has_text="Groups"
    )
    expect(metric.locator('[data-testid="stMetricValue"]')).to_have_text("24, 12, 4")
    click_radio(page, "group3_relation", "crossed with school")
    shows_formula(page, "score ~ 1 + hours + (1 | region) + (1 | school:region) + (1 | class)")
