"""Compare page: OLS strategies and the four mixed models, compared by one rule."""

from __future__ import annotations

from conftest import frame_with, labelled

from lib.classroom.comparison import compare_specs
from lib.ols.regressions import fit_ols
from lib.table.catalogue import load_bundled
from ui.views.compare import MIXED_MODELS, mixed_specs

PAGE = "pages/4_Compare.py"


def test_default_compare(open_page):
    at = open_page(PAGE)
    assert not at.exception
    schools = load_bundled("schools")
    simple = fit_ols(schools, "test_score", ["study_time"])
    coef = labelled(frame_with(at, "Pr(>|t|)"))
    assert coef.loc["study_time", "Estimate"] == f"{simple.coef[1]:,.4f}" == "2.0192"
    assert coef.loc["(Intercept)", "Estimate"] == "26.7993"  # the tutorial's lm()
    dummy = labelled(frame_with(at, "schoolOakwood"))
    assert dummy.loc["Oakwood", "schoolOakwood"] == "1"
    diffs = frame_with(at, "Coefficient")
    assert diffs["Comparison"].tolist() == ["Oakwood - Hillcrest", "St Mary’s - Hillcrest"]
    assert diffs["Difference"].tolist() == ["-9.518", "-1.656"]  # the tutorial's table
    assert diffs["Coefficient"].tolist() == ["-8.519", "-0.729"]
    separate = labelled(frame_with(at, "Hillcrest"))
    assert separate.loc["study_time", "Hillcrest"] == "1.1120"
    comparison = labelled(frame_with(at, "AIC (ML)"))
    names = ["Null model", "Random intercept", "Random slope", "Intercept + slope"]
    assert comparison.index.tolist() == [f"{k} {n}" for k, n in enumerate(names, 1)]


def test_comparison_tables_match_lib(open_page):
    at = open_page(PAGE)
    specs = mixed_specs("test_score", "study_time", "school", True)
    result = compare_specs(load_bundled("schools"), specs)
    criteria = labelled(frame_with(at, "AIC (ML)"))
    for k, name in enumerate(MIXED_MODELS):
        model = result.model(name)
        assert criteria.iloc[k]["AIC (ML)"] == f"{model.aic:,.1f}"
        assert criteria.iloc[k]["BIC (ML)"] == f"{model.bic:,.1f}"
        assert criteria.iloc[k]["npar"] == str(model.npar)
    tests = labelled(frame_with(at, "Pr(>Chisq)"))
    # R's anova() order: null, slope, intercept, both; each valid test with its numbers, the
    # two pairs R would test that are no tests (equal npar, not nested) marked as such.
    assert tests.index.tolist() == ["3 vs 1", "2 vs 1", "2 vs 3", "4 vs 2"]
    assert tests.loc["3 vs 1", "Pr(>Chisq)"] == "same npar"
    assert tests.loc["2 vs 3", "Pr(>Chisq)"] == "not nested"
    assert tests.loc["3 vs 1", "Chisq"] == tests.loc["2 vs 3", "Chisq"] == ""
    full = result.model(MIXED_MODELS[3])
    assert tests.loc["4 vs 2", "Chisq"] == f"{full.chisq:.2f}" == "64.80"
    assert tests.loc["4 vs 2", "Pr(>Chisq)"] == "8.49e-15"
    assert tests.loc["4 vs 2", "Pr (boundary)"] == "4.66e-15"
    assert any("# 1 Null model\ntest_score ~ 1 + (1 | school)" in c.value for c in at.code)


def test_many_groups_compare(open_page):
    at = open_page(PAGE, {"data": "dietox"})
    assert not at.exception
    assert len(frame_with(at, "AIC (ML)")) == 4


def test_fit_statistics_print_counts_as_integers(open_page):
    at = open_page(PAGE)
    fit_tables = [
        labelled(d.value)
        for d in at.dataframe
        if "Residual standard error" in d.value.iloc[:, 0].tolist()
    ]
    assert fit_tables, "no Fit table"
    stats = fit_tables[0]["Value"]
    assert stats["df"] == "181"
    assert stats["Number of obs"] == "183"
    assert stats["Rows dropped"] == "0"
    assert stats["F df1"] == "1"


def test_comparison_shows_the_test_columns_and_leaves_loglik_to_the_csv(open_page):
    at = open_page(PAGE)
    assert frame_with(at, "AIC (ML)").columns.tolist() == ["model", "npar", "AIC (ML)", "BIC (ML)"]
    tests = frame_with(at, "Pr(>Chisq)")
    assert tests.columns.tolist() == ["test", "Chisq", "Df", "Pr(>Chisq)", "Pr (boundary)"]


def test_models_are_compared_on_the_same_rows(open_page):
    """A null model on 183 rows next to models on 174 would not be a comparison (lme4's
    anova refuses it): with 9 predictor values missing, every model uses 174 rows."""
    import numpy as np

    from lib.lmm import fit_lmm
    from ui.state import UploadedTable

    data = load_bundled("schools").copy()
    data.loc[data.index[::20], "study_time"] = np.nan
    data.loc[data.index[7], "study_time"] = np.inf
    dropped = int(data["study_time"].isna().sum()) + 1
    at = open_page(PAGE)
    content = data.to_csv(index=False).encode()
    at.session_state["_upload"] = UploadedTable.from_bytes("holes.csv", content)
    at.run()
    at.sidebar.selectbox(key="data").set_value("your upload").run()
    assert not at.exception and not at.error
    assert any(f"{dropped} of 183 rows" in e.value for e in at.info)
    comparison = frame_with(at, "AIC (ML)")
    common = data[np.isfinite(data["study_time"])]
    specs = mixed_specs("test_score", "study_time", "school", True)
    for k, spec in enumerate(specs.values()):
        fit = fit_lmm(common, spec.with_changes(reml=False))
        assert fit.nobs == 183 - dropped
        assert comparison["AIC (ML)"].iloc[k] == f"{fit.aic:,.1f}"
