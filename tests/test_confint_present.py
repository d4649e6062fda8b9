"""lib.present.confint (interval columns), the report's intervals, BootstrapRun, effect chart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.api import lmer
from lib.charts.effects import effect_chart
from lib.lmm.bootstrap import BootstrapRun, bootstrap_intervals
from lib.present import confint, report, summary

TUTORIAL = "test_score ~ study_time + (study_time | school)"


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    return lmer(TUTORIAL, pd.read_csv("data/schools.csv", dtype={"school": str}))


@pytest.fixture(scope="module")
def profile(model):  # noqa: ANN001, ANN201
    return model.intervals("profile")


def test_labels_are_rs_column_names():
    assert confint.labels(0.95) == ("2.5 %", "97.5 %")
    assert confint.labels(0.9) == ("5 %", "95 %")
    assert confint.labels(0.99) == ("0.5 %", "99.5 %")


def test_fixef_columns_are_the_intervals(model):
    wald = model.intervals("wald")
    table = confint.fixef_with_ci(summary.fixef_table(model.fit), wald)
    assert list(table.columns[-2:]) == ["2.5 %", "97.5 %"]
    rows = {r.term: r for r in wald.rows}
    assert table.loc["study_time", "2.5 %"] == rows["study_time"].conf_low
    assert table.loc["(Intercept)", "97.5 %"] == rows["(Intercept)"].conf_high
    assert not confint.has_variance_intervals(wald)


def test_varcorr_rows_take_sd_and_correlation_intervals(model, profile):
    assert confint.has_variance_intervals(profile)
    table = confint.varcorr_with_ci(model.fit, summary.varcorr_table(model.fit), profile)
    tidy = confint.tidy_frame(profile).set_index("term")
    assert table["Name"].tolist() == ["(Intercept)", "study_time", "Corr", ""]
    expected = ["sd__(Intercept)", "sd__study_time", "cor__(Intercept).study_time"]
    expected.append("sd__Observation")
    assert table["2.5 %"].tolist() == tidy.loc[expected, "conf.low"].tolist()
    assert table["97.5 %"].tolist() == tidy.loc[expected, "conf.high"].tolist()
    assert table.loc[2, "Corr"] == pytest.approx(model.fit.varcorr.terms[0].correlation[1, 0])
    compact = confint.compact_varcorr(table)
    assert list(compact.columns) == ["Groups", "Name", "SD / Corr", "2.5 %", "97.5 %"]
    assert compact["SD / Corr"][2] == table["Corr"][2]
    assert compact["SD / Corr"][3] == table["Std.Dev."][3]


def test_uncorrelated_blocks_are_matched():
    m = lmer(
        "test_score ~ study_time + (study_time || school)",
        pd.read_csv("data/schools.csv", dtype={"school": str}),
    )
    result = m.intervals("profile")
    table = confint.varcorr_with_ci(m.fit, summary.varcorr_table(m.fit), result)
    tidy = confint.tidy_frame(result)
    ran = tidy[tidy["effect"] == "ran_pars"]
    assert table["2.5 %"].tolist() == ran["conf.low"].tolist()  # broom's school, school.1


def test_report_has_wald_always_and_the_computed_intervals(model, profile):
    sections = report.fit_sections(model.fit, intervals=[profile])
    section = next(s for s in sections if s.heading == "Confidence intervals")
    captions = [caption for caption, _, _ in section.tables]
    assert captions[0].startswith("95% Wald intervals")
    assert captions[1].startswith("95% profile likelihood intervals")
    html = report.build_report("t", [], sections)
    low = confint.tidy_frame(profile)["conf.low"][2]
    assert f"{low:.4f}" in html
    plain = report.fit_sections(model.fit)
    (only,) = [s for s in plain if s.heading == "Confidence intervals"]
    assert len(only.tables) == 1


def test_bootstrap_in_steps_equals_one_call(model):
    whole = bootstrap_intervals(model.fit, model.design, nsim=40, seed=7)
    run = BootstrapRun(model.fit, model.design, nsim=40, seed=7)
    for size in (3, 10, 1, 100):
        run.step(size)
    assert run.finished and run.done == 40
    stepped = run.intervals()
    assert [r.conf_low for r in stepped.rows] == [r.conf_low for r in whole.rows]
    assert [r.conf_high for r in stepped.rows] == [r.conf_high for r in whole.rows]
    assert not stepped.stopped and stepped.nsim == whole.nsim


def test_stopped_run_gives_intervals_of_what_was_done(model):
    run = BootstrapRun(model.fit, model.design, nsim=100, seed=1)
    run.step(30)
    result = run.intervals(0.9)
    assert result.stopped and result.nsim == 30 and result.level == 0.9
    assert np.isfinite([r.conf_low for r in result.rows]).all()
    empty = BootstrapRun(model.fit, model.design, nsim=10, seed=1).intervals()
    assert np.isnan([r.conf_low for r in empty.rows]).all()


def test_effect_chart_draws_a_line_and_band_per_moderator_value(model):
    data = pd.DataFrame(
        {
            "x": [0.0, 1.0, 0.0, 1.0],
            "group": ["F", "F", "M", "M"],
            "predicted": [1.0, 2.0, 1.5, 3.5],
            "conf.low": [0.5, 1.5, 1.0, 3.0],
            "conf.high": [1.5, 2.5, 2.0, 4.0],
        }
    )
    spec = effect_chart(data, "hours", "score", "sex", title="Effect").to_dict()
    band, line = spec["layer"]
    assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line"
    assert band["encoding"]["y2"]["field"] == "high"  # no dotted field names
    assert line["encoding"]["strokeDash"]["scale"]["domain"] == ["F", "M"]
    assert line["encoding"]["color"]["legend"]["title"] == "sex"
    assert line["encoding"]["y"]["field"] == "fit"
    alone = effect_chart(data[data["group"] == "F"].assign(group=""), "hours", "score").to_dict()
    assert alone["layer"][1]["mark"]["color"] == "#0072B2"
    values = next(iter(spec["datasets"].values()))
    assert [v["high"] for v in values] == [1.5, 2.5, 2.0, 4.0]
