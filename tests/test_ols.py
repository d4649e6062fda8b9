"""lib.ols.regressions against R's summary(lm(...)) (tests/reference/lm_reference.json).

The reference comes from tests/reference/make_lm_reference.R; the data sets
are read from the CSV files R wrote, so both sides see the same doubles. OLS
is exact algebra, so the tolerance is 1e-9 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, ExplorerError, SpecError
from lib.ols.regressions import OlsFit, PerGroupOls, fit_ols, fit_per_group

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads((ROOT / "tests/reference/lm_reference.json").read_text(encoding="utf-8"))
DATASETS = REFERENCE["datasets"]
RTOL = 1e-9


def load(name: str) -> pd.DataFrame:
    """A reference data set exactly as R read it (pandas 3 parses doubles correctly rounded)."""
    path = ROOT / DATASETS[name]["file"]
    return pd.read_csv(path, encoding="utf-8")


def arr(values) -> np.ndarray:
    """JSON list (null = R's NA) as a float array."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def close(actual, expected, *, rtol: float = RTOL, scale_atol: float = 1e-12) -> None:
    """Relative comparison; NaN must match NaN (R's NA).

    ``scale_atol`` is relative to the largest expected magnitude, for entries
    that are near zero only by cancellation (residuals, covariances).
    """
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    assert actual.shape == expected.shape
    finite = expected[np.isfinite(expected)]
    atol = scale_atol * (np.abs(finite).max() if finite.size else 0.0)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True)


def categorical_for(info: dict, predictors: list[str]) -> list[str]:
    # The R script turns the group column into a factor (numeric IDs included).
    return [info["group"]] if info["group"] in predictors else []


def check_fit(fit: OlsFit, ref: dict) -> None:
    assert isinstance(fit, OlsFit)
    assert fit.names == tuple(ref["names"])
    close(fit.coef, arr(ref["coef"]))
    close(fit.se, arr(ref["se"]))
    close(fit.t, arr(ref["t"]))
    # p values are compared relatively even when tiny (no absolute slack).
    close(fit.p, arr(ref["p"]), scale_atol=0.0)
    assert fit.aliased.tolist() == ref["aliased"]
    close(fit.resid_quantiles, arr(ref["resid_quantiles"]))
    close(fit.sigma, ref["sigma"])
    assert fit.df_resid == ref["df_resid"]
    close(fit.r2, ref["r2"], scale_atol=0.0)
    close(fit.adj_r2, ref["adj_r2"], scale_atol=0.0)
    close(fit.fstat, np.nan if ref["fstat"] is None else ref["fstat"])
    assert fit.f_df_num == ref["f_df_num"]
    assert fit.f_df_den == ref["f_df_den"]
    close(fit.f_p, np.nan if ref["f_p"] is None else ref["f_p"], scale_atol=0.0)
    assert fit.nobs == ref["nobs"]
    close(fit.fitted, arr(ref["fitted"]))
    close(fit.residuals, arr(ref["residuals"]))
    close(fit.vcov, np.array([arr(row) for row in ref["vcov"]]))


WHOLE_FITS = [(ds, model) for ds, info in DATASETS.items() for model in info["fits"]]


@pytest.mark.parametrize(("dataset", "model"), WHOLE_FITS, ids=[f"{d}-{m}" for d, m in WHOLE_FITS])
def test_fit_ols_matches_r(dataset: str, model: str) -> None:
    info = DATASETS[dataset]
    predictors = info["predictors"][model]
    fit = fit_ols(
        load(dataset), info["outcome"], predictors, categorical=categorical_for(info, predictors)
    )
    check_fit(fit, info["fits"][model])
    assert fit.n_dropped == info["n_dropped"][model]
    assert fit.outcome == info["outcome"]


@pytest.mark.parametrize("dataset", list(DATASETS))
def test_fit_per_group_matches_r(dataset: str) -> None:
    info = DATASETS[dataset]
    ref = info["per_group"]
    frame = load(dataset)
    g = info["group"]
    excluded = set(ref["excluded"])
    frame = frame[~frame[g].astype(str).isin(excluded)]
    res = fit_per_group(frame, info["outcome"], [info["predictor"]], g)
    assert isinstance(res, PerGroupOls)
    assert res.levels == tuple(ref["levels"])
    assert len(res.fits) == len(ref["fits"])
    for fit, fit_ref in zip(res.fits, ref["fits"], strict=True):
        check_fit(fit, fit_ref)
    assert res.n_dropped == ref["n_dropped"]
    expected = np.array([arr(f["coef"]) for f in ref["fits"]])
    close(res.coef_matrix(), expected)
    assert res.coef_matrix().shape == (len(ref["levels"]), len(res.names))


def test_constant_predictor_in_a_group_gives_nan_slope() -> None:
    # In "edge", every row of group "alpha" has x = 4.25: R gives NA for the slope.
    frame = load("edge")
    frame = frame[frame["grp"] != "solo"]
    res = fit_per_group(frame, "y", ["x"], "grp")
    assert res.aliased_levels == ("alpha",)
    alpha = res.fits[res.levels.index("alpha")]
    assert np.isnan(alpha.coef[1]) and alpha.aliased.tolist() == [False, True]
    assert np.isfinite(alpha.coef[0]) and alpha.rank == 1
    # No F test for what is left (an intercept): R^2 = 0 as summary.lm reports.
    assert np.isnan(alpha.fstat) and alpha.r2 == 0.0 and alpha.f_df_num == 0
    assert np.isnan(res.coef_matrix()[res.levels.index("alpha"), 1])


def test_one_row_group_is_a_clear_error() -> None:
    with pytest.raises(DataError, match="group 'solo' of 'grp'") as err:
        fit_per_group(load("edge"), "y", ["x"], "grp")
    assert "at least 3" in str(err.value)


def test_exactly_collinear_predictor_is_aliased_like_r() -> None:
    fit = fit_ols(load("edge"), "y", ["x", "x2"])
    assert fit.aliased.tolist() == [False, False, True]
    assert np.isnan(fit.vcov[2]).all() and np.isnan(fit.vcov[:, 2]).all()
    # Nearly collinear is not aliased: only exact (to 1e-7) dependence is.
    frame = load("edge")
    frame["x3"] = frame["x2"] + np.linspace(0, 0.01, len(frame))
    assert not fit_ols(frame, "y", ["x", "x3"]).aliased.any()


def test_numeric_group_codes_are_slopes_unless_categorical() -> None:
    frame = load("codes")
    as_number = fit_ols(frame, "weight", ["week", "pig"])
    assert as_number.names == ("(Intercept)", "week", "pig")
    as_factor = fit_ols(frame, "weight", ["week", "pig"], categorical=["pig"])
    # factor(c(101, 2, 10, 7)) orders levels numerically: 2 < 7 < 10 < 101.
    assert as_factor.names == ("(Intercept)", "week", "pig7", "pig10", "pig101")


def test_missing_values_are_dropped_and_counted() -> None:
    frame = pd.DataFrame(
        {
            "y": [1.0, 2.5, np.nan, 4.0, 5.5, 5.0, np.inf],
            "x": [1.0, 2.0, 3.0, None, 5.0, 6.0, 7.0],
        }
    )
    fit = fit_ols(frame, "y", ["x"])
    assert (fit.nobs, fit.n_dropped) == (4, 3)
    used = frame.iloc[[0, 1, 4, 5]]
    slope, intercept = np.polyfit(used["x"], used["y"], 1)
    close(fit.coef, [intercept, slope])
    close(fit.residuals, used["y"] - (intercept + slope * used["x"]), scale_atol=1e-12)


def test_non_numeric_outcome_names_the_column() -> None:
    frame = pd.DataFrame({"y": ["a", "b", "c", "d"], "x": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(DataError, match="outcome 'y' must be numeric"):
        fit_ols(frame, "y", ["x"])


def test_missing_column_is_a_data_error() -> None:
    with pytest.raises(DataError, match="'nope' is not in the data"):
        fit_ols(load("schools"), "test_score", ["nope"])


def test_too_few_rows() -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, np.nan], "x": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match="Only 2 complete row") as err:
        fit_ols(frame, "y", ["x"])
    assert "dropping 1" in str(err.value)


@pytest.mark.parametrize(
    ("outcome", "predictors", "group", "message"),
    [
        ("y", ["y"], "g", "also listed as a predictor"),
        ("y", ["x", "x"], "g", "listed twice"),
        ("y", ["x"], "x", "cannot also be the outcome or a predictor"),
    ],
)
def test_inconsistent_roles_are_spec_errors(outcome, predictors, group, message) -> None:
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0, 5.0], "x": [1.0, 2.0, 4.0, 3.0], "g": list("aabb")})
    with pytest.raises(SpecError, match=message):
        fit_per_group(frame, outcome, predictors, group)


def test_errors_share_the_project_base_class() -> None:
    with pytest.raises(ExplorerError):
        fit_ols(pd.DataFrame({"y": [1.0]}), "y", [])


def test_results_are_frozen() -> None:
    fit = fit_ols(load("schools"), "test_score", ["study_time"])
    with pytest.raises(AttributeError):
        fit.sigma = 0.0  # type: ignore[misc]


def test_oversized_dummy_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import lib.ols.regressions

    frame = load("schools")
    # 3 coefficients x 42 rows fit under a cap of 130 cells; 4 do not.
    monkeypatch.setattr(lib.ols.regressions, "MAX_DESIGN_CELLS", 130)
    fit_ols(frame, "test_score", ["school"])
    with pytest.raises(DataError, match="needs 4 coefficients \\('school' alone has 2\\)"):
        fit_ols(frame, "test_score", ["study_time", "school"])


def test_per_group_without_complete_rows() -> None:
    frame = pd.DataFrame({"y": [1.0, np.nan], "x": [np.nan, 2.0], "g": ["a", "b"]})
    with pytest.raises(DataError, match="2 rows dropped"):
        fit_per_group(frame, "y", ["x"], "g")
