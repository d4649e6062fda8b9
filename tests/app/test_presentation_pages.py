"""Presentation mode (present=1) on the other pages: the heading names what the page shows,
tables are static and larger; without it the pages are unchanged."""

from __future__ import annotations

import pytest

CASES = {
    "pages/2_Explore.py": ("Explore", "**test\\_score** by **school**"),
    "pages/4_Compare.py": ("Compare strategies", "the four mixed models of **test\\_score**"),
    "pages/6_Ladder.py": ("Model ladder", "**Random intercept** · `test_score ~ 1 + study_time"),
    "pages/8_Lesson.py": ("Step 1 of 9: Look at the data", "**Lesson** · Do the groups differ?"),
}


@pytest.mark.parametrize("page", list(CASES))
def test_present_names_the_page(open_page, page):
    title, subtitle = CASES[page]
    at = open_page(page, query={"present": "1"})
    assert not at.exception
    assert at.title[0].value == title
    assert any(subtitle in m.value for m in at.markdown), [m.value for m in at.markdown][:3]
    assert len(at.table) >= 1  # static tables, enlarged by the style sheet
    at_plain = open_page(page)
    assert not any(subtitle in m.value for m in at_plain.markdown if m.value.startswith("**"))


def test_present_sandbox_names_the_models(open_page):
    at = open_page("pages/7_Sandbox.py", query={"present": "1", "sim_groups": "5"})
    assert not at.exception
    assert any("against `y ~ x + (1 | g)`" in m.value for m in at.markdown)
