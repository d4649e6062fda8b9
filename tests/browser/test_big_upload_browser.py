"""End-to-end: a large upload in the real app (its own server, with the large-upload
size lowered to 1 MB so that a 250,000-row file of a few MB takes that path)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from lib.aggregate.upload import THRESHOLD_ENV  # noqa: E402
from tests.browser.conftest import VIEWPORT, _require_chromium, streamlit_server  # noqa: E402
from tests.browser.test_app_browser import (  # noqa: E402
    METRIC_VALUE,
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    go_to,
    open_page,
    shoot,
    sidebar,
    upload,
    wait_idle,
)

pytestmark = pytest.mark.browser
N_ROWS = 250_000


@pytest.fixture(scope="module")
def big_url() -> Iterator[str]:
    _require_chromium()
    before = os.environ.get(THRESHOLD_ENV)
    os.environ[THRESHOLD_ENV] = str(1024 * 1024)
    try:
        with streamlit_server() as base_url:  # the server read the variable at its start
            yield base_url
    finally:
        if before is None:
            os.environ.pop(THRESHOLD_ENV, None)
        else:
            os.environ[THRESHOLD_ENV] = before


def _file(path: Path) -> Path:
    rng = np.random.default_rng(4)
    school = rng.integers(0, 200, N_ROWS)
    hours = np.round(rng.normal(10, 3, N_ROWS), 2)
    score = np.round(50 + rng.normal(0, 4, 200)[school] + 1.5 * hours, 2)
    score = score + np.round(rng.normal(0, 6, N_ROWS), 2)
    frame = pd.DataFrame({"hours": hours, "school": np.char.add("s", school.astype(str))})
    frame["score"] = score
    frame.to_csv(path, index=False)
    return path


def test_large_upload_counts_and_fits_every_row(
    browser, big_url: str, tmp_path: Path, screenshot_dir: Path
) -> None:
    context = browser.new_context(viewport=VIEWPORT, base_url=big_url)
    context.set_default_timeout(30_000)
    try:
        page: Page = context.new_page()
        open_page(page, "/Data", "Data")
        upload(page, _file(tmp_path / "big.csv"))
        expect(sidebar(page).get_by_role("combobox", name="Data set")).to_have_value(
            "your upload", timeout=SLOW_TIMEOUT_MS
        )
        wait_idle(page, SLOW_TIMEOUT_MS)
        assert_no_exception(page)
        sample = f"a random sample of 100,000 of {N_ROWS:,} rows"
        expect(page.get_by_text(re.compile(re.escape(sample))).first).to_be_visible()
        rows = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(
            has_text=re.compile(r"^Rows")
        )
        expect(rows.first.locator('[data-testid="stMetricValue"]')).to_have_text(f"{N_ROWS:,}")
        shoot(page, screenshot_dir, "big-data")

        go_to(page, "Explore")
        assert_no_exception(page)
        expect(
            page.get_by_text(f"Histograms and group means count all {N_ROWS:,} rows")
        ).to_be_visible()
        shoot(page, screenshot_dir, "big-explore")

        go_to(page, "Model")
        assert_no_exception(page)
        expect(page.get_by_text(f"Fitted to all {N_ROWS:,} rows by DuckDB")).to_be_visible()
        observations = page.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(
            has_text="Observations"
        )
        expect(observations.locator(METRIC_VALUE.split()[-1])).to_have_text(f"{N_ROWS:,}")
        shoot(page, screenshot_dir, "big-model")
    finally:
        context.close()
