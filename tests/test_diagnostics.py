"""lib.lmm.diagnostics, its readings and chart specs."""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest
from scipy import stats

from lib.charts import diagnostics as dc
from lib.charts.style import MAX_MARKS
from lib.lmm import fit_lmm
from lib.lmm.diagnostics import (
    NORMAL_BEYOND_2,
    diagnose,
    group_spreads,
    ppoints,
    qq,
    residual_check,
    row_groups,
    shapiro_francia,
)
from lib.model.spec import ModelSpec
from lib.present.diagnostics_text import group_spread_reading, qq_reading, residuals_vs_fitted
from lib.present.numbers import p_text
from lib.table.catalogue import load_bundled

RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11, 50, 1000])
def test_ppoints_is_rs_formula(n):
    a = 3 / 8 if n <= 10 else 1 / 2
    want = [(i - a) / (n + 1 - 2 * a) for i in range(1, n + 1)]
    np.testing.assert_allclose(ppoints(n), want, rtol=0, atol=1e-15)


def test_ppoints_known_values():
    # R: ppoints(5) = 0.1190476 0.3095238 0.5000000 0.6904762 0.8809524
    np.testing.assert_allclose(
        ppoints(5), [0.1190476, 0.3095238, 0.5, 0.6904762, 0.8809524], atol=5e-8
    )
    # R: ppoints(12)[1:2] = 0.04166667 0.12500000
    np.testing.assert_allclose(ppoints(12)[:2], [0.04166667, 0.125], atol=5e-9)


def test_qq_points_line_and_order():
    x = np.array([3.0, -1.0, 0.5, 10.0, 2.0, -4.0, 1.0, 0.0, 7.0, -2.0, 5.0, np.nan])
    q = qq(x)
    assert q.n == 11
    np.testing.assert_allclose(q.sample, np.sort(x[:-1]))
    np.testing.assert_allclose(q.theoretical, stats.norm.ppf(ppoints(11)))
    assert list(x[q.order]) == list(q.sample)
    # qqline: through the type-7 quartiles at qnorm(0.25), qnorm(0.75)
    q1, q3 = np.quantile(x[:-1], [0.25, 0.75])
    z1, z3 = stats.norm.ppf([0.25, 0.75])
    assert q.line_intercept + q.line_slope * z1 == pytest.approx(q1)
    assert q.line_intercept + q.line_slope * z3 == pytest.approx(q3)


def test_shapiro_francia_statistic_and_p():
    rng = np.random.default_rng(1)
    normal = rng.normal(size=200)
    w, p = shapiro_francia(normal)
    y = stats.norm.ppf(ppoints(200, 3 / 8))
    assert w == pytest.approx(np.corrcoef(np.sort(normal), y)[0, 1] ** 2)
    assert 0.05 < p <= 1
    w_exp, p_exp = shapiro_francia(rng.exponential(size=200))
    assert w_exp < w and p_exp < 1e-6
    # Shapiro-Wilk and Shapiro-Francia agree in verdict on clear cases
    assert stats.shapiro(rng.exponential(size=200)).pvalue < 1e-6
    assert np.isnan(shapiro_francia(rng.normal(size=6000))[1])  # beyond sf.test's range
    assert np.isnan(shapiro_francia([1.0, 1.0, 1.0, 1.0, 1.0])[0])


def test_shapiro_francia_p_is_uniform_under_normality():
    rng = np.random.default_rng(7)
    ps = np.array([shapiro_francia(rng.normal(size=60))[1] for _ in range(400)])
    assert 0.03 < np.mean(ps < 0.05) < 0.08  # Royston's approximation holds its size


def test_residual_check():
    fitted = np.arange(100.0)
    scaled = np.r_[np.full(50, 0.5) * np.tile([1, -1], 25), np.full(50, 1.0) * np.tile([1, -1], 25)]
    scaled[0] = 3.0
    check = residual_check(fitted, scaled)
    assert check.beyond_2 == pytest.approx(0.01)
    assert check.spread_ratio == pytest.approx(
        np.std(scaled[50:], ddof=1) / np.std(scaled[:50], ddof=1)
    )


def test_diagnose_schools_fit():
    data = load_bundled("schools")
    fit = fit_lmm(data, RIS)
    d = diagnose(fit)
    np.testing.assert_allclose(d.scaled, fit.residuals / fit.sigma)
    # summary()'s scaled residual quantiles are the QQ sample's type-7 quantiles
    np.testing.assert_allclose(
        np.quantile(d.residual_qq.sample, [0, 0.25, 0.5, 0.75, 1]), fit.scaled_resid_quantiles
    )
    assert [(r.group, r.effect) for r in d.ranef] == [
        ("school", "(Intercept)"),
        ("school", "study_time"),
    ]
    np.testing.assert_allclose(d.ranef[0].qq.sample, np.sort(fit.ranef[0].modes[:, 0]))
    labels = row_groups(data, RIS, ["school"])
    assert len(labels) == fit.nobs
    spreads = group_spreads(d.scaled, labels)
    assert spreads["n"].tolist() == [69, 60, 54]


def test_readings_say_what_is_computed():
    check = residual_check(np.arange(200.0), np.random.default_rng(2).normal(size=200))
    text = residuals_vs_fitted(check)
    assert f"{100 * check.beyond_2:.1f}% of the 200 scaled residuals lie beyond ±2" in text
    assert f"(about {100 * NORMAL_BEYOND_2:.1f}% if the errors are normal)" in text
    assert "(about 4.6% if" in text
    assert f"{check.spread_ratio:.2f} times" in text
    few = qq(np.array([1.0, -2.0, 0.5]))
    assert qq_reading(few, "random intercepts").startswith("Only 3 random intercepts")
    normal = qq(np.random.default_rng(3).normal(size=300))
    assert qq_reading(normal, "scaled residuals").startswith(
        f"The points follow the line (Shapiro-Francia W′ = {normal.w:.3f}, {p_text(normal.p)})"
    )
    skewed = qq(np.random.default_rng(3).exponential(size=300))
    assert "longer right tail" in qq_reading(skewed, "scaled residuals")
    import pandas as pd

    spreads = pd.DataFrame({"n": [3, 3], "mean": [0, 0], "sd": [0.5, 1.5]}, index=["A", "B"])
    assert group_spread_reading(spreads) == (
        "The SD of the scaled residuals runs from 0.50 (A) to 1.50 (B) across the 2 groups "
        "shown: the spread differs between groups."
    )


def _marks(spec: dict) -> int:
    return sum(len(v) for v in spec.get("datasets", {}).values())


def test_charts_never_exceed_max_marks_and_say_so():
    n = 20_000
    rng = np.random.default_rng(0)
    fitted, scaled = rng.normal(size=n), rng.normal(size=n)
    spec = dc.residuals_fitted_chart(fitted, scaled, title="Residuals").to_dict()
    assert _marks(spec) <= MAX_MARKS
    note = spec["title"]["subtitle"]  # wrapped into lines when long (lib.charts.style.chart_title)
    assert "random sample of 4,997 of 20,000 rows (fixed seed)" in " ".join(np.atleast_1d(note))
    again = dc.residuals_fitted_chart(fitted, scaled, title="Residuals").to_dict()
    assert again == spec  # deterministic
    q = qq(scaled)
    spec = dc.qq_chart(q, title="QQ", y_title="scaled residual").to_dict()
    assert _marks(spec) <= MAX_MARKS
    points = next(v for v in spec["datasets"].values() if len(v) > 2)
    assert points[0]["sample"] == q.sample[0] and points[-1]["sample"] == q.sample[-1]
    labels = np.array([f"g{i % 20}" for i in range(n)], dtype=object)
    spec = dc.residuals_by_group_chart(
        fitted, scaled, labels, [f"g{i}" for i in range(12)], group_title="g", title="By group"
    ).to_dict()
    assert _marks(spec) <= MAX_MARKS


def test_chart_specs_are_valid_vega_lite():
    rng = np.random.default_rng(0)
    fitted, scaled = rng.normal(size=50), rng.normal(size=50)
    labels = np.array(["a", "b"] * 25, dtype=object)
    for chart in (
        dc.residuals_fitted_chart(fitted, scaled, title="t"),
        dc.qq_chart(qq(scaled), title="t", y_title="y", labels=[str(i) for i in range(50)]),
        dc.residuals_by_group_chart(fitted, scaled, labels, ["a", "b"], group_title="g", title="t"),
    ):
        assert isinstance(chart, alt.TopLevelMixin)
        chart.to_dict(validate=True)


def test_shapiro_francia_does_not_depend_on_scale():
    """W' is scale-free; values near 1e-155 (a fit on the boundary) must not overflow."""
    x = np.random.default_rng(0).normal(size=50)
    w, p = shapiro_francia(x)
    for scale in (1e-155, 1e155, -3.0):
        np.testing.assert_allclose(shapiro_francia(x * scale + 7.0 * scale), (w, p), rtol=1e-12)
