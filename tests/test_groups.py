"""lib.explore.groups: group summaries and mean differences against R, histograms, sampling."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, SpecError
from lib.explore.groups import (
    DummyCoding,
    GroupSummary,
    Histogram,
    MeanDifferences,
    dummy_coding,
    group_summary,
    histogram,
    mean_differences,
    sample_rows,
)
from tests.test_ols import DATASETS, arr, close, load

# ------------------------------------------------------------ against R --


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_group_summary_matches_tapply(dataset: str) -> None:
    info = DATASETS[dataset]
    ref = info["group_summary"]
    res = group_summary(load(dataset), info["outcome"], info["group"])
    assert isinstance(res, GroupSummary)
    assert res.levels == tuple(ref["levels"])
    assert res.n.tolist() == ref["n"]
    close(res.mean, arr(ref["mean"]))
    close(res.sd, arr(ref["sd"]))  # NaN for a one-row group, as R's sd
    assert res.n_dropped == ref["n_dropped"]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_mean_differences_match_r(dataset: str) -> None:
    info = DATASETS[dataset]
    ref = info["mean_differences"]
    res = mean_differences(load(dataset), info["outcome"], info["predictor"], info["group"])
    assert isinstance(res, MeanDifferences)
    assert res.levels == tuple(ref["levels"])
    assert res.n.tolist() == ref["n"]
    close(res.mean, arr(ref["mean"]))
    close(res.raw_diff, arr(ref["raw_diff"]))
    close(res.coef, arr(ref["coef"]))
    close(res.slope, ref["slope"])
    assert res.n_dropped == ref["n_dropped"]
    # The embedded model is R's lm(y ~ x + g) on the same rows.
    close(res.fit.coef[2:], arr(ref["coef"])[1:])


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_without_predictor_coefficients_are_the_raw_differences(dataset: str) -> None:
    info = DATASETS[dataset]
    res = mean_differences(load(dataset), info["outcome"], None, info["group"])
    r_fit = info["fits"]["group_only"]  # lm(y ~ g) in R
    close(res.coef[1:], arr(r_fit["coef"])[1:])
    close(res.mean, arr(info["group_summary"]["mean"]))
    close(res.coef, res.raw_diff, scale_atol=1e-12)
    assert np.isnan(res.slope)


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_dummy_coding_matches_contr_treatment(dataset: str) -> None:
    ref = DATASETS[dataset]["dummy_coding"]
    res = dummy_coding(ref["levels"], DATASETS[dataset]["group"])
    assert isinstance(res, DummyCoding)
    assert res.levels == tuple(ref["levels"])
    assert res.names == tuple(ref["names"])
    assert res.values.tolist() == ref["values"]
    assert res.reference == ref["levels"][0]


def test_dummy_coding_errors() -> None:
    with pytest.raises(DataError, match="at least 2"):
        dummy_coding(["only"], "school")
    with pytest.raises(DataError, match="repeat"):
        dummy_coding(["a", "b", "a"], "school")


def test_mean_differences_errors() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 4.0], "x": [1.0, 2.0, 3.0, 5.0], "g": ["a"] * 4})
    with pytest.raises(DataError, match="'g' has 1 distinct"):
        mean_differences(frame, "y", "x", "g")
    frame["g"] = list("abab")
    frame["t"] = list("pqrs")
    with pytest.raises(DataError, match="predictor 't' must be numeric"):
        mean_differences(frame, "y", "t", "g")
    with pytest.raises(SpecError, match="both the predictor and the group"):
        mean_differences(frame, "y", "g", "g")


def test_group_summary_rejects_text_outcome() -> None:
    frame = pd.DataFrame({"y": ["1", "2"], "g": ["a", "b"]})
    with pytest.raises(DataError, match="outcome 'y' must be numeric"):
        group_summary(frame, "y", "g")


# ------------------------------------------------------------ histogram --


def brute_counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Count per [edges[i], edges[i+1]) by direct comparison (independent of the code)."""
    pairs = zip(edges[:-1], edges[1:], strict=True)
    return np.array([np.sum((values >= lo) & (values < hi)) for lo, hi in pairs])


def assert_aligned(h: Histogram) -> None:
    # Every edge is (the double nearest to) an integer multiple of the width.
    width = Decimal(repr(h.binwidth))
    for e in h.edges:
        k = (Decimal(repr(float(e))) / width).to_integral_value()
        assert float(k * width) == e
    assert np.all(np.diff(h.edges) > 0)


def test_histogram_counts_sum_to_n_overall_and_per_group() -> None:
    frame = load("schools")
    h = histogram(frame, "test_score", group="school", binwidth=5)
    y = frame.dropna(subset=["test_score", "school"])
    assert h.n == len(y) and h.n_dropped == len(frame) - len(y)
    assert h.total.sum() == h.n
    assert h.counts.shape == (3, len(h.edges) - 1)
    assert h.levels == ("Oakwood", "Riverside High", "St Mary’s")
    np.testing.assert_array_equal(h.counts.sum(axis=0), h.total)
    for k, level in enumerate(h.levels):
        values = y.loc[y["school"] == level, "test_score"].to_numpy()
        np.testing.assert_array_equal(h.counts[k], brute_counts(values, h.edges))
    assert h.binwidth == 5.0 and not h.clamped and h.requested_binwidth == 5.0
    assert h.edges[0] % 5 == 0 and h.edges[0] <= y["test_score"].min() < h.edges[1]
    assert h.edges[-2] <= y["test_score"].max() < h.edges[-1]
    assert_aligned(h)


def test_bins_are_closed_on_the_left_at_multiples_of_the_width() -> None:
    frame = pd.DataFrame({"v": [0.0, 5.0, 9.999, 10.0, -0.5, -5.0]})
    h = histogram(frame, "v", binwidth=5)
    np.testing.assert_array_equal(h.edges, [-5.0, 0.0, 5.0, 10.0, 15.0])
    np.testing.assert_array_equal(h.total, [2, 1, 2, 1])
    np.testing.assert_array_equal(h.centers, [-2.5, 2.5, 7.5, 12.5])


def test_decimal_width_puts_boundary_values_in_the_upper_bin() -> None:
    # 3 * 0.1 != 0.3 in floating point; the edge must still be the double 0.3.
    frame = pd.DataFrame({"v": [0.1, 0.2, 0.3, 0.7, 0.70001]})
    h = histogram(frame, "v", binwidth=0.1)
    assert 0.3 in h.edges.tolist() and 0.7 in h.edges.tolist()
    np.testing.assert_array_equal(h.total, brute_counts(frame["v"].to_numpy(), h.edges))
    assert h.total.tolist() == [1, 1, 1, 0, 0, 0, 2]
    assert_aligned(h)


@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 1.0), (-3.3, 7.1), (1000.0, 1e5), (0.001, 0.0042), (-1e-7, 5e-7)]
)
def test_default_width_is_nice_and_gives_about_25_bins(low: float, high: float) -> None:
    frame = pd.DataFrame({"v": np.linspace(low, high, 101)})
    h = histogram(frame, "v")
    mantissa = Decimal(repr(h.binwidth)).normalize().as_tuple().digits
    assert mantissa in ((1,), (2,), (5,))
    assert 12 <= len(h.total) <= 45
    assert np.isnan(h.requested_binwidth) and not h.clamped
    assert h.total.sum() == 101
    np.testing.assert_array_equal(h.total, brute_counts(frame["v"].to_numpy(), h.edges))
    assert_aligned(h)


def test_too_small_width_is_clamped_with_a_flag() -> None:
    frame = pd.DataFrame({"v": np.linspace(0.0, 100.0, 500)})
    h = histogram(frame, "v", binwidth=1e-6, max_bins=40)
    assert h.clamped and h.requested_binwidth == 1e-6
    assert len(h.total) <= 40 and h.binwidth == 5.0  # 100 / 40 = 2.5 -> nice 5 (21 bins)
    assert h.total.sum() == 500
    ok = histogram(frame, "v", binwidth=2.5, max_bins=41)
    assert not ok.clamped and len(ok.total) == 41


def test_constant_and_missing_values() -> None:
    frame = pd.DataFrame({"v": [7.0, 7.0, np.nan, 7.0], "g": ["a", "b", "b", None]})
    h = histogram(frame, "v")
    assert h.total.tolist() == [3] and h.n_dropped == 1
    hg = histogram(frame, "v", group="g")
    assert hg.n == 2 and hg.n_dropped == 2 and hg.counts.tolist() == [[1], [1]]


def test_histogram_input_errors() -> None:
    frame = pd.DataFrame({"v": [1.0, 2.0], "s": ["a", "b"]})
    with pytest.raises(DataError, match="'s' must be numeric"):
        histogram(frame, "s")
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(SpecError, match="positive"):
            histogram(frame, "v", binwidth=bad)
    with pytest.raises(SpecError, match="max_bins"):
        histogram(frame, "v", max_bins=0)
    with pytest.raises(DataError, match="no complete rows"):
        histogram(pd.DataFrame({"v": [np.nan, np.nan]}), "v")


# ------------------------------------------------------------- sampling --


def big_frame() -> pd.DataFrame:
    rng = np.random.default_rng(5)
    sizes = {"big": 15000, "mid": 4000, "small": 990, "tiny": 9, "one": 1}
    g = np.concatenate([[k] * n for k, n in sizes.items()]).astype(object)
    g[:3] = None  # missing labels form their own stratum
    frame = pd.DataFrame({"g": g, "x": rng.normal(size=len(g))})
    return frame.sample(frac=1.0, random_state=1).reset_index(drop=True)


def test_small_frames_are_returned_unchanged() -> None:
    frame = load("schools")
    out, sampled = sample_rows(frame, max_rows=5000, group="school")
    assert out is frame and sampled is False


def test_stratified_sample_is_capped_proportional_and_keeps_every_group() -> None:
    frame = big_frame()
    out, sampled = sample_rows(frame, max_rows=5000, seed=0, group="g")
    assert sampled and len(out) == 5000
    assert out.index.is_unique and out.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(out, frame.loc[out.index])
    full = frame["g"].value_counts(dropna=False)
    got = out["g"].value_counts(dropna=False)
    assert set(got.index.map(str)) == set(full.index.map(str))  # incl. "one" and missing
    for label, n in full.items():
        share = 5000 * n / len(frame)
        # Largest-remainder rounding (< 1 row off), minus rows handed to groups
        # whose share rounds to 0 ("one" here).
        assert abs(got[label] - share) < 2.0 or got[label] == 1


def test_sampling_is_deterministic_and_seeded() -> None:
    frame = big_frame()
    a, _ = sample_rows(frame, max_rows=3000, seed=0, group="g")
    b, _ = sample_rows(frame, max_rows=3000, seed=0, group="g")
    c, _ = sample_rows(frame, max_rows=3000, seed=1, group="g")
    assert a.index.equals(b.index) and not a.index.equals(c.index)
    d, flag = sample_rows(frame, max_rows=1234, seed=0)
    e, _ = sample_rows(frame, max_rows=1234, seed=0)
    assert flag and len(d) == 1234 and d.index.equals(e.index)


def test_more_groups_than_rows_still_respects_the_cap() -> None:
    frame = pd.DataFrame({"g": np.arange(50), "x": np.zeros(50)})
    out, sampled = sample_rows(frame, max_rows=10, group="g")
    assert sampled and len(out) == 10


def test_sampling_errors() -> None:
    frame = big_frame()
    with pytest.raises(SpecError, match="max_rows"):
        sample_rows(frame, max_rows=0)
    with pytest.raises(DataError, match="'nope'"):
        sample_rows(frame, max_rows=10, group="nope")
