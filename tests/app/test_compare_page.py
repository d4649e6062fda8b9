"""Compare page: OLS strategies and the four mixed models with anova()."""

from __future__ import annotations

from conftest import frame_with, labelled

from lib.lmm import anova
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
    comparison = labelled(frame_with(at, "singular"))
    assert comparison.index.tolist() == list(MIXED_MODELS)


def test_anova_table_matches_lib(open_page):
    at = open_page(PAGE)
    table = labelled(frame_with(at, "Pr(>Chisq)"))
    specs = list(mixed_specs("test_score", "study_time", "school", True).values())
    result = anova(load_bundled("schools"), specs)
    labels = {spec.formula(): name for name, spec in zip(MIXED_MODELS, specs, strict=True)}
    assert table.index.tolist() == [labels[r.formula] for r in result.rows]
    assert table["AIC"].tolist() == [f"{r.aic:,.2f}" for r in result.rows]
    assert table["Pr(>Chisq)"].iloc[0] == ""  # the first row has no test
    assert any("# Null model\ntest_score ~ 1 + (1 | school)" in c.value for c in at.code)


def test_many_groups_compare(open_page):
    at = open_page(PAGE, {"data": "dietox"})
    assert not at.exception
    assert len(frame_with(at, "singular")) == 4


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


def test_anova_shows_the_test_columns_and_leaves_loglik_to_the_csv(open_page):
    at = open_page(PAGE)
    table = frame_with(at, "Pr(>Chisq)")
    assert table.columns.tolist() == ["model", "npar", "AIC", "BIC", "Chisq", "Df", "Pr(>Chisq)"]
    comparison = frame_with(at, "singular")
    assert "logLik" not in comparison.columns


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
    comparison = labelled(frame_with(at, "singular"))
    common = data[np.isfinite(data["study_time"])]
    for name, spec in mixed_specs("test_score", "study_time", "school", True).items():
        fit = fit_lmm(common, spec)
        assert fit.nobs == 183 - dropped
        assert comparison.loc[name, "AIC"] == f"{fit.aic:,.2f}"
