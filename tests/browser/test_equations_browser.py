"""Browser: equations render with KaTeX (also for hostile names), the report and chart
downloads deliver real files, at a projector's 1024x768."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.test_app_browser import (  # noqa: E402
    SLOW_TIMEOUT_MS,
    assert_no_exception,
    go_to,
    open_page,
    upload,
)

pytestmark = pytest.mark.browser
SMALL = {"width": 1024, "height": 768}
HOSTILE_Y = "score$^_{x}\\textbf{a}"
HOSTILE_G = "<b>school</b> & ~%#"


def _scroll_to(page: Page, text: str) -> None:
    target = page.get_by_text(text, exact=False).first
    target.wait_for(state="attached", timeout=SLOW_TIMEOUT_MS)
    target.evaluate("e => e.scrollIntoView({block: 'start'})")
    page.wait_for_timeout(800)


def test_equations_render_and_downloads_work(page: Page, screenshot_dir: Path) -> None:
    page.set_viewport_size(SMALL)
    open_page(page, "/Model?random_slope=true", "Model")
    assert_no_exception(page)
    katex = page.locator('[data-testid="stMain"] .katex')
    expect(katex.first).to_be_attached()
    assert katex.count() >= 8
    expect(page.locator('[data-testid="stMain"] .katex-error')).to_have_count(0)
    _scroll_to(page, "With the fitted numbers")
    page.screenshot(path=screenshot_dir / "equations-fitted-1024.png")
    _scroll_to(page, "Report and downloads")
    with page.expect_download(timeout=SLOW_TIMEOUT_MS) as info:
        page.get_by_role("button", name="Report (HTML)").click()
    report = Path(info.value.path()).read_text(encoding="utf-8")
    assert report.startswith("<!DOCTYPE html>") and report.count("<svg") >= 4
    assert "test_score ~ 1 + study_time + (1 + study_time | school)" in report
    with page.expect_download(timeout=SLOW_TIMEOUT_MS) as info:
        page.get_by_role("button", name="Tables (CSV", exact=False).click()
    with zipfile.ZipFile(info.value.path()) as archive:  # every table, unrounded
        fixed = archive.read("fixed_effects.csv").decode("utf-8")
    assert fixed.splitlines()[1].startswith("(Intercept),27.42")
    with page.expect_download(timeout=SLOW_TIMEOUT_MS) as info:
        page.get_by_role("button", name="Chart (PNG)").click()
    assert Path(info.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with page.expect_download(timeout=SLOW_TIMEOUT_MS) as info:
        page.get_by_role("button", name="Chart (SVG)").click()
    assert Path(info.value.path()).read_text(encoding="utf-8").lstrip().startswith("<svg")
    assert_no_exception(page)


def test_hostile_names_render_as_text_in_equations(
    page: Page, screenshot_dir: Path, tmp_path: Path
) -> None:
    page.set_viewport_size(SMALL)
    rows = [f'"{HOSTILE_G}",hours,"{HOSTILE_Y.replace(chr(34), chr(34) * 2)}"']
    rows += [f"G{i % 4},{i % 9},{5 + i % 7 + (i % 4) * 3}" for i in range(60)]
    file = tmp_path / "hostile.csv"
    file.write_text("\n".join(rows), encoding="utf-8")
    open_page(page, "/Data", "Data")
    upload(page, file)
    page.wait_for_timeout(1500)
    go_to(page, "Model")
    assert_no_exception(page)
    _scroll_to(page, "Equations and code")
    expect(page.locator('[data-testid="stMain"] .katex-error')).to_have_count(0)
    main = page.locator('[data-testid="stMain"]')
    # The names appear literally in the rendered math, and no markup got through.
    expect(main.locator(".katex").filter(has_text=HOSTILE_G).first).to_be_attached()
    expect(main.locator(".katex").filter(has_text="score$^_{x}\\textbf{a}").first).to_be_attached()
    expect(main.locator("b", has_text="school")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "equations-hostile-1024.png")
