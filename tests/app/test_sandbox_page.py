"""Sandbox page: settings from the URL, numbers shown equal lib.classroom.simulate's."""

from __future__ import annotations

from conftest import frame_with, labelled

from lib.classroom.simulate import SimSettings, simulate, summarise

PAGE = "pages/7_Sandbox.py"


def test_url_settings_and_numbers_match_lib(open_page):
    at = open_page(PAGE, query={"sim_icc": "0.5", "sim_seed": "3", "sim_groups": "8"})
    assert not at.exception
    assert at.slider(key="sim_icc").value == 0.5
    settings = SimSettings(n_groups=8, group_size=20, icc=0.5, slope_sd=0.0, n_sims=200, seed=3)
    ols, lmm = summarise(simulate(settings))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["OLS coverage"] == f"{100 * ols.coverage:.1f}%"
    assert metrics["Mixed coverage"] == f"{100 * lmm.coverage:.1f}%"
    assert ols.coverage < lmm.coverage
    table = labelled(frame_with(at, "Mixed model"))
    assert table.loc["reported SE (mean)", "OLS"] == f"{ols.mean_reported_se:.4f}"
    assert table.loc["true SE (SD of estimates)", "Mixed model"] == f"{lmm.empirical_sd:.4f}"
    assert table.loc["95% CI coverage", "OLS"] == f"{ols.coverage:.4f}"


def test_bad_link_values_are_named_and_ignored(open_page):
    at = open_page(PAGE, query={"sim_icc": "7", "sim_seed": "abc"})
    assert not at.exception
    info = " ".join(i.value for i in at.info)
    assert "sim_icc='7' is outside 0.0–0.9" in info
    assert "sim_seed='abc' is not a number" in info
    assert at.slider(key="sim_icc").value == 0.3  # the default


def test_moving_a_slider_reruns_and_goes_into_the_url(open_page):
    at = open_page(PAGE)
    at.slider(key="sim_seed").set_value(5).run()
    assert not at.exception
    assert at.query_params["sim_seed"] in ("5", ["5"])
