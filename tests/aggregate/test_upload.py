"""Large uploads: the Arrow table, the sample and the SQL report agree with lib.table."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from lib.aggregate import overview, upload
from lib.aggregate.sample_fit import fitted_at
from lib.aggregate.sqlfit import fit_engine
from lib.errors import DataError
from lib.lmm import fit_lmm
from lib.model.levels import LevelEffects, level_spec
from lib.model.spec import NESTED, GroupLevel, ModelSpec
from lib.table import read as table_read
from lib.table import validate as table_validate
from lib.table.roles import Roles


def _frame(n: int = 3000, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    school = rng.integers(0, 40, n)
    frame = pd.DataFrame(
        {
            "score": np.round(50 + rng.normal(0, 4, 40)[school] + rng.normal(0, 6, n), 3),
            "hours": np.round(rng.normal(8, 2, n), 3),
            "school": np.char.add("s", school.astype(str)),
            "class": rng.choice(["a", "b", "c"], n),
            "sex": rng.choice(["f", "m"], n),
        }
    )
    frame.loc[5, "score"] = np.nan
    frame.loc[7, "hours"] = np.nan
    return frame


def test_sample_is_load_tables_rows_and_counts_are_all_rows():
    frame = _frame()
    content = frame.to_csv(index=False).encode()
    big = upload.read_upload(content, "big.csv", sample_rows=500)
    full = table_read.load_table(content, "big.csv")
    assert (big.n_rows, big.n_columns, len(big.sample), big.sampled) == (3000, 5, 500, True)
    rows = upload.sample_indices(3000, 500)
    assert len(set(rows)) == 500 and np.all(np.diff(rows) > 0)
    expected = full.iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(big.sample, expected)
    pd.testing.assert_frame_equal(big.preview, full.head(upload.PREVIEW_ROWS))
    # The same bytes give the same sample (a fixed seed).
    again = upload.read_upload(content, "big.csv", sample_rows=500)
    pd.testing.assert_frame_equal(again.sample, big.sample)


def test_semicolons_decimal_commas_and_markers_read_as_load_table():
    frame = _frame(400)
    text = frame.to_csv(index=False, sep=";", decimal=",")
    text = text.replace(";;", ";.;", 1)  # a '.' marker in the outcome: still numeric
    content = text.encode("cp1252")
    big = upload.read_upload(content, "semi.csv", sample_rows=400)
    full = table_read.load_table(content, "semi.csv")
    pd.testing.assert_frame_equal(big.sample, full)
    assert table_read.missing_markers(big.sample) == table_read.missing_markers(full)
    assert big.table.schema.field("score").type == "double"


def test_a_word_outside_the_sample_keeps_the_column_text_in_both():
    frame = pd.DataFrame({"y": ["1.5", "."] * 500, "g": ["a", "b"] * 500})
    frame.loc[999, "y"] = "ten"  # not in a sample that stops before the last row
    content = frame.to_csv(index=False).encode()
    big = upload.read_upload(content, "words.csv", sample_rows=10)
    assert 999 not in upload.sample_indices(1000, 10)
    assert not pd.api.types.is_numeric_dtype(big.sample["y"])
    assert big.engine().schema()["y"] == "other"


def test_report_and_overview_count_every_row():
    frame = _frame()
    content = frame.to_csv(index=False).encode()
    big = upload.read_upload(content, "big.csv", sample_rows=300)
    roles = Roles(outcome="score", predictor="hours", group="school", covariates=("sex",))
    expected = table_validate.validate(frame, roles)
    got = overview.validate(big.engine(), roles, big.sample)
    assert (got.n_rows, got.n_used, got.missing_by_column) == (
        3000,
        2998,
        expected.missing_by_column,
    )
    assert got.group_levels == expected.group_levels and got.group_sizes == expected.group_sizes
    table = overview.overview(big.engine(), big.sample)
    pd.testing.assert_frame_equal(
        table[["column", "kind", "missing", "distinct"]],
        table_validate.column_overview(frame)[["column", "kind", "missing", "distinct"]],
    )
    assert overview.value_range(big.engine(), "hours") == (
        frame["hours"].min(),
        frame["hours"].max(),
    )
    with pytest.raises(DataError, match="must be numeric"):
        overview.validate(big.engine(), Roles("school", None, "class"), big.sample)


@pytest.mark.parametrize(
    "spec",
    [
        ModelSpec.one_factor("score", "school", fixed=("hours", "sex"), random_slopes=("hours",)),
        level_spec(
            "score",
            "school",
            (GroupLevel("class", NESTED),),
            (LevelEffects(True, False, True), LevelEffects(True, False, True)),
            fixed=("hours",),
            slope="hours",
        ),
    ],
)
def test_fitted_at_sample_rows_is_the_full_fits_fitted(spec):
    frame = _frame()
    content = frame.to_csv(index=False).encode()
    big = upload.read_upload(content, "big.csv", sample_rows=400)
    full = fit_lmm(frame, spec)
    fit = fit_engine(big.engine(), spec)
    assert fit.fitted is None
    fitted, residuals = fitted_at(fit, big.sample)
    complete = frame.dropna(subset=list(spec.columns)).index
    rows = [r for r in upload.sample_indices(3000, 400) if r in complete]
    at = np.searchsorted(complete, rows)
    np.testing.assert_allclose(fitted, full.fitted[at], rtol=1e-6)
    np.testing.assert_allclose(residuals, full.residuals[at], rtol=1e-5, atol=1e-6)


def test_upload_engine_reads_as_the_upload_reader():
    frame = _frame(200)
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    engine = upload.upload_engine(buffer.getvalue(), "up.parquet")
    assert engine.run(f"SELECT COUNT(*) AS n FROM {engine.source}").column(0)[0].as_py() == 200
    with pytest.raises(DataError, match="unsupported file type"):
        upload.read_upload(b"x", "data.xls")


def test_threshold_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(upload, "BIG_UPLOAD_BYTES", 10)
    assert upload.is_big(11, "a.csv") and not upload.is_big(10, "a.csv")
    assert not upload.is_big(11, "a.xlsx")
    monkeypatch.setenv(upload.THRESHOLD_ENV, "100")
    assert not upload.is_big(11, "a.parquet") and upload.is_big(101, "a.parquet")


def test_factor_sizes_count_every_row():
    from lib.model.nesting import factor_sizes

    frame = _frame()
    frame.loc[3, "class"] = None
    big = upload.read_upload(frame.to_csv(index=False).encode(), "big.csv", sample_rows=100)
    got = overview.factor_sizes(big.engine(), ["school", "class"])
    pd.testing.assert_frame_equal(got, factor_sizes(frame, ["school", "class"]))
