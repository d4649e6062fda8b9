"""Explore page: histograms (binned server-side), group means table, grouped scatter."""

from __future__ import annotations

from conftest import frame_with, labelled

from lib.explore.groups import group_summary
from lib.table.catalogue import load_bundled

PAGE = "pages/2_Explore.py"


def test_default_explore_shows_the_tutorial_means(open_page):
    at = open_page(PAGE)
    assert not at.exception
    table = labelled(frame_with(at, "Mean"))
    expected = group_summary(load_bundled("schools"), "test_score", "school")
    assert table.index.tolist() == list(expected.levels)
    assert table["Mean"].tolist() == [f"{m:,.4f}" for m in expected.mean]
    assert table["SD"].tolist() == [f"{s:,.4f}" for s in expected.sd]
    assert table["Mean"].tolist() == ["48.8462", "39.3278", "47.1906"]  # the tutorial's means
    assert at.select_slider(key="binwidth").value == 5.0  # the tutorial's binwidth
    assert any("Hillcrest has the highest mean" in m.value for m in at.markdown)


def test_bin_width_can_change(open_page):
    at = open_page(PAGE)
    at.select_slider(key="binwidth").set_value(2.0).run()
    assert not at.exception
    assert at.select_slider(key="binwidth").value == 2.0


def test_bin_width_from_url(open_page):
    at = open_page(PAGE, {"binwidth": "10"})
    assert not at.exception
    assert at.select_slider(key="binwidth").value == 10.0


def test_many_groups(open_page):
    at = open_page(PAGE, {"data": "dietox"})
    assert not at.exception
    assert len(frame_with(at, "Mean")) == 72
