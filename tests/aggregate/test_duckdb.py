"""DuckDB computes the same statistics, second pass and fit as the pandas engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import DuckDBEngine, engine_stats, fit_engine
from lib.aggregate.sqlfit import second_pass
from lib.errors import DataError
from lib.lmm import fit_lmm
from lib.lmm.fit import rows_pass
from lib.lmm.stats import model_stats
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from tests.aggregate.cases import assert_same_fit, random_effects_inputs, reference_cases

REFERENCE = reference_cases()


def _fit_pair(path, spec):
    return fit_lmm(pd.read_csv(path), spec), fit_engine(DuckDBEngine(str(path)), spec)


@pytest.mark.parametrize("name,path,spec", REFERENCE, ids=[c[0] for c in REFERENCE])
def test_reference_cases_fit_as_pandas(name, path, spec):
    assert_same_fit(*_fit_pair(path, spec))


@pytest.mark.parametrize("case", ["nested", "crossed", "hostile"])
def test_made_cases_fit_as_pandas(made, case):
    path, spec = made[case]
    expected, got = _fit_pair(path, spec)
    assert_same_fit(expected, got)
    if case != "hostile":
        assert len(got.ranef) == 2


@pytest.mark.parametrize("case", ["nested", "crossed", "categorical"])
def test_statistics_equal_numpy_to_rounding(made, case):
    if case == "categorical":
        name, path, spec = next(c for c in REFERENCE if c[0] == "cat_rs_reml")
    else:
        path, spec = made[case]
    design = build_design(pd.read_csv(path), spec)
    expected = model_stats(design)
    got, _ = engine_stats(DuckDBEngine(str(path)), spec)
    assert got.fixef_names == expected.fixef_names
    assert (got.nobs, got.n_dropped) == (expected.nobs, expected.n_dropped)
    for e, g in zip(expected.terms, got.terms, strict=True):
        assert e.term == g.term and e.levels == g.levels
        np.testing.assert_array_equal(e.counts, g.counts)
        for part in ("ZtZ", "ZtX", "Zty"):
            np.testing.assert_allclose(getattr(g, part), getattr(e, part), rtol=1e-13, atol=0)
    assert set(got.pairs) == set(expected.pairs)
    for key, e in expected.pairs.items():
        g = got.pairs[key]
        np.testing.assert_array_equal(g.level_i, e.level_i)
        np.testing.assert_array_equal(g.level_j, e.level_j)
        np.testing.assert_allclose(g.values, e.values, rtol=1e-13)
    np.testing.assert_allclose(got.XtX, expected.XtX, rtol=1e-13)
    np.testing.assert_allclose(got.Xty, expected.Xty, rtol=1e-13)
    assert got.yty == pytest.approx(expected.yty, rel=1e-13)


@pytest.mark.parametrize("case", ["nested", "crossed"])
def test_second_pass_equals_rows_in_memory(made, case):
    """Same beta, modes and sigma: quantiles and var(X beta) agree to 1e-12."""
    path, spec = made[case]
    design = build_design(pd.read_csv(path), spec)
    _, model = engine_stats(DuckDBEngine(str(path)), spec)
    beta, modes = random_effects_inputs(design, 3)
    expected = rows_pass(design, beta, modes, 1.7)
    got = second_pass(model, beta, modes, 1.7)
    np.testing.assert_allclose(
        got.scaled_resid_quantiles, expected.scaled_resid_quantiles, rtol=1e-12
    )
    assert got.variance_fixed == pytest.approx(expected.variance_fixed, rel=1e-12)


def test_parquet_glob_and_non_finite_rows(tmp_path):
    frame = pd.read_csv("data/schools.csv")
    frame.loc[[0, 5], "test_score"] = [np.inf, np.nan]
    frame.loc[9, "study_time"] = -np.inf
    frame.loc[12, "school"] = None
    for k, start in enumerate(range(0, len(frame), 70)):
        frame.iloc[start : start + 70].to_parquet(tmp_path / f"part{k}.parquet")
    spec = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))
    expected = fit_lmm(frame, spec)
    got = fit_engine(DuckDBEngine(str(tmp_path / "*.parquet")), spec)
    assert got.n_dropped == expected.n_dropped == 4
    assert_same_fit(expected, got)


BAD = [
    (ModelSpec.one_factor("nope", "school"), "Column 'nope' is not in the data"),
    (ModelSpec.one_factor("school", "study_time"), "must be numeric"),
    (ModelSpec.one_factor("test_score", "one"), "at least 2 groups"),
    (ModelSpec.one_factor("test_score", "school", fixed=("constant",)), "only one value"),
]


def test_a_categorical_random_slope_is_fitted_in_memory_only(tmp_path):
    """In memory (kind | school) is lme4's categorical random effect (kindshort); the SQL
    engines keep numeric slopes and say where it is fitted."""
    frame = pd.read_csv("data/schools.csv")
    frame["kind"] = np.where(frame["study_time"] > 9, "long", "short")
    path = tmp_path / "kind.parquet"
    frame.to_parquet(path)
    spec = ModelSpec.one_factor("test_score", "school", random_slopes=("kind",))
    assert fit_lmm(frame, spec).varcorr.terms[0].names == ("(Intercept)", "kindshort")
    with pytest.raises(DataError, match=r"random slope 'kind' must be numeric.*--engine pandas"):
        fit_engine(DuckDBEngine(str(path)), spec)


@pytest.mark.parametrize("spec,words", BAD, ids=[b[1] for b in BAD])
def test_bad_input_gives_the_pandas_message(tmp_path, spec, words):
    frame = pd.read_csv("data/schools.csv")
    frame["kind"] = np.where(frame["study_time"] > 9, "long", "short")
    frame["one"] = "x"
    frame["twice"] = 2 * frame["study_time"]
    frame["constant"] = "same"
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path)
    with pytest.raises(DataError) as pandas_error:
        fit_lmm(frame, spec)
    with pytest.raises(DataError) as duckdb_error:
        fit_engine(DuckDBEngine(str(path)), spec)
    assert words in str(pandas_error.value)
    assert str(duckdb_error.value) == str(pandas_error.value)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        DuckDBEngine(str(tmp_path / "none.parquet"))
    with pytest.raises(DataError, match="No file matches"):
        DuckDBEngine(str(tmp_path / "*.parquet"))
