"""lib.lmer(...).confint / .predict / .effects: signatures, columns and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.api import CONFINT_COLUMNS, LmerModel, lmer
from lib.errors import SpecError


@pytest.fixture(scope="module")
def model():  # noqa: ANN201
    frame = pd.read_csv("data/schools.csv", dtype={"school": str})
    return lmer("test_score ~ study_time + (study_time | school)", frame)


def test_confint_columns_and_levels(model) -> None:  # noqa: ANN001
    wide = model.confint("wald", level=0.99)
    narrow = model.confint("Wald", level=0.5)
    assert tuple(wide.columns) == CONFINT_COLUMNS
    assert list(wide["effect"]) == ["fixed"] * 2 + ["ran_pars"] * 4
    fixed = wide["effect"] == "fixed"
    assert np.all(wide.loc[fixed, "conf.low"] < narrow.loc[fixed, "conf.low"])
    assert np.all(wide.loc[fixed, "conf.high"] > narrow.loc[fixed, "conf.high"])
    np.testing.assert_allclose(wide["estimate"], narrow["estimate"])


def test_profile_interval_contains_the_ml_estimate(model) -> None:  # noqa: ANN001
    ci = model.confint()
    assert (ci["conf.low"] < ci["conf.high"]).all()
    fixed = ci[ci["effect"] == "fixed"]
    assert (fixed["conf.low"] < fixed["estimate"]).all()
    assert (fixed["estimate"] < fixed["conf.high"]).all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"method": "bayes"}, "Unknown interval method"), ({"level": 95}, "between 0 and 1")],
)
def test_bad_arguments_are_refused(model, kwargs, message) -> None:  # noqa: ANN001
    with pytest.raises(SpecError, match=message):
        model.confint(**kwargs)


def test_model_without_its_data_says_so(model) -> None:  # noqa: ANN001
    bare = LmerModel(fit=model.fit, formula=model.formula)
    assert len(bare.confint("wald")) == 6  # Wald needs only the fit
    with pytest.raises(SpecError, match="without its data"):
        bare.confint("profile")
    with pytest.raises(SpecError, match="without its data"):
        bare.predict()
    with pytest.raises(SpecError, match="DataFrame"):
        model.predict(newdata=[1, 2])
