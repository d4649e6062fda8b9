"""A shared link whose values do not apply says what was ignored and why (one message)."""

from __future__ import annotations

import pytest
from conftest import plain

PAGE = "pages/3_Model.py"
SCHOOLS = "Schools: study time and test scores (tutorial)"


def _notes(at) -> list[str]:
    shown = [plain(w.value) for w in at.warning if "do not apply here" in w.value]
    assert len(shown) <= 1, shown  # one message for all of them
    return shown[0].splitlines()[1:] if shown else []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"y": "nope"}, [f"- y='nope': there is no column of that name in {SCHOOLS}"]),
        ({"x": "school"}, ["- x='school': that column is text, so it cannot be the predictor"]),
        (
            {"data": "your upload"},
            [
                "- data='your upload': an uploaded file is not part of a link; upload it again "
                "on the Data page"
            ],
        ),  # fmt: skip
        ({"method": "FOO"}, ["- method='FOO': the method is REML or ML"]),
        (
            {"data": "atlantis"},
            [f"- data='atlantis': there is no bundled data set of that name (showing {SCHOOLS})"],
        ),
        ({"group2": "class"}, [f"- group2='class': there is no column of that name in {SCHOOLS}"]),
        ({"random_slope": "maybe"}, ["- random_slope='maybe': not true or false"]),
        (
            {"group2_relation": "crossed"},
            ["- group2_relation='crossed': that grouping level is not chosen"],
        ),
    ],
)
def test_each_kind_of_ignored_value_is_named(open_page, query, expected):
    at = open_page(PAGE, query=query)
    assert not at.exception
    assert _notes(at) == expected
    # The defaults are what is shown: the tutorial's random-intercept model.
    assert "test_score ~ 1 + study_time + (1 | school)" in [c.value for c in at.code]


def test_several_ignored_values_in_one_message(open_page):
    at = open_page(PAGE, query={"data": "pupils", "y": "zzz", "group3": "nope", "method": "x"})
    assert not at.exception
    notes = _notes(at)
    assert len(notes) == 3
    assert [n.split("=")[0] for n in notes] == ["- y", "- method", "- group3"]  # URL order


def test_a_link_that_applies_says_nothing_and_dismiss_clears(open_page):
    at = open_page(PAGE, query={"data": "dietox", "random_slope": "true"})
    assert not at.exception and _notes(at) == []
    at = open_page(PAGE, query={"method": "FOO"})
    assert _notes(at)
    at.button(key="_dismiss_url_notes").click().run()
    assert not at.exception and _notes(at) == []


def test_a_used_column_is_named_as_used(open_page):
    at = open_page(PAGE, query={"x": "test_score"})
    assert _notes(at) == ["- x='test_score': that column is already the outcome"]
