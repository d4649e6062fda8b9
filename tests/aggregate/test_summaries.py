"""Group means and histograms through DuckDB equal lib.explore.groups' on the same data."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import summaries, upload
from lib.aggregate.engines import DuckDBEngine
from lib.errors import DataError
from lib.explore import groups


def _frame() -> pd.DataFrame:
    frame = pd.read_csv("data/schools.csv")
    rng = np.random.default_rng(1)
    # Values exactly on bin edges of width 0.1 (0.3 must land in [0.3, 0.4)), a single-row
    # group (SD missing), missing and infinite values.
    frame["edge"] = np.round(rng.integers(0, 30, len(frame)) * 0.1, 1)
    frame.loc[0, "school"] = "Lonely"
    frame.loc[1, "test_score"] = np.nan
    frame.loc[2, "edge"] = np.inf
    return frame


def test_group_summary_matches_lib_groups():
    frame = _frame()
    expected = groups.group_summary(frame, "test_score", "school")
    got = summaries.group_summary(DuckDBEngine(frame), "test_score", "school")
    assert got.levels == expected.levels and got.n_dropped == expected.n_dropped
    np.testing.assert_array_equal(got.n, expected.n)
    np.testing.assert_allclose(got.mean, expected.mean, rtol=1e-12)
    np.testing.assert_allclose(got.sd, expected.sd, rtol=1e-10)  # NaN where n = 1


@pytest.mark.parametrize(
    "column,group,binwidth",
    [("test_score", None, None), ("edge", "school", 0.1), ("study_time", "school", 0.001)],
)
def test_histogram_matches_lib_groups(column, group, binwidth):
    frame = _frame()
    expected = groups.histogram(frame, column, group, binwidth)
    progress = []
    got = summaries.histogram(
        DuckDBEngine(frame), column, group, binwidth, progress=lambda f, t: progress.append(f)
    )
    np.testing.assert_array_equal(got.edges, expected.edges)
    np.testing.assert_array_equal(got.total, expected.total)
    np.testing.assert_array_equal(got.counts, expected.counts)
    assert (got.levels, got.n, got.n_dropped, got.clamped) == (
        expected.levels,
        expected.n,
        expected.n_dropped,
        expected.clamped,
    )
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_upload_bytes_csv_and_parquet():
    frame = _frame()
    csv = frame.to_csv(index=False).encode()
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    expected = groups.group_summary(frame, "test_score", "school")
    for content, name in ((csv, "up.csv"), (buffer.getvalue(), "up.parquet")):
        got = summaries.group_summary(
            upload.upload_engine(content, name), "test_score", "school"
        )
        np.testing.assert_allclose(got.mean, expected.mean, rtol=1e-12)
        assert got.n_dropped == expected.n_dropped


def test_errors_are_data_errors():
    with pytest.raises(DataError, match="must be numeric"):
        summaries.histogram(DuckDBEngine(_frame()), "school")
    with pytest.raises(DataError, match="not in the data"):
        summaries.group_summary(DuckDBEngine(_frame()), "nope", "school")
    with pytest.raises(DataError, match="large uploads"):
        upload.upload_engine(b"x", "data.xlsx")
