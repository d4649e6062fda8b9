"""lib.classroom.pooling: partial pooling equals lme4's coef(), no pooling equals the OLS
strategies, and the shrinkage weights equal their formula."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lmm_reference import fitted_case, frame

from lib.classroom.pooling import ellipse, intercept_weight, pooling, pooling_table
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.ols.regressions import fit_ols, fit_per_group
from lib.table.catalogue import load_bundled

CASES = [
    "schools_null_reml",
    "schools_ri_reml",
    "schools_rs_reml",
    "schools_full_reml",
    "sleep_full_reml",
    "sleep_uncorr_reml",
    "sleep_rs_only_reml",
    "dyestuff_reml",
    "unbal_full_reml",
    "three_seed1_full_reml",
    "cat_ri_reml",
    "unicode_full_reml",
]


def _r_coef(case: dict) -> pd.DataFrame:
    """R's coef(model)[[group]] rebuilt from the reference fixef and ranef."""
    res = case["result"]
    ranef = pd.DataFrame(res["ranef"]).T
    names = list(res["fixef"]) + [c for c in ranef.columns if c not in res["fixef"]]
    out = pd.DataFrame(0.0, index=ranef.index, columns=names)
    for name, value in res["fixef"].items():
        out[name] += value
    for name in ranef.columns:
        out[name] += ranef[name].astype(float)
    return out


@pytest.mark.parametrize("name", CASES)
def test_partial_pooling_equals_lme4_coef(name):
    case, fit = fitted_case(name)
    result = pooling(frame(case["data"]), fit)
    expected = _r_coef(case)
    assert list(result.levels) == list(expected.index)
    assert list(result.names) == list(expected.columns)
    # lme4's conditional modes carry its optimizer's 1e-5-relative tolerance
    # (the REML criterion is that flat near its optimum).
    scale = np.abs(expected.to_numpy()).max()
    np.testing.assert_allclose(result.partial, expected.to_numpy(), rtol=0, atol=2e-4 * scale)


def test_no_pooling_is_per_group_ols_for_intercept_and_slope():
    df = load_bundled("schools")
    spec = ModelSpec.one_factor(
        "test_score", "school", ("study_time",), random_slopes=("study_time",)
    )
    result = pooling(df, fit_lmm(df, spec))
    per_group = fit_per_group(df, "test_score", ["study_time"], "school")
    np.testing.assert_allclose(result.no_pooling, per_group.coef_matrix(), rtol=1e-10)
    # The tutorial's separate regressions.
    hill = result.no_pooling[result.levels.index("Hillcrest")]
    assert hill == pytest.approx([38.579145, 1.112006], abs=5e-6)
    simple = fit_ols(df, "test_score", ["study_time"])
    np.testing.assert_allclose(result.complete, simple.coef, rtol=1e-10)


def test_no_pooling_is_dummy_model_for_random_intercept():
    df = load_bundled("schools")
    spec = ModelSpec.one_factor("test_score", "school", ("study_time",))
    result = pooling(df, fit_lmm(df, spec))
    dummy = fit_ols(df, "test_score", ["study_time", "school"])
    intercepts = dummy.coef[0] + np.concatenate([[0.0], dummy.coef[2:]])
    np.testing.assert_allclose(result.no_pooling[:, 0], intercepts, rtol=1e-10)
    np.testing.assert_allclose(result.no_pooling[:, 1], dummy.coef[1], rtol=1e-10)
    # The tutorial: 30.853 + 1.949 study_time for Hillcrest, 22.334 for Oakwood.
    assert result.no_pooling[0] == pytest.approx([30.8526985, 1.9488407], abs=1e-6)
    assert result.no_pooling[1, 0] == pytest.approx(22.334, abs=5e-4)


def test_no_pooling_of_null_model_is_group_means():
    df = load_bundled("schools")
    result = pooling(df, fit_lmm(df, ModelSpec.one_factor("test_score", "school")))
    means = df.groupby("school")["test_score"].mean()
    np.testing.assert_allclose(result.no_pooling[:, 0], means.loc[list(result.levels)], rtol=1e-12)
    assert result.complete[0] == pytest.approx(df["test_score"].mean(), rel=1e-12)


@pytest.mark.parametrize(
    "name",
    ["schools_null_reml", "schools_ri_reml", "unbal_ri_reml", "dyestuff_reml", "cat_ri_reml"],
)
def test_random_intercept_weight_is_the_formula(name):
    case, fit = fitted_case(name)
    result = pooling(frame(case["data"]), fit)
    tau2 = fit.varcorr.terms[0].variances[0]
    sigma2 = fit.varcorr.residual_variance
    n = result.sizes
    np.testing.assert_allclose(result.weights[:, 0], tau2 / (tau2 + sigma2 / n), rtol=1e-12)
    np.testing.assert_allclose(result.weights[:, 0], intercept_weight(tau2, sigma2, n), rtol=1e-12)
    # And with R's own variance components:
    vc = case["result"]["varcorr"]
    r_tau2, r_sigma2 = vc["variances"]["(Intercept)"], vc["residual_variance"]
    np.testing.assert_allclose(result.weights[:, 0], r_tau2 / (r_tau2 + r_sigma2 / n), rtol=2e-4)


@pytest.mark.parametrize("name", ["schools_null_reml", "schools_ri_reml", "unbal_ri_reml"])
def test_weight_times_own_deviation_is_the_conditional_mode(name):
    """b_j = w_j * mean(y_j - X_j beta): the random intercept IS the shrunken deviation."""
    case, fit = fitted_case(name)
    df = frame(case["data"]).dropna()
    result = pooling(df, fit)
    spec = fit.spec
    xb = np.full(len(df), fit.beta[0])
    for k, name_k in enumerate(fit.fixef_names[1:], start=1):
        xb += fit.beta[k] * df[name_k].to_numpy(float)
    g = spec.random[0].group[0]
    resid = df[spec.outcome].to_numpy(float) - xb
    own = pd.Series(resid).groupby(df[g].astype(str).to_numpy()).mean()
    own = own.loc[list(result.levels)].to_numpy()
    np.testing.assert_allclose(result.weights[:, 0] * own, fit.ranef[0].modes[:, 0], atol=1e-8)


def test_small_groups_move_more():
    """Unbalanced data: the 2-row group has the smallest weight and the table puts it first."""
    case, fit = fitted_case("unbal_ri_reml")
    result = pooling(frame(case["data"]), fit)
    table = pooling_table(result)
    assert table["n"].iloc[0] == result.sizes.min() == 2
    assert set(table["effect"]) == {"(Intercept)"}
    w = table["weight"].to_numpy()
    assert np.all(np.diff(w) >= -1e-12)  # sorted by n, so the weights rise
    shift = (table["partial pooling"] - table["no pooling"]).to_numpy()
    np.testing.assert_allclose(table["shift"], shift)
    moved = np.abs(shift)
    assert moved[0] == moved.max()  # the 2-row group moves most


def test_ellipse_is_on_the_contour():
    cov = np.array([[4.0, 1.2], [1.2, 1.0]])
    pts = ellipse(np.array([1.0, 2.0]), cov, 0.95)
    d = pts - [1.0, 2.0]
    mahal = np.einsum("ni,ij,nj->n", d, np.linalg.inv(cov), d)
    np.testing.assert_allclose(mahal, 5.991464547107979, rtol=1e-9)  # qchisq(0.95, 2)
    with pytest.raises(ValueError, match="level"):
        ellipse(np.zeros(2), cov, 1.5)


def test_several_terms_are_refused_with_a_message():
    case, fit = fitted_case("schools_ri_reml")
    from dataclasses import replace

    from lib.errors import SpecError
    from lib.model.spec import RandomTerm

    two = replace(
        fit,
        spec=fit.spec.with_changes(
            random=(
                fit.spec.random[0],
                RandomTerm(("school",), intercept=False, slopes=("study_time",)),
            )
        ),
    )
    with pytest.raises(SpecError, match="one random term"):
        pooling(frame(case["data"]), two)


def test_chart_builders_produce_valid_vega_lite():
    from lib.charts import pooling as pc

    for name in ("schools_null_reml", "schools_full_reml", "unbal_ri_reml"):
        case, fit = fitted_case(name)
        result = pooling(frame(case["data"]), fit)
        x = "study_time" if "schools" in name else "x"
        lines = pc.strategy_lines(result, x, (0.0, 10.0), list(result.levels))
        points = pd.DataFrame({"group": [result.levels[0]], "x": [1.0], "y": [2.0]})
        pc.pooling_lines_chart(points, lines, x, "y").to_dict(validate=True)
        for effect in result.random:
            pc.shrinkage_rows_chart(result, effect).to_dict(validate=True)
        if len(result.random) == 2:
            pc.shrinkage_plane_chart(result, result.random[1]).to_dict(validate=True)


def test_pick_for_pooling_keeps_smallest_and_largest():
    from lib.charts.pooling import pick_for_pooling

    levels = [f"g{i}" for i in range(10)]
    sizes = [5, 1, 9, 3, 7, 2, 8, 4, 6, 10]
    assert pick_for_pooling(levels, sizes, 4) == ["g1", "g2", "g5", "g9"]
    assert pick_for_pooling(levels[:3], sizes[:3], 4) == levels[:3]
