"""data/schools.csv reproduces the tutorial's printed descriptive and lm output.

The data set is a reconstruction (see data/README.md): these tests pin every
number the tutorial printed for its school means/SDs and its ``lm`` fits.  All
of them are exact algebra of the per-school sufficient statistics, so each
printed digit must match: a value printed with d decimals must lie within half
a unit of the d-th decimal (``printed``).  Fits use statsmodels on plain arrays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

CSV = Path(__file__).resolve().parents[1] / "data" / "schools.csv"
SCHOOLS = ("Hillcrest", "Oakwood", "St Mary\u2019s")  # typographic apostrophe, as R printed
QUANTILE_PROBS = [0.0, 0.25, 0.5, 0.75, 1.0]


def decimals(text: str) -> int:
    """Number of decimals of a printed number ("0.1188" -> 4, "3.395e-13" -> 16)."""
    mantissa, _, exponent = text.lower().partition("e")
    places = len(mantissa.partition(".")[2])
    return places - int(exponent or 0)


def assert_printed(value: float, text: str, what: str = "") -> None:
    """``value`` rounds to the printed ``text`` (half a unit in its last digit)."""
    half = 0.5 * 10.0 ** (-decimals(text))
    assert abs(value - float(text)) <= half * (1 + 1e-9), f"{what}: {value!r} vs printed {text}"


def assert_all_printed(values, texts, what: str = "") -> None:
    assert len(values) == len(texts)
    for i, (v, t) in enumerate(zip(values, texts, strict=True)):
        assert_printed(float(v), t, f"{what}[{i}]")


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return pd.read_csv(CSV, encoding="utf-8")


@pytest.fixture(scope="module")
def arrays(df):
    x = df["study_time"].to_numpy(float)
    y = df["test_score"].to_numpy(float)
    school = df["school"].to_numpy(str)
    return x, y, school


def ols(y: np.ndarray, columns: list[np.ndarray]):
    exog = np.column_stack([np.ones_like(y), *columns])
    return sm.OLS(y, exog).fit()


def quantiles(resid: np.ndarray) -> np.ndarray:
    return np.quantile(resid, QUANTILE_PROBS)  # R's default type 7


# --- the data set itself ------------------------------------------------------


def test_columns_and_sizes(df):
    assert list(df.columns) == ["school", "study_time", "test_score"]
    assert len(df) == 183  # "183 students (level 1) nested within 3 schools"
    assert df["school"].value_counts().to_dict() == {
        "Hillcrest": 60,
        "Oakwood": 69,
        "St Mary\u2019s": 54,
    }
    assert sorted(df["school"].unique()) == list(SCHOOLS)  # R's factor level order


def test_values_are_plausible(df):
    assert df.notna().all().all()
    assert (df["study_time"] > 0).all()  # hours studied
    assert df["study_time"].between(1.0, 18.0).all()
    assert df["test_score"].between(0, 100).all()  # percent


def test_school_means_and_sds(arrays):
    x, y, school = arrays
    means = [y[school == s].mean() for s in SCHOOLS]
    sds = [y[school == s].std(ddof=1) for s in SCHOOLS]
    assert_all_printed(means, ["48.84623", "39.32777", "47.19057"], "mean")
    assert_all_printed(sds, ["4.446091", "6.527925", "8.718307"], "sd")
    # "Difference" table: Oakwood - Hillcrest, St Mary's - Hillcrest
    assert_all_printed([means[1] - means[0], means[2] - means[0]], ["-9.518", "-1.656"])


# --- lm(test_score ~ study_time) ---------------------------------------------


def test_pooled_lm(arrays):
    x, y, _ = arrays
    fit = ols(y, [x])
    assert_all_printed(fit.params, ["26.799339", "2.019198"], "coef")
    assert_all_printed(fit.bse, ["1.2427", "0.1326"], "se")
    assert_all_printed(fit.tvalues, ["21.57", "15.23"], "t")
    assert fit.df_resid == 181
    assert_printed(np.sqrt(fit.scale), "5.266", "sigma")
    assert_printed(fit.rsquared, "0.5616", "R2")
    assert_printed(fit.rsquared_adj, "0.5592", "adj R2")
    assert_printed(fit.fvalue, "231.9", "F")
    assert fit.f_pvalue < 2.2e-16


# --- lm(test_score ~ study_time + school) -----------------------------------


def test_dummy_lm(arrays):
    x, y, school = arrays
    fit = ols(y, [x, (school == SCHOOLS[1]).astype(float), (school == SCHOOLS[2]).astype(float)])
    assert_all_printed(fit.params, ["30.8526985", "1.9488407", "-8.5188314", "-0.7293296"], "coef")
    assert_all_printed(fit.bse, ["0.92193", "0.08736", "0.61211", "0.65003"], "se")
    assert_all_printed(fit.tvalues, ["33.465", "22.308", "-13.917", "-1.122"], "t")
    assert_printed(fit.pvalues[3], "0.263", "p schoolSt Mary's")
    assert fit.df_resid == 179
    assert_printed(np.sqrt(fit.scale), "3.458", "sigma")
    assert_printed(fit.rsquared, "0.8130", "R2")  # printed "0.813" (formatC, 4 digits)
    assert_printed(fit.rsquared_adj, "0.8099", "adj R2")
    assert_printed(fit.fvalue, "259.4", "F")


# --- one lm per school -------------------------------------------------------

PER_SCHOOL = {
    # coef() (6 decimals), summary(): SE, t, sigma, R2, adj R2, F.  summary()'s
    # estimates add nothing to coef(); R's printCoefmat rounds twice, which is
    # why it shows St Mary's intercept 22.549534 as "22.549".
    "Hillcrest": {
        "coef": ["38.579145", "1.112006"],
        "se": ["1.1562", "0.1188"],
        "t": ["33.37", "9.36"],
        "sigma": "2.830",  # printed "2.83" = signif(sigma, 4)
        "r2": "0.6017",
        "adj_r2": "0.5948",
        "F": "87.61",
        "df": 58,
    },
    "Oakwood": {
        "coef": ["21.145910", "2.085074"],
        "se": ["1.1579", "0.1265"],
        "t": ["18.26", "16.48"],
        "sigma": "2.925",
        "r2": "0.8022",
        "adj_r2": "0.7992",
        "F": "271.7",
        "df": 67,
    },
    "St Mary\u2019s": {
        "coef": ["22.549534", "2.813669"],
        "se": ["1.108", "0.120"],
        "t": ["20.35", "23.45"],
        "sigma": "2.587",
        "r2": "0.9136",
        "adj_r2": "0.9119",
        "F": "549.9",
        "df": 52,
    },
}


@pytest.mark.parametrize("name", list(PER_SCHOOL))
def test_per_school_lm(arrays, name):
    x, y, school = arrays
    p = PER_SCHOOL[name]
    fit = ols(y[school == name], [x[school == name]])
    assert fit.df_resid == p["df"]
    assert_all_printed(fit.params, p["coef"], "coef")
    assert_all_printed(fit.bse, p["se"], "se")
    assert_all_printed(fit.tvalues, p["t"], "t")
    assert_printed(np.sqrt(fit.scale), p["sigma"], "sigma")
    assert_printed(fit.rsquared, p["r2"], "R2")
    assert_printed(fit.rsquared_adj, p["adj_r2"], "adj R2")
    assert_printed(fit.fvalue, p["F"], "F")
    if name == "Hillcrest":
        assert_printed(fit.f_pvalue, "3.395e-13", "F p-value")
        assert_printed(fit.pvalues[1], "3.4e-13", "slope p-value")


# --- residual quantiles (depend on individual students) ----------------------
# Unlike everything above these are not functions of the sufficient statistics;
# data/make_schools.py places the students so that they, too, round to the
# printout (see data/README.md).

RESIDUAL_QUANTILES = {
    "pooled": ["-13.1068", "-4.5792", "0.5577", "4.1368", "11.4546"],
    "dummy": ["-8.9832", "-2.2652", "-0.0306", "2.0228", "8.8218"],
    "Hillcrest": ["-6.4931", "-2.3417", "0.1974", "1.8648", "6.5145"],
    "Oakwood": ["-8.1658", "-1.8990", "-0.0618", "1.6902", "6.9972"],
    "St Mary\u2019s": ["-6.1570", "-1.6024", "-0.1778", "1.6068", "6.7457"],
}


@pytest.mark.parametrize("name", list(RESIDUAL_QUANTILES))
def test_lm_residual_quantiles(arrays, name):
    x, y, school = arrays
    if name == "pooled":
        resid = ols(y, [x]).resid
    elif name == "dummy":
        dummies = [(school == s).astype(float) for s in SCHOOLS[1:]]
        resid = ols(y, [x, *dummies]).resid
    else:
        resid = ols(y[school == name], [x[school == name]]).resid
    q = quantiles(np.asarray(resid))
    assert_all_printed(q, RESIDUAL_QUANTILES[name], f"{name} residual quantiles")
