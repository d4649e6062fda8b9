"""lme4's identifiability refusals and the numerical guards (lib.lmm.checks).

The lme4 behaviour quoted here was checked with lme4 1.1-31 on the same data
shapes: one row per group stops with "number of levels of each grouping factor
must be < number of observations (problems: g)"; 50 groups of two rows with
``(1 + x | g)`` stops with "number of observations (=100) <= number of random
effects (=100) for term (1 + x | g) ..."; the same data with ``(1 | g)`` fit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from lib.errors import DataError, FitError
from lib.lmm import anova, fit_lmm
from lib.model.design import build_design
from lib.model.spec import ModelSpec
from lib.table.roles import Roles
from lib.table.validate import validate

RNG = np.random.default_rng(7)


def frame(groups: int, per_group: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = groups * per_group
    g = np.repeat(np.arange(groups), per_group)
    x = rng.normal(size=n)
    y = 1.0 + 0.5 * x + rng.normal(size=groups)[g] + rng.normal(size=n)
    return pd.DataFrame({"g": g, "x": x, "y": y})


def spec(random: str = "intercept", correlated: bool = True) -> ModelSpec:
    slopes = ("x",) if "x" in random else ()
    return ModelSpec.one_factor(
        outcome="y", group="g", fixed=("x",), random_slopes=slopes, correlated=correlated
    )


def test_one_row_per_group_is_refused_as_lme4_does():
    with pytest.raises(FitError, match=r"Every row is its own group of 'g' \(20 groups for 20"):
        fit_lmm(frame(20, 1), spec())


def test_as_many_random_effects_as_rows_is_refused_per_term():
    data = frame(50, 2)
    with pytest.raises(FitError, match=r"number of observations \(=100\) <= number of random"):
        fit_lmm(data, spec("intercept,x"))
    # lme4 fits (1 | g) on the same rows (50 effects for 100 rows) ...
    assert fit_lmm(data, spec()).nobs == 100
    # ... and splits (1 | g) + (0 + x | g) into two terms of 50 effects each.
    assert fit_lmm(data, spec("intercept,x", correlated=False)).nobs == 100


def test_constant_outcome_is_refused_for_every_random_part():
    data = frame(20, 10).assign(y=5.0)
    for random in ("intercept", "intercept,x"):
        with pytest.raises(DataError, match=r"same value \(5\) in all 200 rows"):
            fit_lmm(data, spec(random))


def test_outcome_reproduced_by_the_fixed_effects_is_refused():
    data = frame(20, 10)
    data["y"] = 3.0 - 2.0 * data["x"]
    with pytest.raises(FitError, match="reproduce the outcome 'y' exactly"):
        fit_lmm(data, spec("intercept,x"))


@pytest.mark.parametrize("column, factor", [("x", 1e300), ("y", 1e300), ("y", 1e-300)])
def test_values_too_large_or_small_say_rescale_without_warnings(column, factor):
    data = frame(20, 10)
    data[column] = data[column] * factor
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match="Rescale it first"):
            fit_lmm(data, spec("intercept,x"))


def test_tiny_predictor_is_not_called_collinear():
    data = frame(20, 10)
    data["x"] = data["x"] * 1e-120  # small units, still computable
    design = build_design(data, spec())
    assert design.X.shape[1] == 2  # the rank check judged it in its own units
    fit = fit_lmm(data, spec())
    reference = fit_lmm(frame(20, 10), spec())
    # REML's log|R_X|^2 grows by 2 log(s) when a column is scaled by s; nothing else moves.
    shift = 2.0 * np.log(1e-120)
    assert fit.criterion == pytest.approx(reference.criterion + shift, rel=1e-8)
    assert fit.varcorr.residual_variance == pytest.approx(
        reference.varcorr.residual_variance, rel=1e-5
    )
    assert fit.beta[1] * 1e-120 == pytest.approx(reference.beta[1], rel=1e-6)


def test_truly_collinear_predictors_are_dropped_as_lme4_drops_them():
    data = frame(20, 10).assign(x2=lambda d: 2.0 * d["x"])
    model = ModelSpec.one_factor(outcome="y", group="g", fixed=("x", "x2"))
    with pytest.warns(UserWarning, match="rank deficient so dropping 1 column"):
        fit = fit_lmm(data, model)
    assert fit.fixef_names == ("(Intercept)", "x")
    assert fit.beta[1] == pytest.approx(fit_lmm(data, spec()).beta[1], rel=1e-10)


def test_logical_group_column_reports_its_sizes():
    data = frame(2, 6).assign(g=[True] * 6 + [False] * 6)
    report = validate(data, Roles(outcome="y", predictor="x", group="g"))
    assert report.group_levels == ("FALSE", "TRUE")
    assert report.group_sizes == (6, 6)


def test_one_inf_in_the_predictor_leaves_anova_working():
    data = frame(20, 10)
    data.loc[3, "x"] = np.inf
    null = ModelSpec.one_factor(outcome="y", group="g")
    result = anova(data, [null, spec()])
    assert {f.nobs for f in result.fits} == {199}


def test_text_in_the_outcome_names_the_offending_value():
    data = frame(20, 10)
    data["y"] = data["y"].astype(object)
    data.loc[17, "y"] = "abc"
    with pytest.raises(DataError, match="for example 'abc'"):
        fit_lmm(data, spec())
    with pytest.raises(DataError, match="for example 'abc'"):
        validate(data, Roles(outcome="y", predictor="x", group="g"))


def test_missing_column_names_the_separator_seen():
    data = pd.DataFrame({"g;x;y": ["a;1;2", "b;2;3"]})
    with pytest.raises(DataError, match="contains semicolons"):
        fit_lmm(data, spec())
