"""lib.present.summary: result objects -> tables with lme4's labels and unrounded numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.explore.groups import group_summary
from lib.lmm import Anova, AnovaRow, LmmFit, OptimizerSummary, VarCorr, fit_lmm
from lib.lmm.fit import NO_CONDITIONING
from lib.lmm.result import R2, Icc, RanefFactor, TermVarCorr
from lib.model.design import RankDeficiencyWarning
from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec
from lib.ols.regressions import fit_ols, fit_per_group
from lib.present import summary
from lib.table.catalogue import BUNDLED, load_bundled

LEVELS = ("Hillcrest", "Oakwood", "St Mary’s")


def _fit(spec: ModelSpec, names, beta, covariance, ranef, condvar=None, **extra) -> LmmFit:
    """An LmmFit with the tutorial's printed numbers (no engine involved)."""
    term = spec.random[0]
    p, q, g = len(names), term.q, len(LEVELS)
    beta = np.asarray(beta, float)
    se = np.full(p, 0.5)
    corr = np.eye(p)
    if p == 2:
        corr[0, 1] = corr[1, 0] = -0.274
    defaults = dict(
        spec=spec,
        formula=spec.formula(),
        reml=spec.reml,
        criterion=984.8395,
        loglik=-492.41975,
        aic=992.8395,
        bic=1005.6773,
        npar=4,
        nobs=183,
        n_dropped=0,
        fixef_names=tuple(names),
        beta=beta,
        beta_se=se,
        beta_t=beta / se,
        beta_df=np.full(p, 2.0),
        beta_p=np.full(p, 0.01),
        vcov_beta=np.outer(se, se) * corr,
        fixef_corr=corr,
        theta=np.ones(q),
        sigma=np.sqrt(11.960),
        varcorr=VarCorr(
            terms=(
                TermVarCorr(
                    group=term.name,
                    names=term.names,
                    covariance=np.asarray(covariance, float),
                    correlated=term.is_correlated,
                ),
            ),
            residual_variance=11.960,
        ),
        ranef=(
            RanefFactor(
                group=term.name,
                levels=LEVELS,
                sizes=np.array([60, 69, 54]),
                names=term.names,
                modes=np.asarray(ranef, float),
                condvar=np.asarray(condvar, float)
                if condvar is not None
                else np.tile(np.eye(q) * 0.04, (g, 1, 1)),
            ),
        ),
        fitted=np.zeros(183),
        residuals=np.zeros(183),
        scaled_resid_quantiles=np.array([-2.59014, -0.65776, -0.01149, 0.58413, 2.55627]),
        singular=False,
        conditioning=NO_CONDITIONING,
        optimizer=OptimizerSummary("test", True, 1, "", np.ones(q), np.ones(q)),
        icc=Icc(adjusted=0.649, unadjusted=0.2),
        r2=R2(marginal=0.5, conditional=0.8),
        fit_seconds=0.0,
    )
    defaults.update(extra)
    return LmmFit(**defaults)


RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))
RI_FIT = _fit(
    RI,
    ["(Intercept)", "study_time"],
    [27.762001, 1.949412],
    [[22.124]],
    [[3.057872], [-5.390882], [2.333009]],
)


def test_varcorr_random_intercept_labels_and_values():
    table = summary.varcorr_table(RI_FIT)
    assert list(table.columns) == ["Groups", "Name", "Variance", "Std.Dev."]
    assert table["Groups"].tolist() == ["school", "Residual"]
    assert table["Name"].tolist() == ["(Intercept)", ""]
    np.testing.assert_allclose(table["Variance"], [22.124, 11.960])
    np.testing.assert_allclose(table["Std.Dev."], np.sqrt([22.124, 11.960]))


def test_varcorr_correlated_slope_has_lower_triangle_corr():
    spec = RI.with_term(slopes=("study_time",))
    cov = np.array([[92.4861, -0.87 * 9.6170 * 0.8442], [-0.87 * 9.6170 * 0.8442, 0.7127]])
    fit = _fit(spec, ["(Intercept)", "study_time"], [27.43, 2.0], cov, np.zeros((3, 2)))
    table = summary.varcorr_table(fit)
    assert list(table.columns) == ["Groups", "Name", "Variance", "Std.Dev.", "Corr"]
    assert table["Groups"].tolist() == ["school", "", "Residual"]
    assert table["Name"].tolist() == ["(Intercept)", "study_time", ""]
    assert np.isnan(table["Corr"][0]) and np.isnan(table["Corr"][2])
    assert table["Corr"][1] == pytest.approx(-0.87, abs=1e-3)


def test_varcorr_uncorrelated_names_groups_like_lme4():
    spec = RI.with_term(slopes=("study_time",), correlated=False)
    fit = _fit(spec, ["(Intercept)", "study_time"], [1, 2], np.diag([5.0, 0.5]), np.zeros((3, 2)))
    table = summary.varcorr_table(fit)
    assert table["Groups"].tolist() == ["school", "school.1", "Residual"]
    assert "Corr" not in table.columns


def test_fixef_table_columns_and_index():
    table = summary.fixef_table(RI_FIT)
    assert list(table.columns) == ["Estimate", "Std. Error", "df", "t value", "Pr(>|t|)"]
    assert table.index.tolist() == ["(Intercept)", "study_time"]
    assert table.loc["study_time", "Estimate"] == pytest.approx(1.949412)
    assert table.loc["study_time", "t value"] == pytest.approx(1.949412 / 0.5)


def test_fixef_corr_is_lower_triangle_without_diagonal():
    table = summary.fixef_corr_table(RI_FIT)
    assert table.index.tolist() == ["study_time"]
    assert table.columns.tolist() == ["(Intercept)"]
    assert table.iloc[0, 0] == pytest.approx(-0.274)
    null = _fit(
        ModelSpec.one_factor("test_score", "school"),
        ["(Intercept)"],
        [45.1],
        [[25.2]],
        np.zeros((3, 1)),
    )
    assert summary.fixef_corr_table(null).empty


def test_scaled_residuals_labels():
    table = summary.scaled_residuals(RI_FIT)
    assert table.columns.tolist() == ["Min", "1Q", "Median", "3Q", "Max"]
    assert table.iloc[0, 0] == pytest.approx(-2.59014)


def test_ranef_and_intervals():
    table = summary.ranef_table(RI_FIT)
    assert table.index.tolist() == list(LEVELS)
    assert table.index.name == "school"
    assert table.loc["Oakwood", "(Intercept)"] == pytest.approx(-5.390882)
    intervals = summary.ranef_intervals(RI_FIT)
    assert intervals.columns.tolist() == ["group", "term", "estimate", "se", "lower", "upper", "n"]
    row = intervals.iloc[1]
    assert row["group"] == "Oakwood" and row["n"] == 69
    assert row["se"] == pytest.approx(0.2)
    assert row["lower"] == pytest.approx(-5.390882 - 1.959964 * 0.2, rel=1e-6)
    assert row["upper"] == pytest.approx(-5.390882 + 1.959964 * 0.2, rel=1e-6)


def test_coef_adds_random_slope_without_fixed_slope():
    spec = ModelSpec.one_factor(
        "test_score", "school", random_intercept=False, random_slopes=("study_time",)
    )
    fit = _fit(spec, ["(Intercept)"], [27.55259], [[4.034]], [[2.185660], [1.417459], [2.298307]])
    coef = summary.coef_table(fit)
    assert coef.columns.tolist() == ["(Intercept)", "study_time"]
    np.testing.assert_allclose(coef["(Intercept)"], 27.55259)
    np.testing.assert_allclose(coef["study_time"], [2.185660, 1.417459, 2.298307])


def test_coef_sums_fixed_and_random():
    coef = summary.coef_table(RI_FIT)
    np.testing.assert_allclose(
        coef["(Intercept)"], 27.762001 + np.array([3.057872, -5.390882, 2.333009])
    )
    np.testing.assert_allclose(coef["study_time"], 1.949412)


def test_icc_r2_and_missing_values():
    table = summary.icc_r2_table(RI_FIT)
    assert table.loc["Adjusted ICC", "Value"] == pytest.approx(0.649)
    assert table.loc["Conditional R2", "Value"] == pytest.approx(0.8)
    empty = summary.icc_r2_table(
        _fit(
            RI, ["(Intercept)", "study_time"], [1, 2], [[0.0]], np.zeros((3, 1)), icc=None, r2=None
        )
    )
    assert empty["Value"].isna().all()


def test_null_model_means_table():
    null = ModelSpec.one_factor("test_score", "school")
    fit = _fit(null, ["(Intercept)"], [45.11202], [[25.22]], [[3.626461], [-5.638583], [2.012122]])
    table = summary.null_model_means(fit, [48.84623, 39.32777, 47.19057])
    assert table.columns.tolist() == [
        "Mean",
        "fixed_intercept",
        "random_intercept",
        "null_model_estimate",
    ]
    np.testing.assert_allclose(
        table["null_model_estimate"], [48.73848, 39.47344, 47.12414], atol=1e-5
    )
    with pytest.raises(ValueError):
        summary.null_model_means(RI_FIT, [1, 2, 3])


def test_fit_criteria_and_comparison():
    criteria = summary.fit_criteria(RI_FIT)
    assert criteria["REML criterion"][0] == pytest.approx(984.8395)
    table = summary.comparison_table({"Random intercept": RI_FIT})
    assert table.columns.tolist() == [
        "formula",
        "REML criterion",
        "AIC",
        "BIC",
        "logLik",
        "npar",
        "singular",
    ]
    assert table.loc["Random intercept", "formula"] == "test_score ~ 1 + study_time + (1 | school)"


def test_anova_table_labels_rows():
    rows = (
        AnovaRow("y ~ 1 + (1 | g)", 3, 10.0, 12.0, -2.0, 4.0, np.nan, np.nan, np.nan),
        AnovaRow("y ~ 1 + x + (1 | g)", 4, 8.0, 11.0, -0.5, 1.0, 3.0, 1.0, 0.083),
    )
    result = Anova(rows=rows, refitted_ml=True, fits=())
    table = summary.anova_table(result, {"y ~ 1 + (1 | g)": "Null model"})
    assert table.index.tolist() == ["Null model", "y ~ 1 + x + (1 | g)"]
    assert table.columns.tolist() == [
        "formula",
        "npar",
        "AIC",
        "BIC",
        "logLik",
        "deviance",
        "Chisq",
        "Df",
        "Pr(>Chisq)",
    ]
    assert np.isnan(table["Chisq"].iloc[0])
    assert table["Pr(>Chisq)"].iloc[1] == pytest.approx(0.083)


# ------------------------------------------------------------ OLS and groups


def _toy() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat(["a", "b", "c"], 10)
    x = np.tile(np.arange(10.0), 3)
    y = 1 + 2 * x + np.repeat([0.0, 3.0, -2.0], 10) + rng.normal(size=30)
    return pd.DataFrame({"g": g, "x": x, "y": y})


def test_ols_tables_have_r_labels():
    fit = fit_ols(_toy(), "y", ["x"])
    coef = summary.ols_coef_table(fit)
    assert coef.columns.tolist() == ["Estimate", "Std. Error", "t value", "Pr(>|t|)"]
    assert coef.index.tolist() == ["(Intercept)", "x"]
    stats = summary.ols_statistics(fit)
    assert stats["Multiple R-squared"][0] == pytest.approx(fit.r2)
    assert stats["df"][0] == 28
    long = summary.ols_statistics_long(fit)
    assert long.index.tolist() == stats.columns.tolist()
    # Counts stay integers next to the real-valued statistics (printed "28", not "28.0000").
    for label in ("df", "F df1", "F df2", "Number of obs", "Rows dropped"):
        assert type(long.loc[label, "Value"]) is int, label
    assert long.loc["Number of obs", "Value"] == 30
    assert isinstance(long.loc["Multiple R-squared", "Value"], float)
    assert summary.ols_residuals(fit).columns.tolist() == ["Min", "1Q", "Median", "3Q", "Max"]


def test_per_group_tables():
    per_group = fit_per_group(_toy(), "y", ["x"], "g")
    wide = summary.per_group_coefficients(per_group)
    assert wide.columns.tolist() == ["a", "b", "c"]
    assert wide.index.tolist() == ["(Intercept)", "x"]
    long = summary.per_group_long(per_group)
    assert len(long) == 6 and set(long["group"]) == {"a", "b", "c"}


def test_group_summary_table():
    table = summary.group_summary_table(group_summary(_toy(), "y", "g"))
    assert table.columns.tolist() == ["n", "Mean", "SD"]
    assert table["n"].tolist() == [10, 10, 10]


# ------------------------------------------------------------ with the engine


@pytest.mark.skipif(not BUNDLED["schools"].path.is_file(), reason="data/schools.csv missing")
def test_tutorial_random_intercept_tables():
    # The tutorial's summary(lmer(test_score ~ 1 + study_time + (1 | school))) at the
    # precision it prints (lme4 prints about 4 significant digits).
    fit = fit_lmm(load_bundled("schools"), RI)
    assert f"{fit.criterion:.1f}" == "984.8"
    varcorr = summary.varcorr_table(fit)
    assert [f"{v:.4g}" for v in varcorr["Variance"]] == ["22.12", "11.96"]
    assert [f"{v:.4g}" for v in varcorr["Std.Dev."]] == ["4.704", "3.458"]
    fixef = summary.fixef_table(fit)
    np.testing.assert_allclose(fixef["Estimate"], [27.762001, 1.949412], atol=5e-3)
    np.testing.assert_allclose(fixef["Std. Error"], [2.8365148, 0.0873593], atol=5e-3)
    assert f"{summary.fixef_corr_table(fit).iloc[0, 0]:.3f}" == "-0.274"
    np.testing.assert_allclose(
        summary.ranef_table(fit)["(Intercept)"], [3.057872, -5.390882, 2.333009], atol=5e-3
    )
    residuals = summary.scaled_residuals(fit).iloc[0]
    # Min, median and max as printed; the quartiles depend on the reconstructed data.
    np.testing.assert_allclose(
        residuals[["Min", "Median", "Max"]], [-2.59014, -0.01149, 2.55627], atol=5e-3
    )


def test_dietox_random_intercept_matches_statsmodels_reference():
    # lmer(Weight ~ Time + (1 | Pig), data = dietox), quoted in statsmodels' test_lme.py
    fit = fit_lmm(load_bundled("dietox"), ModelSpec.one_factor("Weight", "Pig", fixed=("Time",)))
    fixef = summary.fixef_table(fit)
    np.testing.assert_allclose(fixef["Estimate"], [15.723523, 6.942505], rtol=1e-5)
    np.testing.assert_allclose(fixef["Std. Error"], [0.78805374, 0.03338727], rtol=1e-5)
    assert summary.varcorr_table(fit)["Variance"].iloc[-1] == pytest.approx(11.36692, rel=1e-5)


# ------------------------------------------------------ rank-deficient fixed effects

FORMULA_REFERENCE = Path(__file__).parent / "reference" / "formula_reference.json"


@pytest.mark.parametrize("case_id", ["exam_rank_deficient", "exam_empty_cells"])
def test_dropped_columns_and_message_are_lme4s(case_id):
    """lme4 drops typeSngl (every single-sex school is of one type) and, with the
    interaction, the empty cells: the names are those model.matrix has and the fit lacks."""
    cases = json.loads(FORMULA_REFERENCE.read_text(encoding="utf-8"))["cases"]
    case = next(c for c in cases if c["id"] == case_id)
    exam = pd.read_csv(
        Path(__file__).parent / "reference" / "data" / case["data"],
        dtype={"school": str, "student": str},
    )
    with pytest.warns(RankDeficiencyWarning):
        fit = fit_lmm(exam, parse_formula(case["formula"]))
    dropped = summary.dropped_fixef(fit, exam)
    assert dropped == tuple(n for n in case["model_matrix_names"] if n not in case["fixef_names"])
    note = summary.rank_note(dropped)
    assert note.startswith(case["messages"][0] + " (typeSngl")
    assert list(summary.fixef_table(fit).index) == case["fixef_names"]


def test_no_note_when_nothing_is_dropped():
    fit = fit_lmm(load_bundled("schools"), ModelSpec.one_factor("test_score", "school"))
    assert summary.dropped_fixef(fit, load_bundled("schools")) == ()
    assert summary.rank_note(()) is None
