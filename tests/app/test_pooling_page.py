"""Pooling page: the table shows lib.classroom.pooling's numbers; charts follow the model."""

from __future__ import annotations

import numpy as np
from conftest import whole_table

from lib.charts import pooling as pooling_charts
from lib.classroom.pooling import pooling
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

PAGE = "pages/5_Pooling.py"
RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))


def _expected(spec: ModelSpec):
    df = load_bundled("schools")
    return pooling(df, fit_lmm(df, spec))


def test_random_intercept_table_matches_lib(open_page):
    at = open_page(PAGE)
    assert not at.exception
    result = _expected(RI)
    table = whole_table(at, "weight").reset_index()
    order = np.argsort(result.sizes, kind="stable")
    assert table["school"].tolist() == [result.levels[k] for k in order]
    assert table["n"].tolist() == [str(int(result.sizes[k])) for k in order]
    assert table["no pooling"].tolist() == [f"{result.no_pooling[k, 0]:,.4f}" for k in order]
    assert table["partial pooling"].tolist() == [f"{result.partial[k, 0]:,.4f}" for k in order]
    assert table["weight"].tolist() == [f"{result.weights[k, 0]:.3f}" for k in order]
    # The tutorial's dummy-model intercept for Hillcrest is the no-pooling estimate.
    assert "30.8527" in table["no pooling"].tolist()
    tau2, sigma2 = result.covariance[0, 0], result.sigma2
    formula = next(m.value for m in at.markdown if m.value.startswith("Weight = "))
    assert f"τ² = {tau2:.3f}" in formula and f"σ² = {sigma2:.3f}" in formula
    # The tutorial's schools keep 99% of their own intercepts: the page says the pull is
    # negligible instead of describing lines that lie on top of each other.
    text = " ".join(m.value for m in at.markdown)
    assert "Shrinkage is negligible here: every school keeps at least 99.0%" in text
    assert "lies between" not in text and "shrinkage weight is the share" not in text


def test_visible_shrinkage_is_described_with_the_weights(open_page):
    at = open_page(PAGE, {"data": "pupils", "group": "class_id", "group2": ""})
    assert not at.exception
    data = load_bundled("pupils")
    result = pooling(data, fit_lmm(data, ModelSpec.one_factor("score", "class_id", ("hours",))))
    assert 1 - result.weights.min() > 0.05
    text = " ".join(m.value for m in at.markdown)
    assert "negligible" not in text
    assert "The blue line (partial pooling) lies between" in text
    k = int(np.argmin(result.weights[:, 0]))
    assert f"keeps {100 * result.weights[k, 0]:.1f}%" in text


def test_intercept_and_slope_model_shows_both_effects(open_page):
    at = open_page(PAGE)
    at.sidebar.toggle(key="random_slope").set_value(True).run()
    assert not at.exception
    result = _expected(RI.with_term(slopes=("study_time",)))
    frames = [f.value for f in at.dataframe if "no pooling" in f.value.columns]
    assert len(frames) == 2  # one table per effect, intercepts first
    table = frames[1]
    assert "Slopes of study\\_time" in [m.value.strip("*") for m in at.markdown]
    hill = table[table["school"] == "Hillcrest"]
    j = result.column("study_time")
    g = result.levels.index("Hillcrest")
    assert hill["no pooling"].item() == f"{result.no_pooling[g, j]:,.4f}" == "1.1120"
    assert hill["partial pooling"].item() == f"{result.partial[g, j]:,.4f}"


def test_chart_specs_follow_the_model():
    result = _expected(RI.with_term(slopes=("study_time",)))
    lines = pooling_charts.strategy_lines(result, "study_time", (0.0, 10.0), list(result.levels))
    hill = lines[(lines["group"] == "Hillcrest") & (lines["strategy"] == pooling_charts.NONE)]
    a, b = result.no_pooling[result.levels.index("Hillcrest")]
    np.testing.assert_allclose(hill["y"], [a, a + 10 * b])
    spec = pooling_charts.shrinkage_plane_chart(result, "study_time").to_dict()
    datasets = list(spec["datasets"].values())
    arrows = next(d for d in datasets if d and "partialy" in d[0])
    assert [round(a["partial"], 6) for a in arrows] == [round(v, 6) for v in result.partial[:, 0]]
    assert "#F0E442" not in str(spec)  # no yellow lines on a projector
