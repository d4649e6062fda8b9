"""Predictions and effect-plot data (lib.lmm.predict) beyond the lme4 references."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lib.api import lmer
from lib.errors import DataError, SpecError

EXAM = "tests/reference/data/formula_exam.csv"


@pytest.fixture(scope="module")
def interaction():  # noqa: ANN201
    frame = pd.read_csv(EXAM, dtype={"school": str, "student": str})
    return lmer("normexam ~ standLRT * schgend + sex + (standLRT | school)", frame)


def test_predictions_on_the_data_are_the_fitted_values(interaction) -> None:  # noqa: ANN001
    np.testing.assert_allclose(interaction.predict(), interaction.fit.fitted, rtol=1e-12)
    X = interaction.design.X
    np.testing.assert_allclose(
        interaction.predict(re_form="marginal"), X @ interaction.fit.beta, rtol=1e-12
    )


def test_new_rows_with_interactions(interaction) -> None:  # noqa: ANN001
    fit = interaction.fit
    new = pd.DataFrame(
        {"standLRT": [0.5, -1.0], "schgend": ["girls", "mixed"], "sex": ["M", "F"],
         "school": ["1", "nowhere"]}
    )  # fmt: skip
    beta = dict(zip(fit.fixef_names, fit.beta, strict=True))
    expected0 = (
        beta["(Intercept)"] + 0.5 * beta["standLRT"] + beta["schgendgirls"] + beta["sexM"]
        + 0.5 * beta["standLRT:schgendgirls"]
    )  # fmt: skip
    expected1 = (beta["(Intercept)"] - beta["standLRT"] + beta["schgendmixed"]
                 - beta["standLRT:schgendmixed"])  # fmt: skip
    np.testing.assert_allclose(interaction.predict(new, re_form="marginal"), [expected0, expected1])
    school = fit.factor("school")
    k = school.levels.index("1")
    cond = interaction.predict(new)
    assert cond[0] == pytest.approx(expected0 + school.modes[k, 0] + 0.5 * school.modes[k, 1])
    assert cond[1] == pytest.approx(expected1)  # unseen school: population prediction


def test_unseen_category_is_refused(interaction) -> None:  # noqa: ANN001
    new = pd.DataFrame({"standLRT": [0.0], "schgend": ["coed"], "sex": ["F"], "school": ["1"]})
    with pytest.raises(DataError, match="'coed'.*not in the data"):
        interaction.predict(new)


def test_missing_values_give_nan_and_missing_columns_are_named(interaction) -> None:  # noqa: ANN001
    new = pd.DataFrame(
        {"standLRT": [np.nan, 1.0], "schgend": ["mixed", "mixed"], "sex": ["F", "F"],
         "school": ["1", "2"]}
    )  # fmt: skip
    out = interaction.predict(new)
    assert np.isnan(out[0]) and np.isfinite(out[1])
    with pytest.raises(DataError, match="sex"):
        interaction.predict(new.drop(columns="sex"))
    with pytest.raises(SpecError, match="re_form"):
        interaction.predict(new, re_form="NA")


def test_effect_data_numeric_predictor_categorical_moderator(interaction) -> None:  # noqa: ANN001
    eff = interaction.effects("standLRT", "schgend")
    assert list(eff.columns) == ["x", "group", "predicted", "std.error", "conf.low", "conf.high"]
    assert sorted(eff["group"].unique()) == ["boys", "girls", "mixed"]
    fit = interaction.fit
    beta = dict(zip(fit.fixef_names, fit.beta, strict=True))
    row = eff[eff["group"] == "girls"].iloc[3]
    expected = (beta["(Intercept)"] + row["x"] * beta["standLRT"] + beta["schgendgirls"]
                + row["x"] * beta["standLRT:schgendgirls"])  # fmt: skip
    assert row["predicted"] == pytest.approx(expected)  # sex at its reference level F
    x = np.zeros(len(fit.fixef_names))
    for name, value in (("(Intercept)", 1), ("standLRT", row["x"]), ("schgendgirls", 1),
                        ("standLRT:schgendgirls", row["x"])):  # fmt: skip
        x[fit.fixef_names.index(name)] = value
    assert row["std.error"] == pytest.approx(np.sqrt(x @ fit.vcov_beta @ x))
    half = row["conf.high"] - row["predicted"]
    assert half == pytest.approx(1.959964 * row["std.error"], rel=1e-5)


def test_effect_data_numeric_moderator_uses_mean_and_sd(interaction) -> None:  # noqa: ANN001
    eff = interaction.effects("schgend", "standLRT")
    values = interaction.data["standLRT"]
    labels = [f"{v:.4g}" for v in (values.mean() - values.std(), values.mean(),
                                   values.mean() + values.std())]  # fmt: skip
    assert list(dict.fromkeys(eff["group"])) == labels
    assert list(eff["x"][:3]) == ["boys", "girls", "mixed"]
    with pytest.raises(SpecError, match="not a fixed-effect predictor"):
        interaction.effects("school")
