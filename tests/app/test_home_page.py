"""Home page (app.py): purpose, data in use, links to every page."""

from __future__ import annotations


def test_home_runs_with_default_data(open_page):
    at = open_page()
    assert not at.exception
    assert at.title[0].value == "Multilevel Explorer"
    from ui.sidebar import NAV
    from ui.views.home import PAGES

    assert len(at.main.get("page_link")) == len(PAGES)  # one per page, besides the sidebar's
    assert len(at.sidebar.get("page_link")) == len(NAV) == len(PAGES) + 1
    text = " ".join(m.value for m in at.markdown)
    assert "lme4" in text and "Schools" in text
    assert any("183 rows" in c.value and "3 groups" in c.value for c in at.caption)


def test_home_shows_the_data_set_from_the_url(open_page):
    at = open_page(query={"data": "dietox"})
    assert not at.exception
    assert at.sidebar.selectbox(key="data").value == "dietox"
    text = " ".join(m.value for m in at.markdown)
    assert "72 pigs" in text
    assert any("861 rows" in c.value and "72 groups" in c.value for c in at.caption)


def test_unknown_data_set_in_url_falls_back_to_default(open_page):
    at = open_page(query={"data": "your upload"})
    assert not at.exception
    assert at.sidebar.selectbox(key="data").value == "schools"


def test_url_values_are_parsed_and_encoded_like_bind():
    from ui.state import encode_url_value, parse_url

    parsed = parse_url(
        {
            "data": "dietox",
            "random_slope": "TRUE",
            "correlated": "maybe",
            "covariates": ["Evit", "Cu"],
            "binwidth": "2.5",
            "unrelated": "x",
        }
    )
    assert parsed == {
        "data": "dietox",
        "random_slope": True,
        "covariates": ["Evit", "Cu"],
        "binwidth": 2.5,
    }
    assert parse_url({"binwidth": "-1"}) == {}
    assert encode_url_value(False) == ["false"]
    assert encode_url_value(5.0) == ["5"]
    assert encode_url_value(["a", "b"]) == ["a", "b"]
