"""The GLMM engine (Laplace, nAGQ = 1) against glmer
(tests/reference/glmm_engine_check.R -> glmm_engine_check.json).

Reference: glmer with optimizer = "bobyqa" in both stages, tolPwrss = 1e-13,
rhoend = 1e-10 ("tight"); the brief's control (Nelder-Mead in stage 2, "brief")
must not beat us either. Tolerances (docs/glmm-design.md 3.4): logLik 1e-6
relative and never below lme4's (lme4's value lags one PIRLS iterate, ours is
the converged Laplace deviance, so ours is higher by 1e-8 .. 1e-5); beta within
2e-3 SE; SEs and SDs 2e-3 relative (glmer's printed SEs are plain central
differences of its lagged deviance, ~1e-5 of noise here).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lib.errors import DataError, SpecError
from lib.glmm.family import family
from lib.glmm.fit import fit_glmm
from lib.glmm.laplace import LaplaceObjective, laplace_value
from lib.glmm.pirls import Pirls, Response
from lib.model.design import build_design
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, RandomTerm

HERE = Path(__file__).parent / "reference"
REF = json.loads((HERE / "glmm_engine_check.json").read_text())

CBPP = pd.read_csv(HERE / "data" / "glmm_engine_cbpp.csv", dtype={"herd": str, "period": str})
GROUSE = pd.read_csv(
    HERE / "data" / "glmm_engine_grouse.csv", dtype={"YEAR": str, "BROOD": str, "LOCATION": str}
)
CBPP_SPEC = ModelSpec(outcome="incidence", fixed=("period",), random=(RandomTerm(group=("herd",)),))
GROUSE_SPEC = ModelSpec(
    outcome="TICKS", fixed=("YEAR", "cHEIGHT"), random=(RandomTerm(group=("BROOD",)),)
)
# Two nested scalar terms: the blocked factor with a second block.
GROUSE_TWO_SPEC = dataclasses.replace(
    GROUSE_SPEC, random=(RandomTerm(group=("BROOD",)), RandomTerm(group=("LOCATION",)))
)

CONTRACEPTION = pd.read_csv(
    HERE / "data" / "glmm_engine_contraception.csv",
    dtype={"livch": "category", "district": str},
)
# A correlated random intercept and slope (q = 2) on 0/1 data.
CONTRACEPTION_SPEC = ModelSpec(
    outcome="use",
    fixed=("age", "urban", "livch"),
    random=(RandomTerm(group=("district",), slopes=("urban",)),),
)
OWLS = pd.read_csv(HERE / "data" / "glmm_engine_owls.csv", dtype={"Nest": str})
OWLS_SPEC = ModelSpec(
    outcome="SiblingNegotiation",
    fixed=("FoodTreatment", "SexParent", "ArrivalTime"),
    random=(RandomTerm(group=("Nest",)),),
)

# Crossed terms: LOCATION (63 levels) x YEAR (3), the YEAR block fills in (dense).
GROUSE_CROSSED_SPEC = ModelSpec(
    outcome="TICKS",
    fixed=("cHEIGHT",),
    random=(RandomTerm(group=("LOCATION",)), RandomTerm(group=("YEAR",))),
)


@pytest.fixture(scope="module")
def fits() -> dict:
    return {
        "cbpp": fit_glmm(CBPP, CBPP_SPEC, ResponseFamily("binomial", trials="size")),
        "cbpp_probit": fit_glmm(
            CBPP, CBPP_SPEC, ResponseFamily("binomial", link="probit", trials="size")
        ),
        "grouse": fit_glmm(GROUSE, GROUSE_SPEC, ResponseFamily("poisson")),
        "grouse_two": fit_glmm(GROUSE, GROUSE_TWO_SPEC, ResponseFamily("poisson")),
        "grouse_crossed": fit_glmm(GROUSE, GROUSE_CROSSED_SPEC, ResponseFamily("poisson")),
        "contraception_slope": fit_glmm(
            CONTRACEPTION, CONTRACEPTION_SPEC, ResponseFamily("binomial")
        ),
        "owls_offset": fit_glmm(OWLS, OWLS_SPEC, ResponseFamily("poisson", offset="logBroodSize")),
    }


def values(d: dict) -> np.ndarray:
    return np.array(list(d.values()), dtype=float)


CASES = [
    "cbpp",
    "grouse",
    "grouse_two",
    "grouse_crossed",
    "cbpp_probit",
    "contraception_slope",
    "owls_offset",
]


@pytest.mark.parametrize("case", CASES)
def test_loglik_matches_and_is_never_below_glmer(fits: dict, case: str) -> None:
    fit = fits[case]
    for control in ("tight", "brief"):
        want = REF[case][control]["loglik"]
        assert fit.loglik >= want
        assert fit.loglik == pytest.approx(want, rel=1e-6)


@pytest.mark.parametrize("case", CASES)
def test_information_criteria(fits: dict, case: str) -> None:
    fit, want = fits[case], REF[case]["tight"]
    assert fit.aic == pytest.approx(want["aic"], rel=1e-8)
    assert fit.bic == pytest.approx(want["bic"], rel=1e-8)
    assert fit.deviance == pytest.approx(want["deviance_summary"], rel=1e-8)
    assert fit.deviance_conditional == pytest.approx(want["deviance_conditional"], rel=1e-5)
    assert fit.df_resid == want["df_resid"]
    assert fit.nobs == want["nobs"]


@pytest.mark.parametrize("case", CASES)
def test_fixed_effects_and_standard_errors(fits: dict, case: str) -> None:
    fit, want = fits[case], REF[case]["tight"]
    assert fit.fixef_names == tuple(want["fixef"])
    se = values(want["se_default"])
    assert np.all(np.abs(fit.beta - values(want["fixef"])) <= 2e-3 * se)
    np.testing.assert_allclose(fit.se, se, rtol=2e-3)
    np.testing.assert_allclose(fit.z, values(want["z"]), rtol=2e-3)
    # On the log scale: a 1e-3 relative change of z moves a p of 1e-54 by 50%.
    np.testing.assert_allclose(np.log(fit.p_value), np.log(values(want["p"])), rtol=5e-3)
    # glmer's vcov(use.hessian = FALSE): R_X at the mode's weights.
    np.testing.assert_allclose(
        np.sqrt(np.diag(fit.vcov_conditional)), values(want["se_rx"]), rtol=2e-4
    )


@pytest.mark.parametrize("case", CASES)
def test_variance_components_and_modes(fits: dict, case: str) -> None:
    fit, want = fits[case], REF[case]["tight"]
    np.testing.assert_allclose(fit.theta, want["theta"], rtol=2e-3)
    sds = np.concatenate([t.sd for t in fit.varcorr])
    np.testing.assert_allclose(sds, want["sd"], rtol=2e-3)
    correlations = [
        t.correlation[i, j]
        for t in fit.varcorr
        for i, j in zip(*np.tril_indices(t.covariance.shape[0], -1), strict=True)
    ]
    np.testing.assert_allclose(correlations, np.atleast_1d(want["cor"]), rtol=2e-3)
    ranef = fit.ranef[0]
    order = [ranef.levels.index(level) for level in want["ranef_levels"]]
    q = ranef.modes.shape[1]
    modes = np.asarray(want["ranef_all"], dtype=float).reshape(-1, q)
    np.testing.assert_allclose(ranef.modes[order], modes, rtol=2e-3, atol=1e-4)
    # postVar is a q x q x G array, flattened in R's column-major order.
    condvar = np.asarray(want["ranef_var"]).reshape(-1, q, q).transpose(0, 2, 1)
    np.testing.assert_allclose(ranef.condvar[order], condvar, rtol=2e-3, atol=1e-8)


def test_laplace_deviance_at_glmers_estimates_is_just_below_its_value() -> None:
    """At glmer's own parameters the converged Laplace deviance is below glmer's by
    its PIRLS lag only (1.3e-8 on cbpp, docs/glmm-design.md 1.2)."""
    d = build_design(CBPP, CBPP_SPEC)
    trials = CBPP["size"].to_numpy(dtype=float)
    resp = Response(d.y / trials, trials, trials, np.zeros(d.nobs))
    fam = family("binomial")
    pirls = Pirls(d, fam, resp)
    start = pirls.run(
        np.ones(1),
        [np.zeros((1, 15))],
        np.zeros(4),
        joint=True,
        eta0=fam.linkfun(fam.mustart(resp.y, resp.weights)),
    )
    assert laplace_value(pirls, start) > 184.06  # not yet at the optimum
    want = REF["cbpp"]["tight"]
    params = np.concatenate([np.atleast_1d(want["theta"]), values(want["fixef"])])
    value = LaplaceObjective(pirls, start, 1, joint=False)(params)
    lag = want["deviance_summary"] - value
    assert 0.0 <= lag < 5e-8


def test_zero_one_outcome_equals_the_expanded_trials() -> None:
    """cbpp as one 0/1 row per animal gives the same fit as successes of trials
    (the binomial constants differ: lchoose terms, only in logLik)."""
    rows = []
    for _, r in CBPP.iterrows():
        rows += [{"herd": r.herd, "period": r.period, "y": 1.0}] * int(r.incidence)
        rows += [{"herd": r.herd, "period": r.period, "y": 0.0}] * int(r["size"] - r.incidence)
    binary = pd.DataFrame(rows)
    spec = dataclasses.replace(CBPP_SPEC, outcome="y")
    fit = fit_glmm(binary, spec, ResponseFamily("binomial"))
    want = REF["cbpp"]["tight"]
    assert np.all(np.abs(fit.beta - values(want["fixef"])) <= 2e-3 * values(want["se_default"]))
    np.testing.assert_allclose(fit.theta, want["theta"], rtol=2e-3)
    assert fit.nobs == int(CBPP["size"].sum())


def test_bad_responses_are_refused_clearly() -> None:
    with pytest.raises(DataError, match="0/1"):
        fit_glmm(CBPP, CBPP_SPEC, ResponseFamily("binomial"))
    bad = CBPP.assign(size=CBPP["incidence"] - 1)
    with pytest.raises(DataError):
        fit_glmm(bad, CBPP_SPEC, ResponseFamily("binomial", trials="size"))
    with pytest.raises(DataError, match="counts"):
        fit_glmm(GROUSE.assign(TICKS=-GROUSE["TICKS"]), GROUSE_SPEC, ResponseFamily("poisson"))
    with pytest.raises(SpecError, match="link"):
        fit_glmm(GROUSE, GROUSE_SPEC, ResponseFamily("poisson", link="logit"))


def test_bad_columns_and_specs_are_refused_clearly() -> None:
    with pytest.raises(DataError, match="no_such_column"):
        fit_glmm(CBPP, CBPP_SPEC, ResponseFamily("binomial", trials="no_such_column"))
    with pytest.raises(DataError, match="numeric"):
        fit_glmm(
            OWLS.assign(logBroodSize="x"),
            OWLS_SPEC,
            ResponseFamily("poisson", offset="logBroodSize"),
        )
    with pytest.raises(SpecError, match="trials"):
        fit_glmm(GROUSE.assign(n=1), GROUSE_SPEC, ResponseFamily("poisson", trials="n"))


def test_rows_missing_the_trials_are_dropped_and_counted() -> None:
    holes = CBPP.assign(size=CBPP["size"].where(CBPP.index != 0))
    fit = fit_glmm(holes, CBPP_SPEC, ResponseFamily("binomial", trials="size"))
    assert fit.nobs == len(CBPP) - 1
    assert fit.n_dropped == 1


def test_singular_fit_lands_on_the_bound_with_the_glm_numbers() -> None:
    """Every group holds the counts 1, 2, 3, 4: no between-group variation, so theta
    is 0 (lme4's boundary check), the modes are 0, the deviance is the Poisson GLM's
    -2 log L at mu = 2.5 and SE(intercept) = 1 / sqrt(n mu) (theta held on its bound)."""
    frame = pd.DataFrame(
        {"y": np.tile([1.0, 2.0, 3.0, 4.0], 10), "g": np.repeat([f"g{i}" for i in range(10)], 4)}
    )
    spec = ModelSpec(outcome="y", random=(RandomTerm(group=("g",)),))
    fit = fit_glmm(frame, spec, ResponseFamily("poisson"))
    assert fit.theta[0] == 0.0
    assert fit.beta[0] == pytest.approx(np.log(2.5), abs=1e-6)
    loglik = float(stats.poisson.logpmf(frame["y"], 2.5).sum())
    assert fit.loglik == pytest.approx(loglik, rel=1e-10)
    assert fit.se[0] == pytest.approx(1.0 / np.sqrt(40 * 2.5), rel=1e-5)
    np.testing.assert_allclose(fit.ranef[0].modes, 0.0, atol=1e-12)


def test_nagq0_is_glmers_first_stage() -> None:
    """nAGQ = 0: theta by BOBYQA with beta from the joint PIRLS, vcov from R_X."""
    fit = fit_glmm(CBPP, CBPP_SPEC, ResponseFamily("binomial", trials="size"), nagq=0)
    want = REF["cbpp_nagq0"]["tight"]
    assert fit.nagq == 0
    assert fit.loglik >= want["loglik"]
    assert fit.loglik == pytest.approx(want["loglik"], rel=1e-8)
    se = values(want["se_default"])
    assert np.all(np.abs(fit.beta - values(want["fixef"])) <= 2e-3 * se)
    # No Hessian and no PIRLS lag in R_X's weights: agreement to ~4e-10 measured.
    np.testing.assert_allclose(fit.se, se, rtol=1e-6)
    np.testing.assert_allclose(fit.theta, want["theta"], rtol=1e-6)
    assert fit.evaluations[1] == 0
    with pytest.raises(SpecError, match="nAGQ"):
        fit_glmm(CBPP, CBPP_SPEC, ResponseFamily("binomial", trials="size"), nagq=26)


@pytest.mark.parametrize("case", CASES)
def test_residuals_fitted_and_singularity(fits: dict, case: str) -> None:
    fit, want = fits[case], REF[case]["tight"]
    np.testing.assert_allclose(fit.fitted[:10], want["fitted_first"], rtol=1e-4)
    np.testing.assert_allclose(
        fit.scaled_resid_quantiles, want["scaled_resid_quantiles"], rtol=1e-4, atol=1e-6
    )
    assert fit.singular is want["singular"]
