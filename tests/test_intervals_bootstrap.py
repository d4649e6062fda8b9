"""Parametric bootstrap (lib.lmm.bootstrap): seeding, stop flag, progress, and sanity
against lme4's confint(method = "boot") (R's RNG cannot be reproduced: loose checks)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib.api import lmer
from lib.errors import SpecError
from lib.lmm.bootstrap import Resampler, bootstrap_intervals, parametric_bootstrap

REF = json.loads(Path("tests/reference/intervals_reference.json").read_text())


@pytest.fixture(scope="module")
def tutorial():  # noqa: ANN201
    frame = pd.read_csv("data/schools.csv", dtype={"school": str})
    return lmer("test_score ~ study_time + (study_time | school)", frame)


@pytest.fixture(scope="module")
def pastes():  # noqa: ANN201
    frame = pd.read_csv("data/pastes.csv", dtype=str).astype({"strength": float})
    return lmer("strength ~ 1 + (1 | batch/cask)", frame)


def test_same_seed_same_intervals(tutorial) -> None:  # noqa: ANN001
    a = tutorial.confint("boot", nsim=20, seed=7)
    b = tutorial.confint("boot", nsim=20, seed=7)
    c = tutorial.confint("boot", nsim=20, seed=8)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["conf.low"], c["conf.low"])


def test_progress_and_stop(tutorial) -> None:  # noqa: ANN001
    seen: list[tuple[int, int]] = []
    result = tutorial.intervals(
        "boot",
        nsim=50,
        seed=1,
        progress=lambda d, n: seen.append((d, n)),
        stop=lambda: len(seen) >= 5,
    )
    assert seen == [(k, 50) for k in range(1, 6)]
    assert result.stopped and result.nsim == 5
    assert all(np.isfinite(r.conf_low) for r in result.rows)


def test_stopped_before_any_refit_gives_nan(tutorial) -> None:  # noqa: ANN001
    result = bootstrap_intervals(tutorial.fit, tutorial.design, nsim=10, stop=lambda: True)
    assert result.nsim == 0 and result.stopped
    assert all(np.isnan(r.conf_low) for r in result.rows)


def test_simulated_outcomes_have_the_fitted_moments(tutorial) -> None:  # noqa: ANN001
    """Across many draws the mean of y* is X beta and the per-row variance is
    sigma^2 + z' Sigma z (the model's marginal variance)."""
    s = Resampler(tutorial.fit, tutorial.design)
    rng = np.random.default_rng(3)
    draws = np.array([s.simulate(rng) for _ in range(4000)])
    fit, design = tutorial.fit, tutorial.design
    Z = design.terms[0].Z
    var = fit.sigma**2 + np.einsum("na,ab,nb->n", Z, fit.varcorr.terms[0].covariance, Z)
    se_mean = np.sqrt(var / 4000)
    assert np.all(np.abs(draws.mean(axis=0) - design.X @ fit.beta) < 5 * se_mean)
    np.testing.assert_allclose(draws.var(axis=0).mean(), var.mean(), rtol=0.05)


def test_refit_of_the_data_gives_the_fit(tutorial) -> None:  # noqa: ANN001
    """Refitting the statistics rebuilt from the observed y reproduces the fit."""
    s = Resampler(tutorial.fit, tutorial.design)
    values = s.refit(s.with_outcome(tutorial.design.y))
    fit = tutorial.fit
    np.testing.assert_allclose(values[:2], fit.beta, rtol=1e-6)
    assert values[-1] == pytest.approx(fit.sigma, rel=1e-6)


def test_loosely_agrees_with_lme4_boot(tutorial) -> None:  # noqa: ANN001
    """Fixed effects and sigma: 400 refits within 25% of lme4's 500-refit interval
    width of lme4's bounds (different random streams; Monte Carlo error)."""
    ours = tutorial.confint("boot", nsim=400, seed=11).set_index("term")
    ref = {r["name"]: r for r in REF["schools"]["boot_500"]}
    for name, ours_name in (("(Intercept)", "(Intercept)"), ("study_time", "study_time"),
                            ("sigma", "sd__Observation")):  # fmt: skip
        width = ref[name]["upper"] - ref[name]["lower"]
        assert abs(ours.loc[ours_name, "conf.low"] - ref[name]["lower"]) < 0.25 * width
        assert abs(ours.loc[ours_name, "conf.high"] - ref[name]["upper"]) < 0.25 * width


def test_nested_model_bootstrap(pastes) -> None:  # noqa: ANN001
    samples = parametric_bootstrap(pastes.fit, pastes.design, nsim=30, seed=2)
    assert samples.values.shape == (30, 4) and samples.failed == 0
    # the intercept's bootstrap spread is near its standard error (within 50%)
    assert np.std(samples.values[:, 0]) == pytest.approx(pastes.fit.beta_se[0], rel=0.5)


def test_bad_nsim_is_refused(tutorial) -> None:  # noqa: ANN001
    with pytest.raises(SpecError, match="bootstrap refits"):
        tutorial.confint("boot", nsim=0)
