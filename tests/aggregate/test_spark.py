"""Spark (local mode) computes the same fit as the pandas engine.

One SparkSession for the module (starting one costs ~15 s) and a few cases: the
SQL is the DuckDB tests' (tests/aggregate/test_duckdb.py runs every reference
case); these check Spark's dialect: backtick quoting, its finiteness test, exact
``percentile``, the two-pass quantiles, CACHE TABLE, Arrow exchange, a table name
as the source.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import SparkEngine, engine_stats, fit_engine, spark_session
from lib.aggregate.sqlfit import second_pass
from lib.lmm import fit_lmm
from lib.lmm.fit import rows_pass
from lib.model.design import build_design
from tests.aggregate.cases import assert_same_fit, random_effects_inputs, reference_cases

CASES = ("sleep_full_reml", "cat_rs_reml", "unicode_full_reml")


@pytest.fixture(scope="module")
def spark():
    session = spark_session(
        "local[2]",
        {
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": "2",
            "spark.driver.memory": "1g",
        },
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _fit(spark, source, spec):
    engine = SparkEngine(spark, source)
    try:
        return fit_engine(engine, spec)
    finally:
        engine.close()


@pytest.mark.parametrize("name", CASES)
def test_reference_case(spark, name):
    _, path, spec = next(c for c in reference_cases() if c[0] == name)
    assert_same_fit(fit_lmm(pd.read_csv(path), spec), _fit(spark, str(path), spec))


@pytest.mark.parametrize("case", ["nested", "crossed", "hostile"])
def test_made_case(spark, made, case):
    path, spec = made[case]
    assert_same_fit(fit_lmm(pd.read_csv(path), spec), _fit(spark, str(path), spec))


@pytest.mark.parametrize("case,binned", [("crossed", False), ("nested", True)])
def test_second_pass_quantiles(spark, made, monkeypatch, case, binned):
    """Quantiles equal numpy's: by ``percentile`` (exact) from a catalog table as DATA,
    and by the two-pass bins (forced on small data) from a file, which exercises
    Spark's dialect for them: GROUP BY the bin, collect_list ... FILTER, a
    registered bounds table."""
    from lib.aggregate import quantiles

    path, spec = made[case]
    spark.read.csv(str(path), header=True, inferSchema=True).createOrReplaceTempView(case)
    design = build_design(pd.read_csv(path), spec)
    engine = SparkEngine(spark, str(path) if binned else case)
    monkeypatch.setitem(quantiles.EXACT_ROWS, "spark", 0 if binned else 10**9)
    try:
        _, model = engine_stats(engine, spec)
        beta, modes = random_effects_inputs(design, 5)
        got = second_pass(model, beta, modes, 0.9)
    finally:
        engine.close()
    expected = rows_pass(design, beta, modes, 0.9)
    np.testing.assert_allclose(
        got.scaled_resid_quantiles, expected.scaled_resid_quantiles, rtol=1e-12
    )
    assert got.variance_fixed == pytest.approx(expected.variance_fixed, rel=1e-12)


def test_glmm_sample_is_random_and_repeatable(spark, tmp_path):
    # python -m lib fit --family ... --engine spark --sample N --seed S (lib.cli_glmm).
    from lib.cli_glmm import sample_from_engine

    path = tmp_path / "rows.csv"
    pd.DataFrame({"y": np.arange(200) % 2, "g": np.arange(200) // 10, "k": np.arange(200)}).to_csv(
        path, index=False
    )
    engine = SparkEngine(spark, str(path))
    try:
        first, total = sample_from_engine(engine, ["y", "g", "k"], 50, seed=3)
        again, _ = sample_from_engine(engine, ["y", "g", "k"], 50, seed=3)
    finally:
        engine.close()
    assert total == 200 and len(first) == 50
    assert sorted(first["k"]) == sorted(again["k"])
    assert first["k"].max() > 60  # not the first 50 rows
