"""Ladder page: the table and the sentences show lib.classroom.ladder's numbers."""

from __future__ import annotations

from conftest import frame_with, labelled, plain

from lib.classroom.ladder import COMPLETE_OLS, DUMMY_OLS, FULL, NULL, RI, RS, ladder
from lib.table.catalogue import load_bundled

PAGE = "pages/6_Ladder.py"


ROWS = {
    NULL: "1 Null model",
    RI: "2 Random intercept",
    RS: "3 Random slope",
    FULL: "4 Intercept + slope",
    COMPLETE_OLS: "OLS, one line",
    DUMMY_OLS: "OLS, dummies",
}


def test_ladder_numbers_match_lib(open_page):
    at = open_page(PAGE)
    assert not at.exception
    result = ladder(load_bundled("schools"), "test_score", "study_time", "school")
    criteria = labelled(frame_with(at, "AIC (ML)"))
    shares = labelled(frame_with(at, "ICC"))
    for step in result.steps:
        row = criteria.loc[ROWS[step.name]]
        assert row["AIC (ML)"] == f"{step.aic:,.1f}"
        assert row["BIC (ML)"] == f"{step.bic:,.1f}"
    assert shares.loc[ROWS[NULL], "REML criterion"] == "1,221.5"  # the tutorial's
    assert shares.loc[ROWS[FULL], "REML criterion"] == "916.8"
    assert shares.loc[ROWS[NULL], "ICC"] == f"{result.step(NULL).icc:.3f}" == "0.359"
    tests = labelled(frame_with(at, "Chisq"))
    assert tests.loc["4 vs 2", "Chisq"] == f"{result.step(FULL).chisq:,.2f}" == "64.80"
    assert result.step(FULL).parent == RI
    text = " ".join(plain(m.value) for m in at.markdown)
    assert "35.9% of the variance in test_score" in text
    assert f"χ² = {result.step(RI).chisq:.2f} on 1 df" in text
    assert "χ² = 64.80 on 2 df, p = 8.49e-15" in text


def test_ml_switch_changes_the_criterion_column(open_page):
    at = open_page(PAGE, query={"method": "ML"})
    assert not at.exception
    table = labelled(frame_with(at, "deviance (ML)"))
    result = ladder(load_bundled("schools"), "test_score", "study_time", "school", reml=False)
    shown = table.loc[ROWS[NULL], "deviance (ML)"]
    assert shown == f"{result.step(NULL).criterion:,.1f}" == "1,225.2"
