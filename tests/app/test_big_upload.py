"""Large uploads: counted, summarised and fitted over every row by DuckDB, a sample for
the rest. The size threshold is lowered (``EXPLORER_BIG_UPLOAD_BYTES``) so that a few-MB
file takes the large-upload path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import frame_with, labelled, open_app, plain

from lib.aggregate import upload as lib_upload
from lib.explore.groups import group_summary
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec

DATA, EXPLORE, MODEL = "pages/1_Data.py", "pages/2_Explore.py", "pages/3_Model.py"
N_ROWS = 250_000


def _csv(n: int, seed: int) -> tuple[pd.DataFrame, bytes]:
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 300, n)
    hours = np.round(rng.normal(10, 3, n), 2)
    score = np.round(
        50 + rng.normal(0, 4, 300)[school] + 1.5 * hours + rng.normal(0, 6, n), 2
    ).astype(float)
    score[::997] = np.nan  # some rows without an outcome
    frame = pd.DataFrame(
        {"hours": hours, "school": np.char.add("s", school.astype(str)), "score": score}
    )
    return frame, frame.to_csv(index=False).encode()


@pytest.fixture(scope="module")
def big_file() -> tuple[pd.DataFrame, bytes]:
    return _csv(N_ROWS, 1)


@pytest.fixture
def low_threshold(monkeypatch):
    monkeypatch.setenv(lib_upload.THRESHOLD_ENV, str(1024 * 1024))


def _upload(content: bytes, name: str = "big.csv"):
    at = open_app(DATA)
    at.file_uploader(key="_upload_widget").upload(name, content)
    return at.run()


def _captions(at) -> str:
    return "\n".join(plain(c.value) for c in at.caption)


def test_data_page_counts_every_row(big_file, low_threshold):
    frame, content = big_file
    assert len(content) > 1024 * 1024
    at = _upload(content)
    assert not at.exception and not at.error
    assert at.session_state["_upload"].name == "big.csv"
    assert at.sidebar.selectbox(key="data").value == "your upload"
    assert (at.sidebar.selectbox(key="y").value, at.sidebar.selectbox(key="group").value) == (
        "score",
        "school",
    )
    metrics = {m.label: m.value for m in at.metric}
    used = int(frame["score"].notna().sum())
    assert metrics == {
        "Rows": f"{N_ROWS:,}",
        "Rows used": f"{used:,}",
        "Rows dropped": f"{N_ROWS - used:,}",
        "Groups": "300",
    }
    captions = _captions(at)
    assert f"a random sample of 100,000 of {N_ROWS:,} rows" in captions
    assert f"First 200 of {N_ROWS:,} rows" in captions
    columns = labelled(frame_with(at, "distinct"))
    assert columns.loc["score", "missing"] == f"{N_ROWS - used:,}"
    sizes = labelled(frame_with(at, "median rows per level"))
    median = np.median(frame["school"].value_counts())
    assert sizes.loc["school", "median rows per level"] == f"{median:,.1f}"


def test_explore_means_are_all_rows(big_file, low_threshold):
    frame, content = big_file
    at = _upload(content)
    at.switch_page(EXPLORE).run()
    assert not at.exception and not at.error
    table = labelled(frame_with(at, "Mean"))
    expected = group_summary(frame, "score", "school")
    assert table.index.tolist() == list(expected.levels)
    # DuckDB sums in parallel, in no fixed order: its means equal pandas's to ~1e-12, so a
    # mean within that of a rounding tie (71.91995) may show one unit higher or lower in the
    # 4th decimal. A sample's means would be off by far more than 1e-4.
    shown = np.array([float(v.replace(",", "")) for v in table["Mean"]])
    np.testing.assert_allclose(shown, expected.mean, rtol=0, atol=0.5e-4 + 1e-9)
    assert table["n"].tolist() == [f"{k:,}" for k in expected.n]
    assert "Histograms and group means count all 250,000 rows" in _captions(at)


def test_model_fit_is_the_full_data_fit(big_file, low_threshold):
    frame, content = big_file
    at = _upload(content)
    at.switch_page(MODEL).run()
    assert not at.exception and not at.error
    expected = fit_lmm(frame, ModelSpec.one_factor("score", "school", fixed=("hours",)))
    metric = next(m for m in at.metric if m.label == "REML criterion")
    shown = float(metric.proto.help.removeprefix("Unrounded: "))
    assert shown == pytest.approx(expected.criterion, rel=1e-8)
    observations = next(m.value for m in at.metric if m.label == "Observations")
    assert observations == f"{expected.nobs:,}"
    captions = _captions(at)
    assert f"Fitted to all {N_ROWS:,} rows by DuckDB" in captions
    assert f"a random sample of 100,000 of {N_ROWS:,} rows" in captions
    # The residual plots are drawn (from the sample's rows), not replaced by a note.
    assert not any("no per-row values" in i.value for i in at.info)
    assert any("**Normal QQ plot of the scaled residuals**" in m.value for m in at.markdown)


def test_small_upload_still_goes_through_pandas(big_file, monkeypatch):
    """Below the threshold nothing of the large-upload path runs."""

    def refuse(*args, **kwargs):
        raise AssertionError("a small upload must not be read through DuckDB")

    monkeypatch.setattr(lib_upload, "read_upload", refuse)
    frame, content = big_file
    at = _upload(content)  # a few MB, far below the default 50 MB
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Rows"] == f"{N_ROWS:,}"
    captions = _captions(at)
    assert "random sample" not in captions and "DuckDB" not in captions


def test_small_file_with_more_rows_than_pandas_may_hold_goes_to_duckdb(big_file, monkeypatch):
    """Below the size threshold but above the app's row limit: read by DuckDB, not refused."""
    from ui import row_limit

    monkeypatch.setattr(row_limit, "APP_MAX_ROWS", 200_000)
    frame, content = big_file
    at = _upload(content)  # 4.6 MB: far below 50 MB, but 250,000 rows
    assert not at.exception and not at.error
    assert {m.label: m.value for m in at.metric}["Rows"] == f"{N_ROWS:,}"
    assert f"a random sample of 100,000 of {N_ROWS:,} rows" in _captions(at)


def test_row_count_without_parsing(tmp_path):
    frame, content = _csv(1_000, 3)
    assert lib_upload.more_rows_than(content, "a.csv", 999)
    assert not lib_upload.more_rows_than(content, "a.csv", 1_000)
    frame.to_parquet(tmp_path / "a.parquet")
    parquet = (tmp_path / "a.parquet").read_bytes()
    assert lib_upload.more_rows_than(parquet, "a.parquet", 999)
    assert not lib_upload.more_rows_than(parquet, "a.parquet", 1_000)
    assert not lib_upload.more_rows_than(b"not parquet", "b.parquet", 0)
    assert not lib_upload.more_rows_than(content, "a.xlsx", 0)  # Excel stays with pandas


def test_two_sessions_do_not_see_each_others_upload(big_file, low_threshold):
    _, content = big_file
    other_frame, other = _csv(N_ROWS - 10_000, 2)
    first = _upload(content)
    second = _upload(other, "other.csv")
    assert not first.exception and not second.exception
    assert {m.label: m.value for m in second.metric}["Rows"] == f"{N_ROWS - 10_000:,}"
    first.run()  # the first session still has its own file
    assert {m.label: m.value for m in first.metric}["Rows"] == f"{N_ROWS:,}"
    assert first.session_state["_upload"].name == "big.csv"
    fresh = open_app(DATA)  # a third session has no upload at all
    assert "your upload" not in fresh.sidebar.selectbox(key="data").options
    assert "Rows" in {m.label for m in fresh.metric}
    assert {m.label: m.value for m in fresh.metric}["Rows"] == "183"


@pytest.mark.parametrize(
    "page,note",
    [
        ("app.py", None),
        ("pages/4_Compare.py", "This page fits its models to a random sample of 100,000"),
        ("pages/5_Pooling.py", "This page fits its models to a random sample of 100,000"),
        ("pages/6_Ladder.py", "This page fits its models to a random sample of 100,000"),
        ("pages/8_Lesson.py", "This page fits its models to a random sample of 100,000"),
    ],
)
def test_other_pages_use_the_sample_and_say_so(big_file, low_threshold, page, note):
    _, content = big_file
    at = _upload(content)
    at.switch_page(page).run()
    assert not at.exception and not at.error
    if note is None:  # Home: the row count of the whole file
        assert f"{N_ROWS:,} rows, 3 columns; 300 groups of school" in _captions(at)
    else:
        assert note in _captions(at)
