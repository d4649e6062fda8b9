"""Confidence intervals and predictions against lme4 (tests/reference/intervals_reference.R).

Tolerances (issue 15): profile bounds within 5e-3 of the interval's width (lme4
finds the crossing on a spline through sampled points, we solve for it), Wald
bounds 1e-4 relative, predictions 1e-6 relative.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.api import lmer

REF = json.loads(Path("tests/reference/intervals_reference.json").read_text())
DATA = {
    "exam": ("tests/reference/data/formula_exam.csv", ["school", "student"]),
    "schools": ("data/schools.csv", ["school"]),
    "pastes": ("data/pastes.csv", ["batch", "cask", "sample"]),
}
MODELS = [k for k in REF if k != "versions"]


def _frame(name: str) -> pd.DataFrame:
    path, groups = DATA[name]
    return pd.read_csv(path, dtype={g: str for g in groups})


_FITS: dict = {}


def fitted(key: str):  # noqa: ANN201
    if key not in _FITS:
        _FITS[key] = lmer(REF[key]["formula"], _frame(REF[key]["data"]))
    return _FITS[key]


def _r_table(ref: dict, rows: str) -> pd.DataFrame:
    """R's confint rows with tidy()'s names (ran_pars first, as lme4 orders them)."""
    return pd.DataFrame(
        {
            "group": [g or None for g in ref["confint_groups"]],
            "term": ref["confint_names"],
            "lower": [_num(r["lower"]) for r in ref[rows]],
            "upper": [_num(r["upper"]) for r in ref[rows]],
        }
    )


def _num(value) -> float:  # noqa: ANN001
    return np.nan if value == "NA" else float(value)


def _joined(ours: pd.DataFrame, ref: dict, rows: str) -> pd.DataFrame:
    r = _r_table(ref, rows)
    ours = ours.assign(group=[g if isinstance(g, str) else None for g in ours["group"]])
    merged = r.merge(ours, on=["group", "term"], how="left", validate="one_to_one")
    assert len(merged) == len(ours)
    return merged


#: lme4's bounds that are not the profile's crossings: the tutorial model's correlation
#: profile is far from linear (steep near -1), and lme4's spline through its few
#: samples misses the crossing: at lme4's 95% bounds (-0.9786, -0.0688) our profile
#: gives zeta = -1.49 and 1.947, not -+1.96 (``test_lme4_correlation_bounds_are_not_
#: the_crossing``); ours are the crossings to 1e-3 in zeta. Allowed 2.5% of the width.
SPLINE_MISSES = {
    ("schools", "cor__(Intercept).study_time", "conf.low"): 0.025,
    ("schools", "cor__(Intercept).study_time", "conf.high"): 0.025,
}


@pytest.mark.parametrize("key", MODELS)
@pytest.mark.parametrize(("rows", "level"), [("profile", 0.95), ("profile_90", 0.90)])
def test_profile_bounds_match_lme4(key: str, rows: str, level: float) -> None:
    ref = REF[key]
    m = _joined(fitted(key).confint("profile", level=level), ref, rows)
    width = (m["upper"] - m["lower"]).to_numpy()
    for ours, theirs in (("conf.low", "lower"), ("conf.high", "upper")):
        err = np.abs(m[ours].to_numpy() - m[theirs].to_numpy())
        tol = np.array([SPLINE_MISSES.get((key, t, ours), 5e-3) for t in m["term"]])
        assert np.all(err <= tol * width), (key, ours, m[["term", ours, theirs]], err / width)


def test_lme4_correlation_bounds_are_not_the_crossing() -> None:
    """lme4's bounds for the tutorial model's correlation are not where the profile
    crosses -+1.96 (the profiled deviance there is lower: our minimum over the other
    parameters); ours are."""
    from lib.lmm.profile import Profiler
    from lib.lmm.stats import model_stats

    pr = Profiler(model_stats(fitted("schools").design))
    index = [p.name for p in pr.params].index("cor__(Intercept).study_time")
    ref = REF["schools"]["profile"][1]
    ours = fitted("schools").confint("profile").set_index("term").loc[
        "cor__(Intercept).study_time"
    ]

    def zeta(v: float) -> float:
        return float(np.sqrt(pr._profile_phi(index, v, pr.phi)[0] - pr.deviance))

    assert zeta(ref["lower"]) < 1.7  # inside: lme4's lower bound is not the crossing
    assert zeta(ref["upper"]) < 1.955
    assert abs(zeta(ours["conf.low"]) - 1.959964) < 1e-3
    assert abs(zeta(ours["conf.high"]) - 1.959964) < 1e-3


@pytest.mark.parametrize("key", MODELS)
def test_wald_bounds_match_lme4(key: str) -> None:
    m = _joined(fitted(key).confint("wald"), REF[key], "wald")
    fixed = m["group"].isna()
    assert fixed.sum() >= 1
    for ours, theirs in (("conf.low", "lower"), ("conf.high", "upper")):
        a, b = m.loc[fixed, ours].to_numpy(), m.loc[fixed, theirs].to_numpy(dtype=float)
        np.testing.assert_allclose(a, b, rtol=1e-4)
        assert m.loc[~fixed, ours].isna().all()  # lme4: NA for variance parameters
        assert m.loc[~fixed, theirs].isna().all()


@pytest.mark.parametrize("key", MODELS)
def test_estimates_named_as_tidy(key: str) -> None:
    ref = REF[key]["estimates"]
    ours = fitted(key).confint("wald")
    assert list(ours["term"]) == ref["term"]
    assert list(ours["effect"]) == ref["effect"]
    assert [g if isinstance(g, str) else "" for g in ours["group"]] == ref["group"]
    np.testing.assert_allclose(ours["estimate"], ref["estimate"], rtol=1e-5, atol=1e-7)


def _close(ours: np.ndarray, theirs: list, scale: float) -> None:
    """1e-6 relative, and 3e-6 of the outcome's SD absolute: predictions near 0 (the
    Exam outcome is standardised) differ by lme4's own convergence (~2e-6 in beta)."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=3e-6 * scale)


@pytest.mark.parametrize("key", MODELS)
def test_predictions_on_the_data_match_lme4(key: str) -> None:
    m = fitted(key)
    data = _frame(REF[key]["data"])
    scale = float(np.std(m.design.y))
    _close(m.predict(data), REF[key]["predict_conditional"], scale)
    _close(m.predict(data, re_form="marginal"), REF[key]["predict_marginal"], scale)
    _close(m.predict(), REF[key]["predict_conditional"], scale)


@pytest.mark.parametrize("key", MODELS)
def test_predictions_for_new_rows_match_lme4(key: str) -> None:
    m = fitted(key)
    new = pd.DataFrame(REF[key]["newdata"])
    for c in new.columns:
        if new[c].dtype == object:
            new[c] = new[c].astype(str)
    scale = float(np.std(m.design.y))
    _close(m.predict(new), REF[key]["newdata_conditional"], scale)
    _close(m.predict(new, re_form="marginal"), REF[key]["newdata_marginal"], scale)
