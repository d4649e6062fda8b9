"""lib.classroom.simulate: reproducible by seed, both methods' numbers equal lib's fits."""

from __future__ import annotations

import numpy as np
import pytest

from lib.classroom.simulate import SimSettings, mixed_spec, simulate, simulate_data, summarise
from lib.errors import SpecError
from lib.lmm import fit_lmm
from lib.ols.regressions import fit_ols

SMALL = SimSettings(n_groups=8, group_size=10, icc=0.4, n_sims=30, seed=7)


def test_same_seed_same_numbers_other_seed_other_numbers():
    a, b = simulate(SMALL), simulate(SMALL)
    for field in ("ols_est", "ols_se", "lmm_est", "lmm_se"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    c = simulate(SimSettings(**{**SMALL.__dict__, "seed": 8}))
    assert not np.array_equal(a.ols_est, c.ols_est)


def test_replicates_are_fitted_like_lib_would():
    result = simulate(SMALL)
    rng = np.random.default_rng(SMALL.seed)
    first = simulate_data(SMALL, rng)
    assert len(first) == 80 and first["g"].nunique() == 8
    ols = fit_ols(first, "y", ["x"])
    assert result.ols_est[0] == pytest.approx(ols.coef[1], rel=1e-12)
    assert result.ols_se[0] == pytest.approx(ols.se[1], rel=1e-10)
    fit = fit_lmm(first, mixed_spec(SMALL))
    assert result.lmm_est[0] == pytest.approx(fit.beta[1], rel=1e-10)
    assert result.lmm_se[0] == pytest.approx(fit.beta_se[1], rel=1e-8)


def test_ols_intervals_too_narrow_when_icc_is_large():
    result = simulate(SimSettings(n_groups=10, group_size=20, icc=0.5, n_sims=150, seed=3))
    ols, lmm = summarise(result)
    assert ols.mean_reported_se < 0.75 * ols.empirical_sd  # OLS claims more precision
    assert ols.coverage < 0.85 < lmm.coverage
    assert abs(lmm.mean_reported_se / lmm.empirical_sd - 1) < 0.2
    assert ols.coverage == pytest.approx(np.mean(result.ols_cover))


def test_random_slopes_use_the_matching_model():
    settings = SimSettings(slope_sd=0.5, n_sims=10)
    assert mixed_spec(settings).random[0].slopes == ("x",)
    assert mixed_spec(SMALL).random[0].slopes == ()


def test_progress_is_reported():
    calls = []
    simulate(SimSettings(n_sims=10, seed=2), progress=lambda done, total: calls.append(done))
    assert calls[-1] == 10


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"icc": 1.2}, r"`icc` must be in \[0.0, 0.95\], got 1.2"),
        ({"n_groups": 1}, r"`n_groups` must be in \[3, 200\]"),
        ({"n_groups": 200, "group_size": 200}, "at most 20,000"),
    ],
)
def test_bad_settings_get_a_clear_message(changes, message):
    with pytest.raises(SpecError, match=message):
        SimSettings(**changes)
