"""lib.present.ols_summary: per-school summary.lm lines and equations, against the tutorial's
print."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.explore.groups import mean_differences
from lib.ols.regressions import fit_per_group
from lib.present.ols_summary import dummy_equations, per_group_statistics, separate_equations
from lib.table.catalogue import load_bundled

REF = Path(__file__).resolve().parent / "reference"

# The tutorial's lapply(model, summary) output, as printed (section "Separate models").
TUTORIAL = {
    "Hillcrest": {
        "quantiles": (-6.4931, -2.3417, 0.1974, 1.8648, 6.5145),
        "Residual SE": 2.83,
        "df": 58,
        "R-squared": 0.6017,
        "Adj. R-squared": 0.5948,
        "F": 87.61,
        "p-value": 3.395e-13,
    },
    "Oakwood": {
        "quantiles": (-8.1658, -1.8990, -0.0618, 1.6902, 6.9972),
        "Residual SE": 2.925,
        "df": 67,
        "R-squared": 0.8022,
        "Adj. R-squared": 0.7992,
        "F": 271.7,
    },
    "St Mary’s": {
        "quantiles": (-6.1570, -1.6024, -0.1778, 1.6068, 6.7457),
        "Residual SE": 2.587,
        "df": 52,
        "R-squared": 0.9136,
        "Adj. R-squared": 0.9119,
        "F": 549.9,
    },
}


@pytest.fixture(scope="module")
def per_group():
    return fit_per_group(load_bundled("schools"), "test_score", ["study_time"], "school")


def _printed(value: float, printed: float) -> bool:
    """Equal to the printed number at its printed precision (4 significant digits)."""
    return abs(value - printed) <= 0.5 * 10 ** (np.floor(np.log10(abs(printed))) - 3) + 1e-12


def test_per_school_statistics_equal_the_tutorial(per_group):
    table = per_group_statistics(per_group)
    assert list(table.index) == list(TUTORIAL)
    for school, want in TUTORIAL.items():
        row = table.loc[school]
        got = row[["Min", "1Q", "Median", "3Q", "Max"]].to_numpy(float)
        np.testing.assert_allclose(got, want["quantiles"], atol=5e-5)
        assert row["df"] == want["df"] == row["den df"]
        assert row["num df"] == 1
        for key in ("Residual SE", "R-squared", "Adj. R-squared", "F"):
            assert _printed(row[key], want[key]), (school, key, row[key])
    assert abs(table.loc["Hillcrest", "p-value"] - 3.395e-13) < 5e-17


def test_per_group_statistics_equal_r_lm_reference():
    ref = json.loads((REF / "lm_reference.json").read_text())["datasets"]["schools"]
    frame = pd.read_csv(Path(__file__).resolve().parents[1] / ref["file"])
    per_group = fit_per_group(frame, ref["outcome"], [ref["predictor"]], ref["group"])
    table = per_group_statistics(per_group)
    pg = ref["per_group"]
    assert list(table.index) == pg["levels"]
    for level, fit in zip(pg["levels"], pg["fits"], strict=True):
        row = table.loc[level]
        np.testing.assert_allclose(
            row[["Min", "1Q", "Median", "3Q", "Max"]].to_numpy(float),
            fit["resid_quantiles"],
            rtol=1e-9,
            atol=1e-10,
        )
        for col, key in (
            ("Residual SE", "sigma"),
            ("R-squared", "r2"),
            ("Adj. R-squared", "adj_r2"),
        ):
            assert row[col] == pytest.approx(fit[key], rel=1e-9)
        assert row["F"] == pytest.approx(fit["fstat"], rel=1e-8)


def test_separate_equations_are_the_tutorials(per_group):
    lines = dict(separate_equations(per_group))
    # independent_models: 38.579145 + 1.112006 x, 21.145910 + 2.085074 x, 22.549534 + 2.813669 x
    assert lines["Hillcrest"] == (r"38.579 + 1.112 \cdot \text{study\_time}")
    assert lines["Oakwood"] == (r"21.146 + 2.085 \cdot \text{study\_time}")
    assert lines["St Mary’s"] == (r"22.550 + 2.814 \cdot \text{study\_time}")


def test_dummy_equations_are_the_tutorials():
    diffs = mean_differences(load_bundled("schools"), "test_score", "study_time", "school")
    lines = dict(dummy_equations(diffs.fit, diffs.levels, diffs.coef))
    assert lines["Hillcrest"] == (r"30.853 + 1.949 \cdot \text{study\_time}")
    assert lines["Oakwood"] == (
        r"30.853 + 1.949 \cdot \text{study\_time} - 8.519 "
        r"= 22.334 + 1.949 \cdot \text{study\_time}"
    )
    assert lines["St Mary’s"].endswith(r"- 0.729 = 30.123 + 1.949 \cdot \text{study\_time}")
