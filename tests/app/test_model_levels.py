"""Model page with several grouping levels: sidebar levels, per-level panels, nesting check.

The numbers shown are compared with lib's own fit of the same spec.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import frame_with, plain

from lib.lmm import fit_lmm
from lib.model.levels import LevelEffects, level_spec
from lib.model.spec import CROSSED, GroupLevel
from lib.present import summary
from lib.table.catalogue import load_bundled

PAGE = "pages/3_Model.py"
RI = LevelEffects()


def _text(value) -> str:  # noqa: ANN001 - a chart title: a string, or its wrapped lines
    return " ".join(value) if isinstance(value, list) else value


def _formulas(at) -> list[str]:
    return [c.value for c in at.code]


def _metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _charts(at) -> list[dict]:
    """The model's charts (the diagnostics section's are tested on their own)."""
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return [s for s in specs if s.get("usermeta", {}).get("role") != "diagnostics"]


def _pupils_spec(relation: str = "nested", **class_effects) -> object:
    return level_spec(
        "score",
        "school",
        [GroupLevel("class", relation)],
        [RI, LevelEffects(**class_effects)],
        fixed=("hours",),
        slope="hours",
    )


def three_levels(seed: int, class_sd: float = 1.5) -> pd.DataFrame:
    """Pupils in classes x, y in schools a-c in regions R0-R3: labels reused at every level."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(4):
        u_region = rng.normal(0, 3)
        for s in "abc":
            u_school = rng.normal(0, 2)
            for c in "xy":
                u_class = rng.normal(0, class_sd)
                for _ in range(6):
                    h = rng.uniform(0, 10)
                    y = 50 + 1.2 * h + u_region + u_school + u_class + rng.normal(0, 2)
                    rows.append((f"R{r}", s, c, round(h, 3), round(y, 3)))
    return pd.DataFrame(rows, columns=["region", "school", "class", "hours", "score"])


def _upload(at, frame: pd.DataFrame):
    from ui.state import UploadedTable

    content = frame.to_csv(index=False).encode()
    at.session_state["_upload"] = UploadedTable.from_bytes("levels.csv", content)
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    return at


THREE_SPEC = level_spec(
    "score",
    "region",
    [GroupLevel("school"), GroupLevel("class")],
    [RI, RI, RI],
    fixed=("hours",),
    slope="hours",
)


@pytest.fixture(scope="module")
def pupils():
    return load_bundled("pupils")


def test_pupils_default_is_the_nested_model_with_lib_numbers(open_page, pupils):
    at = open_page(PAGE, {"data": "pupils"})
    assert not at.exception
    formula = "score ~ 1 + hours + (1 | school) + (1 | class:school)"
    assert at.sidebar.code[0].value == formula and formula in _formulas(at)
    fit = fit_lmm(pupils, _pupils_spec())
    assert _metric(at, "REML criterion") == f"{fit.criterion:,.1f}"
    assert _metric(at, "Groups") == "151, 30"
    varcorr = frame_with(at, "Std.Dev.")
    assert varcorr["Groups"].tolist() == ["class:school", "school", "Residual"]
    expected = [*(t.variances[0] for t in fit.varcorr.terms), fit.varcorr.residual_variance]
    assert varcorr["Variance"].tolist() == [f"{v:,.4f}" for v in expected]
    # The share of each level equals lib.present.summary.level_shares, and the text quotes it.
    shares = frame_with(at, "Share")
    table = summary.level_shares(fit)
    assert shares["Share"].tolist() == [f"{v:.3f}" for v in table["Share"]]
    assert shares["Level"].tolist() == ["class:school", "school", "Residual"]
    meaning = [plain(m.value) for m in at.markdown if "Of the variance in score" in m.value]
    school, klass, resid = (f"{100 * v:.1f}%" for v in table["Share"].iloc[[1, 0, 2]])
    assert (
        meaning
        and (
            f"{school} between school groups, {klass} between class within school groups and "
            f"{resid} within groups (residual)"
        )
        in meaning[0]
    )
    # One caterpillar per grouping factor (after the scatter), titled by the factor.
    titles = [_text(c["title"]["text"]) for c in _charts(at)]
    assert titles == [
        "Fitted line of each school",
        "Random intercept of class:school",
        "Random intercept of school",
    ]
    ranef = frame_with(at, "class:school")
    assert len(ranef) == 151
    assert not at.warning  # the nested coding raises no nesting warning


def test_crossed_coding_of_reused_labels_warns_and_one_click_nests(open_page, pupils):
    at = open_page(PAGE, {"data": "pupils"})
    at.sidebar.radio(key="group2_relation").set_value("crossed").run()
    assert not at.exception
    assert "score ~ 1 + hours + (1 | school) + (1 | class)" in _formulas(at)
    crossed = fit_lmm(pupils, _pupils_spec(CROSSED))
    assert _metric(at, "REML criterion") == f"{crossed.criterion:,.1f}"
    assert _metric(at, "Groups") == "30, 6"
    warning = " ".join(plain(w.value) for w in at.warning)
    assert "Do the labels of class repeat across school?" in warning
    assert "'A' occurs in 30 of 30 school groups (all of its 6 labels repeat)" in warning
    assert "every row labelled 'A' counts as one and the same class" in warning
    assert "lme4's `(1 | school/class)`, with 151 groups" in warning
    assert at.query_params.get("group2_relation") == "crossed"
    at.button(key="_nest_model_0").click().run()
    assert not at.exception
    assert at.sidebar.radio(key="group2_relation").value == "nested"
    assert "score ~ 1 + hours + (1 | school) + (1 | class:school)" in _formulas(at)
    assert not at.warning
    assert "group2_relation" not in at.query_params  # back at the data set's default


def test_single_grouping_column_with_reused_labels_is_flagged(open_page):
    at = open_page(PAGE, {"data": "pupils", "group": "class", "group2": ""})
    assert not at.exception
    assert "score ~ 1 + hours + (1 | class)" in _formulas(at)
    warning = " ".join(plain(w.value) for w in at.warning)
    assert "class is the only grouping column" in warning
    at.button(key="_nest_model_0").click().run()
    assert not at.exception
    assert at.sidebar.selectbox(key="group").value == "school"
    assert at.sidebar.selectbox(key="group2").value == "class"
    assert "score ~ 1 + hours + (1 | school) + (1 | class:school)" in _formulas(at)


def test_per_level_toggles_and_fitted_lines_by_level(open_page, pupils):
    at = open_page(PAGE, {"data": "pupils"})
    at.sidebar.toggle(key="random_slope2").set_value(True).run()
    assert not at.exception
    formula = "score ~ 1 + hours + (1 | school) + (1 + hours | class:school)"
    assert formula in _formulas(at)
    fit = fit_lmm(pupils, _pupils_spec(slope=True))
    assert _metric(at, "REML criterion") == f"{fit.criterion:,.1f}"
    assert at.query_params.get("random_slope2") == "true"
    # Lines per class: each line adds the class's school effect
    # (lib.model.levels.group_coefficients).
    at.selectbox(key="lines_by").set_value("class:school").run()
    assert not at.exception
    chart = _charts(at)[0]
    assert _text(chart["title"]["text"]) == "Fitted line of each class:school"
    assert "lines for the 30 largest of 151 groups" in _text(chart["title"]["subtitle"])
    ranef_titles = [_text(c["title"]["text"]) for c in _charts(at)[1:]]
    assert ranef_titles == [
        "Random intercept of class:school",
        "Random slope of hours of class:school",
        "Random intercept of school",
    ]


def test_url_restores_levels_and_removes_them(open_page):
    at = open_page(
        PAGE, {"data": "pupils", "group2_relation": "crossed", "random_intercept": "false"}
    )
    assert not at.exception
    assert "score ~ 1 + hours + (1 | class)" in _formulas(at)
    at = open_page(PAGE, {"data": "pupils", "group2": ""})
    assert not at.exception
    assert "score ~ 1 + hours + (1 | school)" in _formulas(at)
    assert [t.key for t in at.sidebar.toggle if str(t.key).endswith("2")] == []


def test_three_levels_set_in_the_sidebar():
    from conftest import open_app

    frame = three_levels(4)
    at = _upload(open_app(PAGE), frame)
    at.sidebar.selectbox(key="group").set_value("region").run()
    at.sidebar.selectbox(key="group2").set_value("school").run()
    assert "score ~ 1 + hours + (1 | region) + (1 | school:region)" in _formulas(at)
    at.sidebar.selectbox(key="group3").set_value("class").run()
    assert not at.exception
    formula = "score ~ 1 + hours + (1 | region) + (1 | school:region) + (1 | class:school:region)"
    assert formula in _formulas(at)
    fit = fit_lmm(frame, THREE_SPEC)
    assert not fit.singular
    assert _metric(at, "REML criterion") == f"{fit.criterion:,.1f}"
    assert _metric(at, "Groups") == "24, 12, 4"
    shares = frame_with(at, "Share")
    assert shares["Share"].tolist() == [f"{v:.3f}" for v in summary.level_shares(fit)["Share"]]
    assert len(_charts(at)) == 1 + 3  # the scatter and one caterpillar per factor
    text = " ".join(m.value for m in at.markdown if "You predict" in m.value)
    assert "class within school within region its own baseline around its school within" in text


def test_singular_middle_level_is_named_and_can_be_dropped():
    from conftest import open_app

    frame = three_levels(5)
    fit = fit_lmm(frame, THREE_SPEC)
    assert fit.singular and fit.varcorr.terms[1].group == "school:region"
    assert fit.varcorr.terms[1].variances[0] < 1e-10
    at = _upload(open_app(PAGE), frame)
    at.sidebar.selectbox(key="group").set_value("region").run()
    at.sidebar.selectbox(key="group2").set_value("school").run()
    at.sidebar.selectbox(key="group3").set_value("class").run()
    assert not at.exception
    warning = " ".join(plain(w.value) for w in at.warning if "singular" in w.value)
    assert "between school within region groups (`(1 | school:region)`)" in warning
    button = at.button(key="_simplify")
    assert plain(button.label) == "Drop the term `(1 | school:region)`"
    button.click().run()
    assert not at.exception
    assert at.sidebar.toggle(key="random_intercept2").value is False
    assert "score ~ 1 + hours + (1 | region) + (1 | class:school:region)" in _formulas(at)


def test_penicillin_default_is_crossed_and_not_flagged(open_page):
    at = open_page(PAGE, {"data": "penicillin"})
    assert not at.exception
    assert "diameter ~ 1 + (1 | plate) + (1 | sample)" in _formulas(at)
    assert at.sidebar.radio(key="group2_relation").value == "crossed"
    # lme4's REML criterion for Penicillin is 330.9.
    assert _metric(at, "REML criterion") == "330.9"
    varcorr = frame_with(at, "Std.Dev.")
    assert varcorr["Groups"].tolist() == ["plate", "sample", "Residual"]
    assert varcorr["Variance"].tolist() == ["0.7169", "3.7309", "0.3024"]
    text = " ".join(m.value for m in at.markdown if "You predict" in m.value)
    assert "every plate can meet every sample" in text
    # One observation per plate x sample: the nested coding is impossible, so no warning.
    assert not [w for w in at.warning if "repeat across" in w.value]
    assert at.query_params.get("group2_relation") is None


def test_pastes_default_is_nested_with_lme4_numbers(open_page):
    at = open_page(PAGE, {"data": "pastes"})
    assert not at.exception
    assert "strength ~ 1 + (1 | batch) + (1 | cask:batch)" in _formulas(at)
    # lme4: REML criterion 247.0; variances cask:batch 8.434, batch 1.657, residual 0.678.
    assert _metric(at, "REML criterion") == "247.0"
    varcorr = frame_with(at, "Std.Dev.")
    assert varcorr["Variance"].tolist() == ["8.4337", "1.6573", "0.6780"]
    at.sidebar.radio(key="group2_relation").set_value("crossed").run()
    assert any("Do the labels of cask repeat across batch?" in w.value for w in at.warning)


def test_levels_survive_page_switches(open_page):
    at = open_page(None, {"data": "pupils", "group2_relation": "crossed", "random_slope2": "true"})
    at.switch_page("pages/2_Explore.py").run()
    at.switch_page(PAGE).run()
    assert not at.exception
    assert "score ~ 1 + hours + (1 | school) + (1 + hours | class)" in _formulas(at)
    assert at.query_params == {
        "data": "pupils",
        "group2_relation": "crossed",
        "random_slope2": "true",
    }
    at.sidebar.selectbox(key="group2").set_value("").run()
    at.switch_page("pages/1_Data.py").run()
    assert not at.exception
    assert at.sidebar.code[0].value == "score ~ 1 + hours + (1 | school)"
    assert at.query_params.get("group2") == ""
