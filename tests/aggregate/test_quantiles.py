"""Exact residual quantiles without holding the residuals (lib.aggregate.quantiles)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import DuckDBEngine, engine_stats, quantiles
from lib.aggregate.sqlfit import second_pass
from lib.lmm.fit import QUANTILE_PROBS, rows_pass, type7_quantiles
from lib.model.design import build_design
from tests.aggregate.cases import random_effects_inputs

PROBS = (0.0, 0.01, 0.25, 0.5, 0.75, 0.999, 1.0)


def _bins(values: np.ndarray) -> quantiles.Bins:
    """What the engine's GROUP BY returns, computed in numpy with the same rule."""
    index = np.floor(np.clip(values, -quantiles.BIN_RANGE, quantiles.BIN_RANGE) * 64).astype(int)
    frame = pd.DataFrame({"b": index, "v": values}).groupby("b")["v"].agg(["size", "min", "max"])
    rng = np.random.default_rng(0)
    order = rng.permutation(len(frame))  # the engine returns bins in any order
    return quantiles.Bins(
        index=frame.index.to_numpy()[order],
        count=frame["size"].to_numpy()[order],
        low=frame["min"].to_numpy()[order],
        high=frame["max"].to_numpy()[order],
    )


def _fetcher(values: np.ndarray, calls: list):
    def fetch(ranges):
        calls.append(ranges)
        return [values[(values >= lo) & (values <= hi)] for lo, hi in ranges]

    return fetch


def _never():
    raise AssertionError("the exact fallback was not expected")


DATA = {
    "normal": lambda rng: rng.normal(size=20_011),
    "heavy tails and far outliers": lambda rng: np.concatenate(
        [rng.standard_t(1.5, size=5_000), [-1e9, 3e7, 200.0]]
    ),
    "ties": lambda rng: np.round(rng.normal(size=9_999), 1),
    "all equal": lambda rng: np.full(1_000, 0.25),
    "one value": lambda rng: np.array([-3.5]),
    "two values": lambda rng: np.array([2.0, -1.0]),
}


@pytest.mark.parametrize("name", DATA)
def test_binned_quantiles_equal_type7(name):
    values = DATA[name](np.random.default_rng(5))
    calls: list = []
    got = quantiles.quantiles_from_bins(_bins(values), PROBS, _fetcher(values, calls), _never)
    np.testing.assert_array_equal(got, type7_quantiles(values, PROBS))
    fetched = sum(int(((values >= lo) & (values <= hi)).sum()) for lo, hi in calls[0])
    assert fetched < max(values.size // 10, 20)  # a few bins, not the data


def test_ties_and_edges_need_no_values():
    """Bins of equal values, and first/last order statistics, are known from the counts."""
    values = np.repeat([-1.0, 0.0, 2.0], [5, 11, 4])
    calls: list = []
    got = quantiles.quantiles_from_bins(_bins(values), PROBS, _fetcher(values, calls), _never)
    np.testing.assert_array_equal(got, type7_quantiles(values, PROBS))
    assert calls == [[]]


def test_disagreeing_passes_fall_back_to_the_exact_quantile():
    values = np.random.default_rng(1).normal(size=5_000)
    exact_calls = []

    def exact():
        exact_calls.append(1)
        return type7_quantiles(values, PROBS)

    def short_fetch(ranges):  # one value missing from a bin
        return [values[(values >= lo) & (values <= hi)][1:] for lo, hi in ranges]

    got = quantiles.quantiles_from_bins(_bins(values), PROBS, short_fetch, exact)
    assert exact_calls == [1]
    np.testing.assert_array_equal(got, type7_quantiles(values, PROBS))


def test_too_many_values_to_fetch_fall_back(monkeypatch):
    values = np.random.default_rng(2).normal(size=5_000)
    monkeypatch.setattr(quantiles, "FETCH_LIMIT", 10)
    got = quantiles.quantiles_from_bins(
        _bins(values),
        PROBS,
        lambda r: pytest.fail("fetched despite the limit"),
        lambda: type7_quantiles(values, PROBS),
    )
    np.testing.assert_array_equal(got, type7_quantiles(values, PROBS))


@pytest.mark.parametrize("case", ["nested", "crossed"])
def test_duckdb_second_pass_by_bins_equals_rows_in_memory(made, case, monkeypatch):
    """The two-pass quantiles in DuckDB (forced on small data) equal numpy's exactly."""
    path, spec = made[case]
    design = build_design(pd.read_csv(path), spec)
    _, model = engine_stats(DuckDBEngine(str(path)), spec)
    beta, modes = random_effects_inputs(design, 3)
    expected = rows_pass(design, beta, modes, 1.7)
    monkeypatch.setitem(quantiles.EXACT_ROWS, "duckdb", 0)
    got = second_pass(model, beta, modes, 1.7)
    np.testing.assert_allclose(
        got.scaled_resid_quantiles, expected.scaled_resid_quantiles, rtol=1e-13
    )
    assert got.variance_fixed == pytest.approx(expected.variance_fixed, rel=1e-12)
    assert len(got.scaled_resid_quantiles) == len(QUANTILE_PROBS)
