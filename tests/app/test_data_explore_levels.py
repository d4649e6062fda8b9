"""Data and Explore pages with several grouping levels: the structure tables, the
reused-labels check with its one-click nested coding, and views by each level."""

from __future__ import annotations

from conftest import frame_with, labelled, plain, whole_table

from lib.explore.groups import group_summary
from lib.model.levels import with_factor
from lib.model.nesting import factor_relation
from lib.table.catalogue import load_bundled

DATA = "pages/1_Data.py"
EXPLORE = "pages/2_Explore.py"


def test_data_page_lists_levels_and_relations(open_page):
    at = open_page(DATA, {"data": "pupils"})
    assert not at.exception
    roles = frame_with(at, "role")
    assert roles.set_index("role").loc["Grouping column 2", "column"] == "class (nested)"
    sizes = frame_with(at, "median rows per level").set_index("factor")
    assert sizes.index.tolist() == ["school", "class", "class_id", "sex"]
    assert sizes.loc["school", "levels"] == "30" and sizes.loc["class_id", "levels"] == "151"
    pairs = whole_table(at, "labels in several groups")
    rel = factor_relation(load_bundled("pupils"), "class", "school")
    assert pairs.loc["class / school", "relation"] == "partly crossed with"
    assert pairs.loc["class / school", "combinations"] == f"{rel.n_cells:,}" == "151"
    assert pairs.loc["class / school", "labels in several groups"] == str(rel.n_repeated)
    assert pairs.loc["class_id / school", "relation"] == "nested in"
    # The nested coding is in use: nothing to warn about.
    assert not [w for w in at.warning if "repeat across" in w.value]


def test_data_page_detects_reused_labels_and_fixes_them_in_one_click(open_page):
    at = open_page(DATA, {"data": "pupils", "group2_relation": "crossed"})
    assert not at.exception
    warning = " ".join(plain(w.value) for w in at.warning if "repeat across" in w.value)
    assert "class is coded as crossed with school" in warning
    assert "'A' occurs in 30 of 30 school groups (all of its 6 labels repeat)" in warning
    at.button(key="_nest_data_0").click().run()
    assert not at.exception
    assert at.sidebar.radio(key="group2_relation").value == "nested"
    assert at.sidebar.code[0].value == "score ~ 1 + hours + (1 | school) + (1 | class:school)"
    assert not [w for w in at.warning if "repeat across" in w.value]


def test_data_page_offers_nesting_for_a_single_reused_grouping_column(open_page):
    # The new user: class chosen as the only grouping column.
    at = open_page(DATA, {"data": "pupils", "group": "class", "group2": ""})
    assert at.sidebar.code[0].value == "score ~ 1 + hours + (1 | class)"
    assert any("class is the only grouping column" in plain(w.value) for w in at.warning)
    at.button(key="_nest_data_0").click().run()
    assert not at.exception
    assert at.sidebar.code[0].value == "score ~ 1 + hours + (1 | school) + (1 | class:school)"


def test_tutorial_data_page_has_no_structure_warning(open_page):
    at = open_page(DATA)
    assert not at.exception
    assert not [w for w in at.warning if "repeat across" in w.value]
    assert frame_with(at, "median rows per level")["factor"].tolist() == ["school"]


def test_explore_by_each_level(open_page):
    at = open_page(EXPLORE, {"data": "pupils"})
    assert not at.exception
    frame = load_bundled("pupils")
    by = at.selectbox(key="by")
    assert by.options == [
        "school",
        "class within school",
        "class alone (same labels pooled across school)",
    ]
    table = labelled(frame_with(at, "Mean"))
    assert len(table) == 30
    by.set_value("class:school").run()
    assert not at.exception
    table = labelled(frame_with(at, "Mean"))
    expected = group_summary(
        with_factor(frame, ["class", "school"], ["score"]), "score", "class:school"
    )
    assert table.index.tolist() == list(expected.levels) and len(table) == 151
    assert table["Mean"].tolist() == [f"{m:,.4f}" for m in expected.mean]
    assert at.query_params.get("by") == "class:school"
    at.selectbox(key="by").set_value("class").run()
    table = labelled(frame_with(at, "Mean"))
    pooled = group_summary(frame, "score", "class")
    assert table["Mean"].tolist() == [f"{m:,.4f}" for m in pooled.mean] and len(table) == 6


def test_explore_one_level_has_no_selector(open_page):
    at = open_page(EXPLORE)
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "by"]
