"""Model page: confidence intervals (Wald, profile, bootstrap with Stop) and the effect plot."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import frame_with, labelled
from streamlit.testing.v1 import AppTest

from lib.lmm import fit_lmm
from lib.lmm.intervals import profile_intervals, wald_intervals
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from lib.present import confint
from lib.table.catalogue import load_bundled
from ui.views import intervals as intervals_view

PAGE = "pages/3_Model.py"
SLOPE = ModelSpec.one_factor("test_score", "school", fixed=("study_time",)).with_term(
    slopes=("study_time",)
)
REF = json.loads(Path("tests/reference/intervals_reference.json").read_text())["schools"]


def _slope_page(open_page) -> AppTest:
    at = open_page(PAGE)
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert not at.exception
    return at


def _fixef_ci(at: AppTest) -> pd.DataFrame:
    """The fixed-effects table's interval columns (a block of the wrapped table)."""
    return labelled(_fixef_block(at, "97.5 %"))


def _fixef_block(at: AppTest, column: str) -> pd.DataFrame:
    """The block of the fixed-effects table that has ``column`` (not the random effects')."""
    return next(
        d.value for d in at.dataframe if column in d.value.columns and "Groups" not in d.value
    )


def _r_bounds(name: str, rows: str) -> tuple[float, float]:
    k = REF["confint_names"].index(name)
    return float(REF[rows][k]["lower"]), float(REF[rows][k]["upper"])


def test_wald_columns_by_default_equal_lib_and_lme4(open_page):
    at = _slope_page(open_page)
    fit = fit_lmm(load_bundled("schools"), SLOPE)
    wald = {r.term: r for r in wald_intervals(fit).rows}
    table = _fixef_ci(at)
    for term in ("(Intercept)", "study_time"):
        assert table.loc[term, "2.5 %"] == f"{wald[term].conf_low:,.4f}"
        assert table.loc[term, "97.5 %"] == f"{wald[term].conf_high:,.4f}"
        low, high = _r_bounds(term, "wald")  # lme4's confint(method = "Wald")
        assert float(table.loc[term, "2.5 %"]) == pytest.approx(low, abs=1e-4)
        assert float(table.loc[term, "97.5 %"]) == pytest.approx(high, abs=1e-4)
    # Wald has no intervals for the variance parameters: that table keeps lme4's columns.
    assert "Variance" in frame_with(at, "Std.Dev.").columns
    assert any("95% Wald intervals" in c.value for c in at.caption)
    # The level is adjustable: 90% gives R's 5 % and 95 % columns.
    at.number_input(key=intervals_view.LEVEL_KEY).set_value(90.0).run()
    assert "95 %" in _fixef_block(at, "5 %").columns
    narrow = {r.term: r for r in wald_intervals(fit, 0.90).rows}
    assert labelled(_fixef_block(at, "5 %")).loc["study_time", "5 %"] == (
        f"{narrow['study_time'].conf_low:,.4f}"
    )


def test_profile_intervals_on_the_tutorial_model(open_page):
    at = _slope_page(open_page)
    at.radio(key=intervals_view.METHOD_KEY).set_value("profile").run()
    assert frame_with(at, "Std.Dev.") is not None  # nothing computed before the click
    at.button(key="_ci_profile_run").click().run()
    assert not at.exception
    frame = load_bundled("schools")
    fit = fit_lmm(frame, SLOPE)
    lib = profile_intervals(fit, build_design(frame, SLOPE))
    shown = frame_with(at, confint.COMPACT_ESTIMATE)
    assert shown["Name"].tolist() == ["(Intercept)", "study_time", "Corr", ""]
    expected = [r for r in lib.rows if r.effect == "ran_pars"]
    # Rows: SD (Intercept), SD study_time, their correlation, residual SD.
    order = ["sd__(Intercept)", "sd__study_time", "cor__(Intercept).study_time", "sd__Observation"]
    by_term = {r.term: r for r in expected}
    assert shown["2.5 %"].tolist() == [f"{by_term[t].conf_low:,.4f}" for t in order]
    assert shown["97.5 %"].tolist() == [f"{by_term[t].conf_high:,.4f}" for t in order]
    # lme4's profile bounds of the SDs and sigma (tests/reference/intervals_reference.R)
    for k, name in enumerate(("sd__(Intercept)", "sd__study_time")):
        low, high = _r_bounds(name, "profile")
        assert float(shown["2.5 %"][k]) == pytest.approx(low, abs=5e-3 * (high - low))
        assert float(shown["97.5 %"][k]) == pytest.approx(high, abs=5e-3 * (high - low))
    low, high = _r_bounds("sd__Observation", "profile")
    assert float(shown["2.5 %"][3]) == pytest.approx(low, abs=5e-3 * (high - low))
    fixed = _fixef_ci(at)
    low, high = _r_bounds("study_time", "profile")
    assert float(fixed.loc["study_time", "2.5 %"]) == pytest.approx(low, abs=5e-3 * (high - low))
    assert any("profile likelihood intervals" in c.value for c in at.caption)


def test_bootstrap_runs_and_stops(open_page):
    at = _slope_page(open_page)
    at.radio(key=intervals_view.METHOD_KEY).set_value("boot").run()
    at.number_input(key=intervals_view.NSIM_KEY).set_value(100).run()
    # A Stop already asked for this run: the page does no refit and offers to resume.
    key = (*_model_key(at), 100, 1)
    at.session_state[intervals_view.STOP_KEY] = {key}
    at.session_state[intervals_view.ACTIVE_KEY] = key
    at.run()
    assert not at.exception
    resume = at.button(key="_ci_boot_run")
    assert resume.label == "Resume (0 of 100 done)"
    # Resume: the run completes, and the table shows percentile intervals of 100 refits.
    resume.click().run()
    assert not at.exception
    assert any("percentiles of 100 refits" in c.value for c in at.caption)
    shown = frame_with(at, confint.COMPACT_ESTIMATE)
    low, high = (float(v) for v in (shown["2.5 %"][3], shown["97.5 %"][3]))
    fit = fit_lmm(load_bundled("schools"), SLOPE)
    assert low < fit.sigma < high  # the residual SD inside its bootstrap interval
    # Cached per model: a rerun does not recompute (the same run object).
    runs = at.session_state[intervals_view.RUN_KEY]
    before = runs[key]
    at.run()
    assert at.session_state[intervals_view.RUN_KEY][key] is before


def _model_key(at: AppTest) -> tuple[str, str]:
    return ("bundled:schools", repr(SLOPE))


def test_effect_plot_with_covariate(open_page):
    at = open_page(PAGE, {"data": "pupils", "covariates": "ses"})
    assert not at.exception
    assert at.selectbox(key=next(k for k in _keys(at) if k.startswith("effect_predictor"))).value
    titles = [
        json.loads(c.proto.spec).get("title", {}).get("text") for c in at.get("vega_lite_chart")
    ]
    assert "Predicted score by hours" in titles


def _keys(at: AppTest) -> list[str]:
    return [s.key for s in at.selectbox if s.key]


def _interaction_script() -> None:
    import pandas as pd

    from lib.lmm import fit_lmm
    from lib.model.formula import parse_formula
    from ui.views import effects

    class Sel:
        big = None
        source = "test:interaction"
        frame = pd.read_csv("data/pupils.csv", dtype={"school": str, "class": str})

    spec = parse_formula("score ~ hours * sex + (1 | school)")
    effects.draw(Sel(), fit_lmm(Sel.frame, spec))


def test_effect_plot_of_an_interaction_has_a_line_per_level():
    at = AppTest.from_function(_interaction_script, default_timeout=60).run()
    assert not at.exception
    predictor = at.selectbox[0]
    moderator = at.selectbox[1]
    assert predictor.value == "hours"
    assert moderator.value == "sex"  # the column hours interacts with
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["title"]["text"] == "Effect of hours by sex"
    assert any("not parallel" in m.value for m in at.markdown)


def test_rank_deficiency_note_names_the_dropped_column(open_page):
    rng = np.random.default_rng(3)
    n = 60
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "g": np.repeat(list("abcdef"), 10),
            "x": x,
            "x2": 2.0 * x,  # a combination of x: lme4 drops it
            "y": x + rng.normal(size=n),
        }
    )
    at = open_page("pages/1_Data.py")
    content = frame.to_csv(index=False).encode()
    at.file_uploader(key="_upload_widget").upload("collinear.csv", content)
    at.run()
    at.sidebar.selectbox(key="x").set_value("x").run()
    at.sidebar.multiselect(key="covariates").set_value(["x2"]).run()
    at.switch_page(PAGE).run()
    assert not at.exception
    notes = [i.value for i in at.info if "rank deficient" in i.value]
    assert len(notes) == 1 and "x2" in notes[0]
