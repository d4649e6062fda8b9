"""End-to-end tests: the real app in headless Debian chromium, as a class would see it.

Each test gets a fresh browser context, i.e. its own Streamlit session. Waiting
is done on Streamlit's own run state (``data-test-script-state`` on the app
root) and on the text a test expects, never on fixed sleeps. Screenshots go to
``tests/artifacts/screenshots/`` (gitignored): ``<name>.png`` is what a
1280x720 projector shows, ``<name>-full.png`` the whole page.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Locator, Page, expect  # noqa: E402

from lib.table.catalogue import BUNDLED  # noqa: E402

pytestmark = pytest.mark.browser

TIMEOUT_MS = 30_000
SLOW_TIMEOUT_MS = 60_000  # first fit of a session, the Compare page's many fits
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
EXCEPTION = '[data-testid="stException"]'
ERROR_ALERT = '[data-testid="stAlertContentError"]'
FORMULA = '[data-testid="stMain"] [data-testid="stCode"]'
METRIC_VALUE = '[data-testid="stMain"] [data-testid="stMetricValue"]'
FULL_PAGE_MAX_HEIGHT = 12_000

# Page scripts -> the URL path Streamlit 1.67 derives from the file name
# (numeric prefix and extension dropped) and the page's st.title.
PAGES = {
    "Data": ("/Data", "Data"),
    "Explore": ("/Explore", "Explore"),
    "Model": ("/Model", "Model"),
    "Compare": ("/Compare", "Compare strategies"),
    "Pooling": ("/Pooling", "Pooling"),
    "Ladder": ("/Ladder", "Model ladder"),
    "Sandbox": ("/Sandbox", "Simulation sandbox: why not just OLS?"),
    "Lesson": ("/Lesson", "Step 1 of 9: Look at the data"),  # a new session starts at step 1
    "Within & between": ("/Within_and_between", "Within and between"),
}

RANDOM_INTERCEPT_FORMULA = "test_score ~ 1 + study_time + (1 | school)"
RANDOM_SLOPE_TERM = "(1 + study_time | school)"


# --------------------------------------------------------------------------- helpers


def wait_idle(page: Page, timeout: float = TIMEOUT_MS) -> None:
    """Wait until the script run is over and no spinner is left on the page."""
    page.wait_for_selector(IDLE, state="attached", timeout=timeout)
    expect(page.locator('[data-testid="stSpinner"]')).to_have_count(0, timeout=timeout)


def open_page(page: Page, path: str, heading: str, timeout: float = SLOW_TIMEOUT_MS) -> None:
    """Go to ``path`` (a new Streamlit session) and wait for its title and the run's end."""
    page.goto(path)
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(timeout=timeout)
    wait_idle(page, timeout)


def assert_no_exception(page: Page) -> None:
    expect(page.locator(EXCEPTION)).to_have_count(0)
    expect(page.get_by_text("Traceback (most recent call last)")).to_have_count(0)


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def shoot(page: Page, directory: Path, name: str, focus: Locator | None = None) -> Path:
    """Save the projector view (viewport) and the whole page (main area unscrolled).

    Streamlit scrolls inside its own container, so a "full page" screenshot
    needs a viewport as tall as that container's content; the viewport is put
    back afterwards (a height change does not rerun the script).
    """
    # A run that another follows (a link's values noted, then applied) leaves the page idle
    # for a moment with the next run's placeholders drawn: wait for the last run's elements.
    # (Not "wait until idle": a picture of a running fit is taken while the script runs.)
    expect(page.locator('[data-testid="stSkeleton"]')).to_have_count(0, timeout=TIMEOUT_MS)
    if focus is not None:  # what the test is about, scrolled into the projector view
        focus.scroll_into_view_if_needed()
    page.mouse.move(0, 0)  # no hover tooltips in the pictures
    path = directory / f"{name}.png"
    page.screenshot(path=path)
    size = page.viewport_size
    height = page.evaluate(
        """() => Math.max(document.body.scrollHeight,
             ...[...document.querySelectorAll('[data-testid="stMain"],'
                + '[data-testid="stAppViewContainer"],[data-testid="stSidebarContent"]')]
                .map(e => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": size["width"], "height": min(height, FULL_PAGE_MAX_HEIGHT)})
    try:
        page.screenshot(path=directory / f"{name}-full.png")
    finally:
        page.set_viewport_size(size)
    return path


def formula(page: Page) -> str:
    """The lme4 formula shown under the Model page's heading (first code block of main)."""
    return page.locator(FORMULA).first.inner_text().strip()


def criterion(page: Page) -> str:
    """The REML/ML criterion metric's value (full text, even when CSS ellipsizes it)."""
    metric = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').first
    expect(metric).to_contain_text(re.compile(r"REML criterion|-2 log-likelihood|ML|deviance"))
    return metric.locator('[data-testid="stMetricValue"]').inner_text().strip()


def set_toggle(page: Page, label: str, on: bool) -> None:
    """Click a sidebar toggle (its visible label; the switch input itself is 1 px)."""
    switch = sidebar(page).get_by_role("switch", name=label, exact=True)
    expect(switch).to_have_count(1)
    if switch.is_checked() != on:
        sidebar(page).locator('[data-testid="stCheckbox"]').filter(
            has=page.get_by_role("switch", name=label, exact=True)
        ).locator("label").first.click()
    expect(switch).to_be_checked(checked=on, timeout=TIMEOUT_MS)


def go_to(page: Page, name: str) -> None:
    """Click a sidebar page link (same session, no reload) and wait for that page's run."""
    path, heading = PAGES.get(name, ("/", "Multilevel Explorer"))
    sidebar(page).get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible(
        timeout=SLOW_TIMEOUT_MS
    )
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert urlsplit(page.url).path == path, page.url


def upload(page: Page, file: Path) -> None:
    page.locator('[data-testid="stMain"] input[type="file"]').set_input_files(str(file))


# --------------------------------------------------------------------------- tests


def test_home_page_loads(page: Page, screenshot_dir: Path) -> None:
    open_page(page, "/", "Multilevel Explorer")
    assert_no_exception(page)
    expect(page).to_have_title(re.compile("Multilevel Explorer"))
    expect(page.get_by_text("Data in use")).to_be_visible()
    # The sidebar's page links: Home (not "app", the script's name) and every page,
    # under the URL paths the other tests visit.
    links = sidebar(page).locator('[data-testid="stPageLink-NavLink"]')
    # The sidebar draws its links after the page body; wait for all of them.
    expect(links).to_have_count(1 + len(PAGES))
    found = links.evaluate_all(
        "links => links.map(a => [a.innerText.split('\\n').pop().trim(), new URL(a.href).pathname])"
    )
    assert found == [["Home", "/"]] + [[name, path] for name, (path, _) in PAGES.items()]
    shoot(page, screenshot_dir, "home")


@pytest.mark.parametrize("name", list(PAGES))
def test_page_renders_without_exception(page: Page, screenshot_dir: Path, name: str) -> None:
    path, heading = PAGES[name]
    open_page(page, path, heading)
    assert_no_exception(page)
    expect(page.locator(ERROR_ALERT)).to_have_count(0)
    shoot(page, screenshot_dir, name.lower())


def test_sidebar_navigation_keeps_the_choices(page: Page) -> None:
    """Page switches through the sidebar links keep the session's toggles (and the URL's)."""
    open_page(page, "/Model", "Model")
    set_toggle(page, "Random slope", on=True)
    expect(page.locator(FORMULA).first).to_contain_text(RANDOM_SLOPE_TERM, timeout=TIMEOUT_MS)
    wait_idle(page)
    for name in [*PAGES, "Home", "Model"]:
        go_to(page, name)
        assert_no_exception(page)
        expect(sidebar(page).get_by_role("switch", name="Random slope", exact=True)).to_be_checked()
        expect(page).to_have_url(re.compile(r"random_slope=true"), timeout=TIMEOUT_MS)
    expect(page.locator(FORMULA).first).to_contain_text(RANDOM_SLOPE_TERM)


def test_model_random_slope_toggle_changes_formula_and_criterion(
    page: Page, screenshot_dir: Path
) -> None:
    open_page(page, "/Model", "Model")
    expect(page.locator(FORMULA).first).to_have_text(RANDOM_INTERCEPT_FORMULA)
    before = criterion(page)
    assert re.fullmatch(r"-?[\d,]+\.\d", before), before
    shoot(page, screenshot_dir, "model-before-toggle")

    set_toggle(page, "Random slope", on=True)
    expect(page.locator(FORMULA).first).to_contain_text(RANDOM_SLOPE_TERM, timeout=TIMEOUT_MS)
    wait_idle(page)
    assert formula(page) == "test_score ~ 1 + study_time + (1 + study_time | school)"
    # The sidebar's own formula follows as well.
    expect(sidebar(page).locator('[data-testid="stCode"]')).to_contain_text("study_time | school")
    after = criterion(page)
    assert after != before, f"criterion stayed at {before} after adding the random slope"
    assert_no_exception(page)
    shoot(page, screenshot_dir, "model-after-toggle")


def test_url_holds_the_toggle_and_restores_it(page: Page) -> None:
    open_page(page, "/Model", "Model")
    set_toggle(page, "Random slope", on=True)
    expect(page.locator(FORMULA).first).to_contain_text(RANDOM_SLOPE_TERM, timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page).to_have_url(re.compile(r"\?.*random_slope="), timeout=TIMEOUT_MS)
    shared = page.url
    query = parse_qs(urlsplit(shared).query)
    assert query.get("random_slope") == ["true"], shared
    expected = formula(page)

    # Open the copied link in a new tab (same context, new Streamlit session).
    other = page.context.new_page()
    open_page(other, shared, "Model")
    expect(other.locator(FORMULA).first).to_have_text(expected)
    expect(sidebar(other).get_by_role("switch", name="Random slope", exact=True)).to_be_checked()
    assert_no_exception(other)

    # Switching it off again in the new tab takes it out of (or sets it false in) the URL.
    set_toggle(other, "Random slope", on=False)
    expect(other.locator(FORMULA).first).to_have_text(RANDOM_INTERCEPT_FORMULA)
    expect(other).not_to_have_url(re.compile(r"random_slope=true"), timeout=TIMEOUT_MS)


def test_shared_link_survives_the_first_page_switch(page: Page) -> None:
    """A link opened in a new session keeps its choices when the user clicks to another page.

    (The choices come from the URL on the first run; the next page must not fall back
    to the defaults and drop them from the address bar.)
    """
    open_page(page, "/?data=dietox&random_slope=true", "Multilevel Explorer")
    side = sidebar(page)
    expect(side.get_by_role("combobox", name="Data set")).to_have_value("dietox")
    expect(side.get_by_role("switch", name="Random slope", exact=True)).to_be_checked()
    go_to(page, "Explore")
    assert_no_exception(page)
    expect(side.get_by_role("combobox", name="Data set")).to_have_value("dietox")
    expect(side.get_by_role("switch", name="Random slope", exact=True)).to_be_checked()
    expect(page).to_have_url(re.compile(r"data=dietox"), timeout=TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"random_slope=true"), timeout=TIMEOUT_MS)


def _good_csv(path: Path) -> Path:
    """Three classes of eight pupils: score rises with hours, classes differ in level."""
    rows = ["pupil_score,hours,class"]
    for k, name in enumerate(("oak", "elm", "ash")):
        for i in range(8):
            hours = 1 + i * 0.5
            score = 40 + 8 * k + 5 * hours + ((i * 7 + k * 3) % 5 - 2) * 1.5
            rows.append(f"{score:.1f},{hours:.1f},{name}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_bad_upload_shows_an_error_and_a_good_one_becomes_active(
    page: Page, screenshot_dir: Path, tmp_path: Path
) -> None:
    open_page(page, "/Data", "Data")
    errors = page.locator(f'[data-testid="stMain"] {ERROR_ALERT}')

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    upload(page, empty)
    expect(errors.filter(has_text="empty.csv")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)

    garbage = tmp_path / "garbage.csv"
    garbage.write_bytes(b'\x00\xff garbage ;;; "unterminated\n')
    upload(page, garbage)
    expect(errors.filter(has_text="garbage.csv")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)
    # One friendly message about the latest file, not a pile-up of old ones.
    expect(errors).to_have_count(1)
    shoot(page, screenshot_dir, "data-bad-upload", focus=errors.first)

    upload(page, _good_csv(tmp_path / "pupils.csv"))
    expect(page.get_by_text("pupils.csv").first).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert_no_exception(page)
    expect(errors).to_have_count(0)
    # The upload is the active data set: its columns fill the sidebar roles and the preview.
    side = sidebar(page)
    expect(side.get_by_role("combobox", name="Data set")).to_have_value("your upload")
    expect(side.get_by_role("combobox", name="Outcome (y)")).to_have_value("pupil_score")
    expect(side.get_by_role("combobox", name="Predictor (x)")).to_have_value("hours")
    expect(side.get_by_role("combobox", name="Grouping column")).to_have_value("class")
    # (The tables are canvas-drawn st.dataframe grids: their cells are not DOM text.)
    expect(page.get_by_role("heading", name="Validation report")).to_be_visible()
    expect(page.get_by_text("Group sizes: smallest 8, median 8, largest 8.")).to_be_visible()
    shoot(page, screenshot_dir, "data-good-upload", focus=page.get_by_text("Uploaded:"))

    # Same session (sidebar link, no reload): the Model page fits the uploaded data.
    go_to(page, "Model")
    expect(page.locator(FORMULA).first).to_have_text("pupil_score ~ 1 + hours + (1 | class)")
    assert_no_exception(page)
    expect(page.locator(METRIC_VALUE).first).to_have_text(re.compile(r"-?[\d,]+\.\d"))
    shoot(page, screenshot_dir, "model-uploaded")


def test_an_upload_is_invisible_to_another_session(page: Page, browser, app_url, tmp_path) -> None:
    """Two people at once: what one uploads never appears in the other's session."""
    open_page(page, "/Data", "Data")
    upload(page, _good_csv(tmp_path / "pupils.csv"))
    expect(sidebar(page).get_by_role("combobox", name="Data set")).to_have_value(
        "your upload", timeout=TIMEOUT_MS
    )
    wait_idle(page)
    # A second visitor, arriving while the first session is open, with the first one's URL.
    other = browser.new_context(viewport=page.viewport_size, base_url=app_url)
    try:
        second = other.new_page()
        second.goto(page.url)
        expect(second.get_by_role("heading", level=1, name="Data")).to_be_visible(
            timeout=SLOW_TIMEOUT_MS
        )
        wait_idle(second, SLOW_TIMEOUT_MS)
        assert_no_exception(second)
        side = sidebar(second)
        expect(side.get_by_role("combobox", name="Data set")).to_have_value("schools")
        expect(side.get_by_role("combobox", name="Outcome (y)")).to_have_value("test_score")
        expect(second.get_by_text("pupils.csv")).to_have_count(0)
        # The data-set list offers the bundled sets only, not the other session's upload.
        # (A click while the sidebar is still settling can close the list again: retry.)
        options = second.get_by_role("option")
        for _ in range(3):
            side.get_by_role("combobox", name="Data set").click()
            try:
                expect(options.first).to_be_visible(timeout=5_000)
                break
            except AssertionError:
                second.keyboard.press("Escape")
        labels = [t.strip() for t in options.all_inner_texts()]
        assert labels == list(BUNDLED), labels
    finally:
        other.close()
