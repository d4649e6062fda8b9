"""Nothing cut at 1024 px: every page, three data sets, sidebar open and presentation mode.

The layout rule (``ui.layout``): tables wrap their columns into blocks that fit the main
column, metrics are as wide as their text and wrap, charts are no wider than the column.
This test opens each page (and each tab, each lesson step) at 1024x768 in headless
chromium and fails when

* a metric's value is cut ("100…": the element that ellipses it is narrower than its
  text) or reaches past the main column;
* a grid (``st.dataframe``) scrolls sideways (``scrollWidth > clientWidth``) or a static
  table (presentation mode) does, or one of its cells is narrower than its text;
* a chart's drawing reaches past the main column.

It also reads the numbers back: the Model page's metrics and its fixed-effects table
(every column, in whichever block it landed) hold the full text of lib's numbers.

One exception is named, not hidden: the Data page's preview of the raw rows
(``ui.views.data``) is a spreadsheet view of the file and keeps its own width.
"""

from __future__ import annotations

import pytest

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, expect  # noqa: E402

from lib.lmm import fit_lmm  # noqa: E402
from lib.model.spec import ModelSpec  # noqa: E402
from lib.present import summary  # noqa: E402
from lib.present.numbers import cell  # noqa: E402
from lib.table.catalogue import load_bundled  # noqa: E402
from tests.browser.test_app_browser import IDLE, assert_no_exception  # noqa: E402

pytestmark = pytest.mark.browser

SMALL = {"width": 1024, "height": 768}
DATA = ("schools", "pupils", "penicillin")
PATHS = (
    "/",
    "/Data",
    "/Explore",
    "/Model",
    "/Compare",
    "/Pooling",
    "/Ladder",
    "/Sandbox",
    *(f"/Lesson?step={k}" for k in range(1, 10)),
)
TIMEOUT_MS = 120_000

# Run in the page: every metric value, grid, static table and chart that is visible.
CUT = """
() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const box = main.getBoundingClientRect();
  const style = getComputedStyle(main);
  const left = box.left + parseFloat(style.paddingLeft) - 1;
  const right = box.right - parseFloat(style.paddingRight) + 1;
  const out = [];
  const visible = e => e.offsetParent !== null && e.getClientRects().length > 0;
  const inMain = s => [...document.querySelectorAll('[data-testid="stMain"] ' + s)].filter(visible);
  for (const e of inMain('[data-testid="stMetricValue"]')) {
    for (const x of [e, ...e.querySelectorAll('*')]) {
      const inner = x.firstElementChild;
      const width = x.getBoundingClientRect().width;
      const wider = inner && inner.getBoundingClientRect().width > width + 0.01;
      if (x.clientWidth > 0 && (x.scrollWidth > x.clientWidth || wider)) {
        out.push(`metric cut: ${e.innerText}`);
        break;
      }
    }
    if (e.getBoundingClientRect().right > right) out.push(`metric past the column: ${e.innerText}`);
  }
  for (const e of inMain('[data-testid="stDataFrame"]')) {
    const holder = e.closest('[data-testid="stElementContainer"]');
    const before = holder && holder.previousElementSibling;
    if (before && /^First \\d[\\d,]* of [\\d,]+ rows/.test(before.innerText)) continue;  // preview
    const scroller = e.querySelector('.dvn-scroller');
    if (scroller && scroller.scrollWidth > scroller.clientWidth) {
      const head = [...e.querySelectorAll('th')].map(h => h.innerText).join(' | ');
      const sizes = `${scroller.scrollWidth} > ${scroller.clientWidth}`;
      out.push(`grid scrolls sideways (${sizes}): ${head}`);
    }
  }
  for (const e of inMain('[data-testid="stTable"]')) {
    if (e.scrollWidth > e.clientWidth) out.push(`table scrolls: ${e.innerText.slice(0, 60)}`);
    for (const c of e.querySelectorAll('td, th')) {
      if (c.scrollWidth > c.clientWidth) out.push(`table cell cut: ${c.innerText}`);
    }
  }
  for (const e of inMain('[data-testid="stVegaLiteChart"], [data-testid="stArrowVegaLiteChart"]')) {
    const drawn = e.querySelector('canvas, svg.marks');
    const r = drawn && drawn.getBoundingClientRect();
    if (r && r.width > 0 && (r.right > right + 1 || r.left < left - 1)) {
      out.push(`chart past the column: ${e.getAttribute('aria-label') || ''}`);
    }
  }
  return out;
}
"""


def _idle(page: Page) -> None:
    page.wait_for_selector(IDLE, state="attached", timeout=TIMEOUT_MS)
    expect(page.locator('[data-testid="stSpinner"]')).to_have_count(0, timeout=TIMEOUT_MS)


def _problems(page: Page) -> list[str]:
    """Everything cut on the current page, in each of its tabs."""
    tabs = page.locator('[data-testid="stMain"] [role="tab"]')
    found = list(page.evaluate(CUT))
    for k in range(tabs.count()):
        tabs.nth(k).click()
        page.wait_for_timeout(400)
        found += page.evaluate(CUT)
    return list(dict.fromkeys(found))


@pytest.fixture
def small_page(browser, app_url):
    context = browser.new_context(viewport=SMALL, base_url=app_url)
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("present", [False, True], ids=["sidebar-open", "presenting"])
@pytest.mark.parametrize("data", DATA)
def test_no_number_is_cut_at_1024_px(small_page: Page, data: str, present: bool) -> None:
    cut: dict[str, list[str]] = {}
    for path in PATHS:
        query = f"data={data}" + ("&present=1" if present else "")
        small_page.goto(f"{path}{'&' if '?' in path else '?'}{query}")
        _idle(small_page)
        if not present:
            expect(small_page.locator('[data-testid="stSidebar"]')).to_be_visible()
        small_page.wait_for_timeout(600)  # charts and grids measure themselves
        assert_no_exception(small_page)
        problems = _problems(small_page)
        if problems:
            cut[path] = problems
    assert cut == {}


def test_model_page_numbers_are_whole(small_page: Page) -> None:
    """The numbers the issue found cut ("100…" for BIC, the Pr(>|t|) column scrolled out
    of sight) are on screen in full."""
    data = load_bundled("schools")
    fit = fit_lmm(data, ModelSpec.one_factor("test_score", "school", fixed=("study_time",)))
    small_page.goto("/Model")
    _idle(small_page)
    small_page.wait_for_timeout(600)
    values = small_page.locator('[data-testid="stMain"] [data-testid="stMetricValue"]')
    shown = [values.nth(k).inner_text() for k in range(values.count())]
    assert shown[:4] == [f"{v:,.1f}" for v in (fit.criterion, fit.aic, fit.bic, fit.loglik)]
    assert shown[2] == "1,005.7"
    assert _problems(small_page) == []
    table = summary.fixef_table(fit)
    # A grid writes its cells into an accessible table once it is drawn: scroll to each.
    grids = small_page.locator('[data-testid="stMain"] [data-testid="stDataFrame"]')
    cells = []
    for k in range(grids.count()):
        grids.nth(k).scroll_into_view_if_needed()
        small_page.wait_for_timeout(150)
        cells.append(
            grids.nth(k).evaluate(
                """e => [[...e.querySelectorAll('th')].map(h => h.innerText),
                         [...e.querySelectorAll('tr')].map(r =>
                             [...r.querySelectorAll('td')].map(d => d.innerText))]"""
            )
        )
    found: dict[tuple[str, str], str] = {}
    for head, rows in cells:
        for row in rows:
            if row and row[0] in table.index:
                found.update({(row[0], h): v for h, v in zip(head[1:], row[1:], strict=True)})
    decimals = {"df": 2, "t value": 3}
    for term in table.index:
        for column in table.columns:
            want = cell(table.loc[term, column], column, decimals.get(column, 4))
            assert found.get((term, column)) == want, (term, column)
    assert found[("study_time", "Pr(>|t|)")] == "< 2e-16"
