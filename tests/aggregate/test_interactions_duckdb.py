"""DuckDB builds the same interaction columns of X as the pandas engine, and drops
the same rank-deficient ones (products of numeric columns and level dummies)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import DuckDBEngine, fit_engine
from lib.lmm import fit_lmm
from lib.model.design import RankDeficiencyWarning
from lib.model.formula import parse_formula
from tests.aggregate.cases import assert_same_fit
from tests.lmm_reference import ROOT

OATS = ROOT / "tests" / "reference" / "data" / "formula_oats.csv"


@pytest.fixture(scope="module")
def exam_sample(tmp_path_factory) -> str:
    """2,000 rows of Exam (all 65 schools), written to Parquet for DuckDB."""
    frame = pd.read_csv(ROOT / "tests" / "reference" / "data" / "formula_exam.csv")
    frame = frame.sample(n=2000, random_state=3).reset_index(drop=True)
    path = tmp_path_factory.mktemp("exam") / "exam.parquet"
    frame.to_parquet(path)
    return str(path)


FORMULAS = [
    "normexam ~ standLRT * schgend + (standLRT | school)",  # numeric x categorical
    "normexam ~ sex * vr + (1 | school)",  # categorical x categorical
    "normexam ~ standLRT:vr + (1 | school)",  # no margin: every level of vr
    "normexam ~ 0 + sex + vr:sex + standLRT + (1 | school)",  # no intercept
    "normexam ~ standLRT * sex * vr - sex:vr + (1 | school)",  # three-way
]


@pytest.mark.parametrize("formula", FORMULAS)
def test_interaction_model_fits_as_pandas(exam_sample, formula):
    spec = parse_formula(formula)
    expected = fit_lmm(pd.read_parquet(exam_sample), spec)
    got = fit_engine(DuckDBEngine(exam_sample), spec)
    if not spec.intercept:  # 0 + sex spans the constant: ICC from 1'X of the sums
        assert got.icc is not None and got.icc.adjusted == pytest.approx(expected.icc.adjusted)
    assert len(got.fixef_names) > 3
    assert_same_fit(expected, got)


def test_rank_deficient_columns_are_dropped_as_pandas(exam_sample):
    spec = parse_formula("normexam ~ schgend * type + standLRT + (1 | school)")
    with pytest.warns(RankDeficiencyWarning, match="dropping 3 columns / coefficients"):
        expected = fit_lmm(pd.read_parquet(exam_sample), spec)
    with pytest.warns(RankDeficiencyWarning, match="dropping 3 columns / coefficients"):
        got = fit_engine(DuckDBEngine(exam_sample), spec)
    assert got.fixef_names == ("(Intercept)", "schgendgirls", "schgendmixed", "standLRT")
    assert_same_fit(expected, got)


def test_grouping_column_that_is_also_a_predictor(tmp_path):
    """Yates' oats: Variety is a fixed effect and part of the grouping factor."""
    spec = parse_formula("yield ~ nitro + Variety + (1 | Block/Variety)")
    frame = pd.read_csv(OATS)
    path = tmp_path / "oats.parquet"
    frame.to_parquet(path)
    expected = fit_lmm(frame, spec)
    got = fit_engine(DuckDBEngine(str(path)), spec)
    assert got.fixef_names == ("(Intercept)", "nitro", "VarietyMarvellous", "VarietyVictory")
    # The two engines' sums differ by 1e-14 and the optimizer stops where the
    # criterion is flat to 2e-12 (72 rows): theta agrees to 5e-8, not assert_same_fit's 1e-8.
    assert got.criterion == pytest.approx(expected.criterion, rel=1e-11)
    np.testing.assert_allclose(got.theta, expected.theta, rtol=1e-6)
    np.testing.assert_allclose(got.beta, expected.beta, rtol=1e-8)
    np.testing.assert_allclose(got.beta_se, expected.beta_se, rtol=1e-6)
    np.testing.assert_allclose(got.beta_df, expected.beta_df, rtol=1e-5)
    assert [f.group for f in got.ranef] == [f.group for f in expected.ranef] == [
        "Variety:Block",
        "Block",
    ]


def test_sample_predictions_of_an_interaction_model_are_the_fits(exam_sample):
    """lib.aggregate.sample_fit names X's columns as lib.model.fixed does."""
    from lib.aggregate.sample_fit import fitted_at

    frame = pd.read_parquet(exam_sample)
    spec = parse_formula("normexam ~ standLRT * schgend + sex:vr + (standLRT | school)")
    with pytest.warns(RankDeficiencyWarning):  # sex:vr without margins: one column too many
        fit = fit_lmm(frame, spec)
    fitted, residuals = fitted_at(fit, frame)
    np.testing.assert_allclose(fitted, fit.fitted, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(residuals, fit.residuals, rtol=1e-9, atol=1e-12)
