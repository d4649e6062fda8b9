"""End-to-end: two students upload different files at the same time; each sees only their own.

Both files have the same name, so nothing but their content tells them apart (the
shared cache is keyed by a digest of the bytes, ``ui.cache.source_id``). The two
uploads are started in two browser contexts (two Streamlit sessions) before either
is waited for, so the server reads, validates and fits them concurrently.
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
    sidebar,
    upload,
    wait_idle,
)

pytestmark = pytest.mark.browser

NAME = "class_data.csv"  # the same file name for both students


def _file(path: Path, columns: tuple[str, str, str], groups: tuple[str, ...], size: int) -> Path:
    """``size`` rows per group: the outcome rises with the predictor, groups differ in level."""
    rows = [",".join(columns)]
    for k, group in enumerate(groups):
        for i in range(size):
            x = 1 + i * 0.5
            y = 30 + 6 * k + 4 * x + ((i * 7 + k * 3) % 5 - 2) * 1.3
            rows.append(f"{y:.1f},{x:.1f},{group}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


STUDENTS = {  # different columns, group labels and group sizes
    "a": {"columns": ("pupil_score", "hours", "classroom"), "groups": ("oak", "elm", "ash")},
    "b": {
        "columns": ("yield_kg", "nitrogen", "field"),
        "groups": ("north", "south", "east", "lea"),
    },
}
SIZES = {"a": 8, "b": 5}


def test_two_sessions_upload_different_files_at_once(
    page: Page, browser, app_url: str, tmp_path: Path
) -> None:
    other = browser.new_context(viewport=page.viewport_size, base_url=app_url)
    other.set_default_timeout(30_000)
    try:
        pages = {"a": page, "b": other.new_page()}
        files = {
            who: _file(tmp_path / who / NAME, s["columns"], s["groups"], SIZES[who])
            for who, s in STUDENTS.items()
        }
        for p in pages.values():
            open_page(p, "/Data", "Data")
        # Both uploads start before either is waited for.
        for who, p in pages.items():
            upload(p, files[who])
        for p in pages.values():
            expect(sidebar(p).get_by_role("combobox", name="Data set")).to_have_value(
                "your upload", timeout=SLOW_TIMEOUT_MS
            )
            wait_idle(p, SLOW_TIMEOUT_MS)
            assert_no_exception(p)

        for who, p in pages.items():
            own, theirs = STUDENTS[who], STUDENTS["b" if who == "a" else "a"]
            n, size = len(own["groups"]), SIZES[who]
            side = sidebar(p)
            outcome = side.get_by_role("combobox", name="Outcome (y)").input_value()
            group = side.get_by_role("combobox", name="Grouping column").input_value()
            assert outcome in own["columns"] and group in own["columns"], (who, outcome, group)
            expect(
                p.get_by_text(f"Group sizes: smallest {size}, median {size}, largest {size}.")
            ).to_be_visible(timeout=TIMEOUT_MS)
            for column in theirs["columns"]:
                expect(p.get_by_text(column, exact=True)).to_have_count(0)
            # The Model page fits this session's own file: its columns, its number of groups.
            go_to(p, "Model")
            text = p.locator(FORMULA).first.inner_text()
            assert all(c not in text for c in theirs["columns"]), (who, text)
            assert f"(1 | {group})" in text and text.startswith(outcome), (who, text)
            groups_metric = p.locator('[data-testid="stMain"] [data-testid="stMetric"]').filter(
                has_text="Groups"
            )
            expect(groups_metric.locator('[data-testid="stMetricValue"]')).to_have_text(
                re.compile(rf"^{n}$"), timeout=TIMEOUT_MS
            )
            assert_no_exception(p)
    finally:
        other.close()
