"""A binomial model in headless chromium (issue 16): an upload with a 0/1 column, the
family chosen in the sidebar, glmer's panels on the Model page, proportions on the
Pooling page; 1024x768 screenshots of each."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    go_to,
    open_page,
    shoot,
    sidebar,
    upload,
    wait_idle,
)
from tests.browser.test_levels_browser import choose, click_radio  # noqa: E402

pytestmark = pytest.mark.browser

GLMM_HEADING = "Generalized linear mixed model fit by maximum likelihood (Laplace Approximation)"


def _pass_csv(path: Path) -> Path:
    """120 pupils in 12 classes: study hours and whether each passed (0/1)."""
    rng = np.random.default_rng(11)
    n = 120
    cls = np.repeat([f"class {k + 1}" for k in range(12)], n // 12)
    effect = rng.normal(0, 0.8, 12)[np.repeat(np.arange(12), n // 12)]
    hours = np.round(rng.uniform(0, 10, n), 1)
    passed = rng.random(n) < 1 / (1 + np.exp(-(-2 + 0.4 * hours + effect)))
    frame = pd.DataFrame(
        {"class": cls, "score": np.round(50 + 2 * hours + rng.normal(0, 6, n), 1)}
    ).assign(hours=hours, passed=passed.astype(int))
    frame.to_csv(path, index=False)
    return path


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_choosing_the_binomial_family_shows_glmer_panels(
    page: Page, screenshot_dir: Path, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, "/Data", "Data")
    upload(page, _pass_csv(tmp_path / "pupils_pass.csv"))
    expect(sidebar(page).get_by_role("combobox", name="Data set")).to_have_value(
        "your upload", timeout=SLOW_TIMEOUT_MS
    )
    wait_idle(page, SLOW_TIMEOUT_MS)
    choose(page, "y", "passed")
    wait_idle(page, SLOW_TIMEOUT_MS)
    family = sidebar(page).locator(".st-key-family")
    # The 0/1 outcome switched the family to binomial; choose Gaussian, then Binomial again.
    expect(family.get_by_role("radio", name="Binomial")).to_be_checked(timeout=SLOW_TIMEOUT_MS)
    click_radio(page, "family", "Gaussian")
    expect(family.get_by_role("radio", name="Gaussian")).to_be_checked(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    expect(page).not_to_have_url(re.compile(r"[?&]family="), timeout=SLOW_TIMEOUT_MS)
    click_radio(page, "family", "Binomial")
    expect(family.get_by_role("radio", name="Binomial")).to_be_checked(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    expect(page).to_have_url(re.compile(r"[?&]family=binomial"), timeout=SLOW_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    suggestion = main.get_by_text("a binomial (logistic) mixed model fits it")
    expect(suggestion).to_be_visible()
    shoot(page, screenshot_dir, "glmm-data-suggestion-1024", focus=suggestion)
    shoot(page, screenshot_dir, "glmm-data-1024", focus=sidebar(page).locator(".st-key-family"))

    go_to(page, "Model")
    expect(page.get_by_role("heading", name=GLMM_HEADING)).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    assert_no_exception(page)
    expect(
        main.get_by_text(
            "glmer(passed ~ 1 + hours + (1 | class), data = d, family = binomial)", exact=True
        )
    ).to_be_visible()
    expect(main.get_by_role("heading", name="Fixed effects", exact=True)).to_be_visible()
    chart = main.locator('[data-testid="stVegaLiteChart"]').first
    expect(chart).to_be_visible()
    page.wait_for_timeout(1500)  # charts draw after the run ends
    shoot(page, screenshot_dir, "glmm-model-1024")
    shoot(page, screenshot_dir, "glmm-model-curves-1024", focus=chart)
    shoot(
        page,
        screenshot_dir,
        "glmm-model-fixef-1024",
        focus=main.get_by_role("heading", name="Fixed effects", exact=True),
    )

    with page.expect_download() as download:
        main.get_by_role("button", name="Report (HTML)").click()
    report = Path(download.value.path()).read_text(encoding="utf-8")
    assert "glmer(cbind" not in report and "Odds ratios" in report
    assert "passed ~ 1 + hours + (1 | class)" in report

    go_to(page, "Pooling")
    expect(page.locator('[data-testid="stVegaLiteChart"]').first).to_be_visible(
        timeout=SLOW_TIMEOUT_MS
    )
    assert_no_exception(page)
    page.wait_for_timeout(1500)  # charts draw after the run ends
    shoot(page, screenshot_dir, "glmm-pooling-1024")

    go_to(page, "Explore")
    expect(main.get_by_role("heading", name="Proportions per class")).to_be_visible()
    page.wait_for_timeout(1500)
    shoot(page, screenshot_dir, "glmm-explore-1024")
    assert _query(page)["family"] == ["binomial"]


def _ticks_csv(path: Path) -> Path:
    """150 counts (ticks on chicks) in 15 broods, with the log of days observed."""
    rng = np.random.default_rng(3)
    n = 150
    brood = np.repeat([f"brood {k + 1}" for k in range(15)], n // 15)
    effect = rng.normal(0, 0.6, 15)[np.repeat(np.arange(15), n // 15)]
    height = np.round(rng.uniform(-3, 3, n), 2)
    days = rng.integers(2, 10, n)
    ticks = rng.poisson(np.exp(0.2 - 0.3 * height + effect + np.log(days) - 1.5))
    frame = pd.DataFrame(
        {"brood": brood, "weight": np.round(rng.normal(20, 3, n), 1), "height": height}
    ).assign(ticks=ticks, log_days=np.round(np.log(days), 6))
    frame.to_csv(path, index=False)
    return path


def test_counts_with_an_offset_fit_a_poisson_model(
    page: Page, screenshot_dir: Path, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1024, "height": 768})
    open_page(page, "/Data", "Data")
    upload(page, _ticks_csv(tmp_path / "ticks.csv"))
    expect(sidebar(page).get_by_role("combobox", name="Data set")).to_have_value(
        "your upload", timeout=SLOW_TIMEOUT_MS
    )
    wait_idle(page, SLOW_TIMEOUT_MS)
    choose(page, "y", "ticks")
    wait_idle(page, SLOW_TIMEOUT_MS)
    main = page.locator('[data-testid="stMain"]')
    expect(main.get_by_text("holds whole numbers from 0 up, mostly small")).to_be_visible()
    main.get_by_role("button", name="Use the Poisson family").click()
    family = sidebar(page).locator(".st-key-family")
    expect(family.get_by_role("radio", name="Poisson")).to_be_checked(timeout=SLOW_TIMEOUT_MS)
    wait_idle(page, SLOW_TIMEOUT_MS)
    choose(page, "x", "height")
    wait_idle(page, SLOW_TIMEOUT_MS)
    choose(page, "offset", "log_days")
    wait_idle(page, SLOW_TIMEOUT_MS)
    go_to(page, "Model")
    expect(main.get_by_role("heading", name="Dispersion")).to_be_visible(timeout=SLOW_TIMEOUT_MS)
    assert_no_exception(page)
    expect(main.get_by_text("offset(log_days)").first).to_be_visible()
    expect(main.get_by_text("Rate ratio").first).to_be_visible()
    page.wait_for_timeout(1500)
    shoot(page, screenshot_dir, "glmm-poisson-model-1024")
    shoot(
        page,
        screenshot_dir,
        "glmm-poisson-dispersion-1024",
        focus=main.get_by_role("heading", name="Dispersion"),
    )
    expect(page).to_have_url(re.compile(r"[?&]offset=log_days"), timeout=SLOW_TIMEOUT_MS)
