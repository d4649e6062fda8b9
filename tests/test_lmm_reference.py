"""The engine against lme4 / lmerTest / performance, number by number.

Reference values come from tests/reference/make_lmm_reference.R (run with R;
the JSON is committed so these tests need no R). Tolerances, and why:

- criterion: 1e-6 relative. The engine may find a *lower* criterion than
  lme4's bobyqa when bobyqa stops early; then it must match the best of
  lme4's other optimizers (``criterion_best``), and every other number is
  compared with that optimizer's fit (``result_best`` in the JSON).
- fixed effects, SEs, t: 1e-5 relative (a numpy prototype of this engine
  matched lme4's fixed effects to ~1e-9 on 88 fits; SEs inherit the ~1e-5
  flatness of the criterion in theta).
- variance components, random effects, conditional variances: 1e-4 relative
  plus an absolute floor tied to the outcome's scale, because singular fits
  put lme4 at theta ~ 1e-6 where we are at exactly 0 (both are "zero").
- Satterthwaite df: 1e-3 relative: second derivatives of the deviance at two
  thetas that agree to ~1e-6 (numDeriv's Richardson steps are the same, but
  with 7 variance parameters the Hessian is ill-conditioned: two_slopes_reml
  shows 7e-4). p-values: 5e-3 relative, since d log p / d df grows with |t|.
- Singular fits: the criterion is flat along the boundary, and where lme4
  stops ~1e-12 (relative) above our optimum its theta differs by ~1e-4
  (three_seed6_full_reml); there SEs and variance components get 2e-4 and
  fitted values 1e-5 (the REML criterion is so flat near the optimum that
  ~1e-5 relative on variance components is the practical limit against lme4
  on regular fits, measured on the same 88 fits).
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from tests.lmm_reference import ROOT, fitted_case, frame, reference

CASES = [c["name"] for c in reference()["cases"]]
CRIT_RTOL = 1e-6


def _tol(case: dict, regular: float, singular: float) -> float:
    return singular if case["result"]["singular"] else regular


def _early_stop(case: dict, fit) -> bool:
    r = case["result"]
    return fit.criterion < r["criterion"] - CRIT_RTOL * abs(r["criterion"])


def _comparable(name: str):
    """The fit and the R result to compare: the best optimizer's if bobyqa stopped early."""
    case, fit = fitted_case(name)
    if _early_stop(case, fit):
        assert case.get("result_best"), f"{name}: lme4 stopped early but no result_best stored"
        case = {**case, "result": case["result_best"]}
    return case, fit


@pytest.mark.parametrize("name", CASES)
def test_criterion_loglik_aic_bic(name):
    case, fit = _comparable(name)
    r = case["result"]
    assert fit.criterion == pytest.approx(r["criterion"], rel=CRIT_RTOL)
    # Never worse than the best of lme4's three optimizers.
    assert fit.criterion <= r["criterion_best"] + CRIT_RTOL * abs(r["criterion_best"])
    assert fit.reml == (r["method"] == "REML")
    assert fit.formula == r["formula"]
    assert fit.loglik == pytest.approx(r["loglik"], rel=CRIT_RTOL)
    assert fit.aic == pytest.approx(r["aic"], rel=CRIT_RTOL)
    assert fit.bic == pytest.approx(r["bic"], rel=CRIT_RTOL)
    assert fit.nobs == r["nobs"]
    assert fit.ngroups == {fit.ranef[0].group: r["ngroups"]}


@pytest.mark.parametrize("name", CASES)
def test_fixed_effects(name):
    case, fit = _comparable(name)
    r = case["result"]
    names = list(fit.fixef_names)
    assert names == list(r["fixef"])
    scale = np.abs([r["fixef_se"][n] for n in names])
    np.testing.assert_allclose(
        fit.beta, [r["fixef"][n] for n in names], rtol=1e-5, atol=1e-6 * scale.max()
    )
    se_tol = _tol(case, 1e-5, 2e-4)
    np.testing.assert_allclose(fit.beta_se, [r["fixef_se"][n] for n in names], rtol=se_tol)
    np.testing.assert_allclose(fit.beta_t, [r["fixef_t"][n] for n in names], rtol=se_tol, atol=1e-6)
    np.testing.assert_allclose(
        np.asarray(fit.fixef_corr), np.asarray(r["fixef_corr"], float), rtol=1e-4, atol=1e-6
    )


@pytest.mark.parametrize("name", CASES)
def test_satterthwaite(name):
    case, fit = _comparable(name)
    r = case["result"]
    names = list(fit.fixef_names)
    np.testing.assert_allclose(fit.beta_df, [r["fixef_df"][n] for n in names], rtol=1e-3)
    np.testing.assert_allclose(fit.beta_p, [r["fixef_p"][n] for n in names], rtol=5e-3, atol=1e-12)


@pytest.mark.parametrize("name", CASES)
def test_variance_components(name):
    case, fit = _comparable(name)
    r = case["result"]["varcorr"]
    y_var = float(np.var(frame(case["data"])[case["spec"]["outcome"]], ddof=1))
    names = list(fit.varcorr.terms[0].names)
    assert names == list(r["variances"])
    vc_tol = _tol(case, 1e-4, 2e-4)
    expected = [r["variances"][n] for n in names]
    np.testing.assert_allclose(
        fit.varcorr.terms[0].variances, expected, rtol=vc_tol, atol=1e-7 * y_var
    )
    assert fit.varcorr.residual_variance == pytest.approx(r["residual_variance"], rel=vc_tol)
    for key, value in (r.get("corr") or {}).items():
        a, b = key.split(":")
        i, j = names.index(a), names.index(b)
        if value is None:
            continue
        if case["result"]["singular"]:
            # A correlation at a singular fit is 0/0 in the limit; lme4 reports
            # whatever its last iterate gave (often +-1). Only require a valid value.
            assert -1.0 - 1e-9 <= fit.varcorr.terms[0].correlation[i, j] <= 1.0 + 1e-9 or np.isnan(
                fit.varcorr.terms[0].correlation[i, j]
            )
        else:
            assert fit.varcorr.terms[0].correlation[i, j] == pytest.approx(
                value, rel=1e-4, abs=1e-5
            )


@pytest.mark.parametrize("name", CASES)
def test_random_effects_and_condvar(name):
    case, fit = _comparable(name)
    r = case["result"]
    y_sd = float(np.std(frame(case["data"])[case["spec"]["outcome"]], ddof=1))
    names = list(fit.varcorr.terms[0].names)
    assert sorted(fit.ranef[0].levels) == sorted(r["ranef"])
    expected = np.array([[r["ranef"][lev][n] for n in names] for lev in fit.ranef[0].levels])
    np.testing.assert_allclose(fit.ranef[0].modes, expected, rtol=1e-4, atol=1e-5 * y_sd)
    cv = np.array([r["ranef_condvar"][lev] for lev in fit.ranef[0].levels], dtype=float)
    mine = fit.ranef[0].condvar
    if case.get("condvar_diagonal_only"):
        cv = np.array([np.diag(m) for m in cv])
        mine = np.array([np.diag(m) for m in mine])
    np.testing.assert_allclose(mine, cv, rtol=1e-4, atol=1e-7 * y_sd**2)


@pytest.mark.parametrize("name", CASES)
def test_residuals_and_flags(name):
    case, fit = _comparable(name)
    r = case["result"]
    y_sd = float(np.std(frame(case["data"])[case["spec"]["outcome"]], ddof=1))
    fit_tol = _tol(case, 1e-6, 1e-5)
    np.testing.assert_allclose(fit.fitted, r["fitted"], rtol=fit_tol, atol=fit_tol * y_sd)
    np.testing.assert_allclose(
        fit.scaled_resid_quantiles, r["scaled_resid_quantiles"], rtol=1e-4, atol=1e-5
    )
    assert fit.singular == r["singular"]


@pytest.mark.parametrize("name", CASES)
def test_icc_and_r2(name):
    case, fit = _comparable(name)
    r = case["result"]
    if r["icc"] is None:
        assert fit.icc is None
    else:
        assert fit.icc is not None
        assert fit.icc.adjusted == pytest.approx(r["icc"]["adjusted"], rel=1e-4, abs=1e-8)
        assert fit.icc.unadjusted == pytest.approx(r["icc"]["unadjusted"], rel=1e-4, abs=1e-8)
    if r["r2"] is not None:
        assert fit.r2.marginal == pytest.approx(r["r2"]["marginal"], rel=1e-4, abs=1e-8)
        conditional = r["r2"]["conditional"]
        if conditional is None:
            assert np.isnan(fit.r2.conditional)
        else:
            assert fit.r2.conditional == pytest.approx(conditional, rel=1e-4, abs=1e-8)


def test_engine_beats_lme4_where_bobyqa_stopped_early():
    early = [c["name"] for c in reference()["cases"] if c.get("result_best")]
    assert early, "the reference should contain at least one early bobyqa stop"
    for name in early:
        case, fit = fitted_case(name)
        assert fit.criterion < case["result"]["criterion"]


def test_reference_covers_the_required_situations():
    cases = reference()["cases"]
    assert any(c["result"]["singular"] for c in cases)
    assert any(not c["spec"]["correlated"] and c["spec"]["random_slopes"] for c in cases)
    assert any(not c["spec"]["reml"] for c in cases)
    assert any(any(n.startswith("trt") for n in c["result"]["fixef"]) for c in cases)
    assert any(c["result"]["ngroups"] == 3 for c in cases)


def test_reference_data_files_are_the_ones_r_fitted():
    # A data file rewritten after the R run (e.g. data/make_schools.py) makes
    # every per-row reference value stale: rerun tests/reference/make_lmm_reference.R.
    for entry in reference()["datasets"]:
        digest = hashlib.md5((ROOT / entry["path"]).read_bytes()).hexdigest()
        assert digest == entry["md5"], f"{entry['path']} changed since the R reference was made"


def test_intercept_only_model_has_marginal_r2_exactly_zero():
    # performance::r2_nakagawa reports 0 for a constant prediction; a one-pass variance
    # of a constant vector leaves ~1e-31 rounding noise (seen on dietox's weights),
    # which the app would print as "8.1e-32".
    pigs = pd.read_csv(ROOT / "data" / "dietox.csv")
    spec = ModelSpec.one_factor(outcome="Weight", group="Pig", fixed=(), random_intercept=True)
    assert fit_lmm(pigs, spec).r2.marginal == 0.0
