"""The GLMM reference files agree with themselves and with their data (no engine, no R).

``tests/reference/glmm_reference.json`` was written by ``tests/reference/glmm_reference.R``.
These tests recompute, from the JSON and the CSV files alone, every number that follows
from others: AIC/BIC from logLik, lme4's Laplace deviance from its parts, z and p from
estimate and SE, Wald intervals, the dispersion ratio, ICC and R^2 from insight's
variances, variance components from theta, the marginal and conditional linear
predictors from the data, fixef and ranef, the responses through the inverse link, and
the likelihood-ratio tables. They also check that the tight fits really sit at lme4's
optimum (default control and glmmTMB are not better) and that the simulated benchmark
data regenerate bit for bit in Python.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from scipy import stats

from tests.glmm_reference import (
    BENCH_REFERENCE,
    ROOT,
    GlmmCase,
    case,
    case_ids,
    cases,
    comparisons,
    dataset,
    fingerprint_lines,
    frame,
    inverse_link,
    reference,
    response_arrays,
    simulate_binary_slope,
)

Z975 = stats.norm.ppf(0.975)
IDS = case_ids()
LAPLACE_IDS = [c.id for c in cases() if c.nAGQ == 1]
AGQ_IDS = [c.id for c in cases() if c.nAGQ > 1]


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


# --------------------------------------------------------------------------- files


def test_every_case_and_dataset_is_there():
    ids = set(IDS)
    for needed in (
        "cbpp_laplace",
        "cbpp_nagq0",
        "cbpp_agq9",
        "cbpp_agq25",
        "cbpp_probit",
        "contraception_slope",
        "contraception_cloglog",
        "verbagg_crossed",
        "guimmun_3level",
        "grouseticks_poisson",
        "owls_offset",
    ):
        assert needed in ids
    assert reference()["versions"]["lme4"] == "1.1.31"


@pytest.mark.parametrize("name", [d["name"] for d in reference()["datasets"]])
def test_data_file_is_the_one_fitted(name):
    info = dataset(name)
    path = ROOT / info["path"]
    assert hashlib.md5(path.read_bytes()).hexdigest() == info["md5"]
    df = frame(name)
    assert list(df.columns) == info["columns"]
    assert len(df) == info["nrow"]
    for column, levels in info["factor_levels"].items():
        assert list(df[column].cat.categories) == levels
        assert df[column].notna().all()  # every label is one of R's levels


@pytest.mark.parametrize("cid", IDS)
def test_counts_follow_from_the_data(cid):
    c = case(cid)
    r = c.expected
    df = c.frame
    assert r["nobs"] == len(df)
    for g, count in r["ngroups"].items():
        assert df[g].nunique() == count
    for g, block in r["ranef"].items():
        assert sorted(block["levels"]) == sorted(df[g].astype(str).unique())
        assert len(block["values"]) == len(block["levels"]) == len(block["condvar"])


# --------------------------------------------------------------------- likelihood


@pytest.mark.parametrize("cid", IDS)
def test_information_criteria(cid):
    r = case(cid).expected
    k = r["npar"]
    assert k == len(r["theta"]) + len(r["fixef"]["names"])
    assert r["aic"] == pytest.approx(-2 * r["loglik"] + 2 * k, rel=1e-14)
    assert r["bic"] == pytest.approx(-2 * r["loglik"] + math.log(r["nobs"]) * k, rel=1e-14)
    assert r["df_resid"] == r["nobs"] - k
    # summary()'s "deviance" is lme4's objective, -2 logLik, not deviance(fit)
    assert r["deviance_summary"] == pytest.approx(-2 * r["loglik"], rel=1e-14)
    assert r["fval"] == pytest.approx(-2 * r["loglik"], rel=1e-14)
    at = r["summary"]["aictab"]
    assert at["AIC"] == r["aic"] and at["logLik"] == r["loglik"]


@pytest.mark.parametrize("cid", [c.id for c in cases() if c.nAGQ <= 1])
def test_laplace_deviance_from_its_parts(cid):
    """fval = log|L|^2 + |u|^2 + family aic(); aic() = sum of deviance residuals - 2 l_sat."""
    r = case(cid).expected
    d = r["devcomp"]
    assert r["fval"] == pytest.approx(d["ldL2"] + d["ussq"] + d["aic_conditional"], rel=1e-12)
    assert d["aic_conditional"] == pytest.approx(d["drsum"] - 2 * d["saturated_loglik"], rel=1e-12)
    assert r["deviance_residual_sum"] == pytest.approx(d["drsum"], rel=1e-12)
    # the same formula with PIRLS run to convergence and W at the mode: lme4 keeps the
    # factor of the previous iterate, which puts its fval a hair above (never below)
    ex = r["exact"]
    assert ex["fval_at_lme4"] <= r["fval"] + 1e-9
    assert r["fval"] - ex["fval_at_lme4"] < 1e-8 * r["fval"]
    assert ex["fval_at_lme4"] == pytest.approx(
        ex["ldL2"] + ex["ussq"] + d["aic_conditional"], rel=1e-6
    )
    assert ex["ussq"] == pytest.approx(d["ussq"], rel=1e-6, abs=1e-10)


def test_saturated_constant_is_zero_for_bernoulli_and_not_for_trials_or_counts():
    assert abs(case("verbagg_crossed").expected["devcomp"]["saturated_loglik"]) < 1e-9
    assert abs(case("contraception_slope").expected["devcomp"]["saturated_loglik"]) < 1e-9
    assert case("cbpp_laplace").expected["devcomp"]["saturated_loglik"] < -10
    assert case("owls_offset").expected["devcomp"]["saturated_loglik"] < -100


@pytest.mark.parametrize("cid", AGQ_IDS)
def test_agq_loglik_leaves_out_the_saturated_constant(cid):
    """nAGQ > 1: lme4's logLik = -fval/2 with fval built on deviance residuals."""
    r = case(cid).expected
    lap = case("cbpp_laplace").expected
    sat = lap["devcomp"]["saturated_loglik"]
    # AGQ adds a little to the Laplace likelihood; with the constant put back they are close
    assert abs((r["loglik"] + sat) - lap["loglik"]) < 0.05
    assert abs(r["loglik"] - lap["loglik"]) > 10
    # the R re-implementation of glmerAGQ (converged mode and weights) gives lme4's value
    assert r["exact"]["fval_at_lme4"] == pytest.approx(r["fval"], rel=1e-8)


def test_more_quadrature_nodes_change_the_fit_less():
    l1 = case("cbpp_laplace").expected
    l9 = case("cbpp_agq9").expected
    l25 = case("cbpp_agq25").expected
    sat = l1["devcomp"]["saturated_loglik"]
    d_1_9 = abs(l1["loglik"] - (l9["loglik"] + sat))
    d_9_25 = abs(l9["loglik"] - l25["loglik"])
    assert d_9_25 < d_1_9 / 10


# ------------------------------------------------------------------- fixed effects


@pytest.mark.parametrize("cid", IDS)
def test_z_p_and_wald_intervals(cid):
    r = case(cid).expected
    fe = r["fixef"]
    est, se = np.array(fe["estimate"]), np.array(fe["se"])
    np.testing.assert_allclose(fe["z"], est / se, rtol=1e-13)
    np.testing.assert_allclose(fe["p"], 2 * stats.norm.sf(np.abs(est / se)), rtol=1e-9)
    for k, name in enumerate(fe["names"]):
        lo, hi = r["ci_wald"][name]
        assert lo == pytest.approx(est[k] - Z975 * se[k], rel=1e-12, abs=1e-14)
        assert hi == pytest.approx(est[k] + Z975 * se[k], rel=1e-12, abs=1e-14)
    # Wald intervals exist for fixed effects only: one [null, null] row per theta (.sig01 ...)
    sig_rows = [k for k in r["ci_wald"] if k.startswith(".sig")]
    assert len(sig_rows) == len(r["theta"])
    assert all(r["ci_wald"][k] == [None, None] for k in sig_rows)
    assert len(r["ci_wald"]) == len(r["theta"]) + len(fe["names"])
    # summary() prints the same table
    sc = r["summary"]["coefficients"]
    assert sc["names"] == fe["names"]
    np.testing.assert_allclose(sc["estimate"], est, rtol=1e-14)
    np.testing.assert_allclose(sc["se"], se, rtol=1e-14)


@pytest.mark.parametrize("cid", IDS)
def test_se_variants(cid):
    """default = deriv12 Hessian (nAGQ > 0) or RX (nAGQ = 0); all from their vcov matrices."""
    r = case(cid).expected
    for kind in ("default", "rx", "richardson"):
        if r["vcov"][kind] is None:
            assert kind == "richardson" and r["nAGQ"] == 0
            continue
        V = np.array(r["vcov"][kind])
        np.testing.assert_allclose(V, V.T, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(np.sqrt(np.diag(V)), r["se"][kind], rtol=1e-14)
    np.testing.assert_allclose(r["se"]["default"], r["fixef"]["se"], rtol=1e-14)
    if r["nAGQ"] == 0:
        np.testing.assert_allclose(r["se"]["default"], r["se"]["rx"], rtol=1e-14)
    else:
        # vcov = 2 H^-1 restricted to beta, H the deriv12 Hessian of the deviance
        H = np.array(r["hessian"]["deriv12"])
        nth = len(r["theta"])
        V = 2 * np.linalg.inv(H)[nth:, nth:]
        np.testing.assert_allclose(V, np.array(r["vcov"]["default"]), rtol=1e-8)
        # lme4's deriv12 SEs carry the noise of its early-stopped PIRLS: within 2e-3 of
        # the SEs of the exact objective (Owls: 1.5e-3), which are symmetric and positive
        ex = r["exact"]
        Vx = np.array(ex["vcov"])
        np.testing.assert_allclose(Vx, Vx.T, rtol=1e-8, atol=1e-15)
        np.testing.assert_allclose(np.sqrt(np.diag(Vx)), ex["se"], rtol=1e-14)
        np.testing.assert_allclose(r["se"]["default"], ex["se"], rtol=2e-3)
        np.testing.assert_allclose(r["se"]["richardson"], ex["se"], rtol=2e-3)


def test_rx_standard_errors_are_not_glmers():
    """The SEs conditional on theta (MixedModels.jl, mixedlm) miss glmer's by 14% here."""
    r = case("guimmun_3level").expected
    gap = np.abs(np.array(r["se"]["rx"]) / np.array(r["exact"]["se"]) - 1)
    assert gap.max() > 0.10
    assert np.abs(np.array(r["fixef"]["se"]) / np.array(r["exact"]["se"]) - 1).max() < 1e-3


@pytest.mark.parametrize("cid", IDS)
def test_tidy_rows_repeat_the_fit(cid):
    r = case(cid).expected
    fixed = [t for t in r["tidy"] if t["effect"] == "fixed"]
    assert [t["term"] for t in fixed] == r["fixef"]["names"]
    for k, t in enumerate(fixed):
        assert t["estimate"] == pytest.approx(r["fixef"]["estimate"][k], rel=1e-14)
        assert t["std.error"] == pytest.approx(r["fixef"]["se"][k], rel=1e-12)
        assert t["conf.low"] == pytest.approx(r["ci_wald"][t["term"]][0], rel=1e-12, abs=1e-14)
    ran = [t for t in r["tidy"] if t["effect"] == "ran_pars"]
    sds = {(v["group"], n): s for v in r["varcorr"] for n, s in v["sd"].items()}
    for t in ran:
        if t["term"].startswith("sd__"):
            assert t["estimate"] == pytest.approx(sds[(t["group"], t["term"][4:])], rel=1e-14)


# -------------------------------------------------------------- variance components


def _lambda_blocks(r: dict) -> dict[str, np.ndarray]:
    """lme4's relative covariance factor per term, from theta (column-wise lower triangle)."""
    out, k = {}, 0
    for term in r["varcorr"]:
        q = len(term["names"])
        T = np.zeros((q, q))
        for j in range(q):
            for i in range(j, q):
                T[i, j] = r["theta"][k]
                k += 1
        out[term["group"]] = T
    assert k == len(r["theta"])
    return out


@pytest.mark.parametrize("cid", IDS)
def test_varcorr_from_theta(cid):
    r = case(cid).expected
    for term in r["varcorr"]:
        T = _lambda_blocks(r)[term["group"]]
        S = T @ T.T  # sigma = 1 for binomial and Poisson
        names = term["names"]
        for a, n in enumerate(names):
            assert term["variance"][n] == pytest.approx(S[a, a], rel=1e-12, abs=1e-300)
            assert term["sd"][n] == pytest.approx(math.sqrt(S[a, a]), rel=1e-12, abs=1e-300)
        for key, value in term["corr"].items():
            a, b = (names.index(x) for x in key.split(":"))
            assert value == pytest.approx(S[a, b] / math.sqrt(S[a, a] * S[b, b]), rel=1e-10)


@pytest.mark.parametrize("cid", IDS)
def test_icc_and_r2_from_insight_variances(cid):
    r = case(cid).expected
    v = r["insight_variances"]
    fixed, random, resid = v["var.fixed"], v["var.random"], v["var.residual"]
    assert r["icc"]["adjusted"] == pytest.approx(random / (random + resid), rel=1e-12)
    assert r["icc"]["unadjusted"] == pytest.approx(random / (fixed + random + resid), rel=1e-12)
    total = fixed + random + resid
    assert r["r2"]["marginal"] == pytest.approx(fixed / total, rel=1e-12)
    assert r["r2"]["conditional"] == pytest.approx((fixed + random) / total, rel=1e-12)
    latent = {"logit": math.pi**2 / 3, "probit": 1.0, "cloglog": math.pi**2 / 6}
    if r["link"] in latent:
        assert v["var.distribution"] == pytest.approx(latent[r["link"]], rel=1e-14)
    else:  # Poisson: log(1 + 1/mu), mu = exp(intercept of insight's null model)
        mu = math.exp(r["insight_null_model"]["fixef"]["(Intercept)"])
        assert v["var.distribution"] == pytest.approx(math.log1p(1 / mu), rel=1e-12)
    assert resid == pytest.approx(v["var.distribution"] + v["var.dispersion"], rel=1e-14)


# ------------------------------------------------------------- predictions and data


def _fixed_matrix(c: GlmmCase, rows: np.ndarray) -> np.ndarray:
    """Treatment-coded X in R's column order, from the CSV and the recorded levels."""
    df = c.frame.iloc[rows]
    cols = [np.ones(len(df))]
    names = ["(Intercept)"]
    for term in c.fixed_terms:
        s = df[term]
        if hasattr(s, "cat"):
            for level in s.cat.categories[1:]:
                cols.append((s.astype(str) == level).to_numpy(float))
                names.append(f"{term}{level}")
        else:
            cols.append(s.to_numpy(float))
            names.append(term)
    assert names == c.expected["fixef"]["names"]
    return np.column_stack(cols)


@pytest.mark.parametrize("cid", IDS)
def test_predictions_from_data_fixef_and_ranef(cid):
    c = case(cid)
    r = c.expected
    p = r["predictions"]
    rows = np.array(p["rows"], dtype=int)
    X = _fixed_matrix(c, rows)
    _, _, offset = response_arrays(c)
    marginal = X @ np.array(r["fixef"]["estimate"]) + offset[rows]
    np.testing.assert_allclose(p["link_marginal"], marginal, rtol=1e-12, atol=1e-12)
    conditional = marginal.copy()
    df = c.frame.iloc[rows]
    for g, block in r["ranef"].items():
        index = {lv: k for k, lv in enumerate(block["levels"])}
        values = np.array(block["values"])
        for a, term in enumerate(block["terms"]):
            b = values[[index[v] for v in df[g].astype(str)], a]
            if term == "(Intercept)":
                conditional += b
            else:  # a slope on a dummy or numeric column, named as in fixef
                conditional += b * X[:, r["fixef"]["names"].index(term)]
    np.testing.assert_allclose(p["link_conditional"], conditional, rtol=1e-10, atol=1e-10)
    for kind in ("conditional", "marginal"):
        np.testing.assert_allclose(
            p[f"response_{kind}"], inverse_link(r["link"], p[f"link_{kind}"]), rtol=1e-12
        )
        np.testing.assert_allclose(
            p[f"newdata_response_{kind}"],
            inverse_link(r["link"], p[f"newdata_link_{kind}"]),
            rtol=1e-12,
        )
    # rows 0-1 of newdata are CSV rows 0-1; row 3 has every factor unseen: no random effect
    np.testing.assert_allclose(p["newdata_link_conditional"][:2], p["link_conditional"][:2])
    assert p["newdata_link_conditional"][3] == pytest.approx(p["newdata_link_marginal"][3])
    assert p["newdata_link_marginal"][:2] == pytest.approx(p["link_marginal"][:2])


@pytest.mark.parametrize("cid", IDS)
def test_pearson_residuals_and_dispersion(cid):
    c = case(cid)
    r = c.expected
    y, w, _ = response_arrays(c)
    rows = np.array(r["predictions"]["rows"], dtype=int)
    mu = np.array(r["predictions"]["response_conditional"])
    if r["family"] == "binomial":
        var = mu * (1 - mu)
    else:
        var = mu
    pearson = (y[rows] - mu) * np.sqrt(w[rows] / var)
    np.testing.assert_allclose(r["pearson"]["first"], pearson, rtol=1e-9, atol=1e-12)
    assert r["pearson"]["dispersion_ratio"] == pytest.approx(
        r["pearson"]["chisq"] / r["df_resid"], rel=1e-14
    )
    q = r["pearson"]["scaled_quantiles"]
    assert q == sorted(q)
    assert q == r["summary"]["scaled_resid_quantiles"]


# --------------------------------------------------------- optimum and second opinions


@pytest.mark.parametrize("cid", IDS)
def test_tight_fit_is_lme4s_optimum(cid):
    """Neither glmer's default control nor the brief's Nelder-Mead stage does better."""
    c = case(cid)
    r = c.expected
    assert r["optimizer"] == ["bobyqa"]  # the stage-2 (or only) optimizer
    for name in ("default", "brief"):
        alt = c.alternatives[name]
        assert alt["fval"] >= r["fval"] - 1e-7
    if r["devfun_at_optimum"] is not None:
        assert r["devfun_at_optimum"] == pytest.approx(r["fval"], rel=1e-12)


@pytest.mark.parametrize("cid", [i for i in LAPLACE_IDS if case(i).glmmTMB is not None])
def test_glmmtmb_agrees(cid):
    c = case(cid)
    r, t = c.expected, c.glmmTMB
    assert t["mapping_check"] == pytest.approx(0, abs=1e-8)
    # glmmTMB's Laplace uses the observed Hessian: equal to lme4's for canonical links
    canonical = r["link"] in ("logit", "log")
    tol = 2e-7 if canonical else 1e-3
    assert t["loglik"] == pytest.approx(r["loglik"], rel=tol)
    if canonical:
        # the same function: glmmTMB's exact Laplace = lme4's with converged PIRLS
        assert t["minus2loglik_at_lme4_parameters"] == pytest.approx(
            r["exact"]["fval_at_lme4"], rel=1e-11
        )
        tse = [t["se"][n] for n in r["fixef"]["names"]]
        np.testing.assert_allclose(tse, r["exact"]["se"], rtol=1e-5)
    else:
        # probit, cloglog: lme4's log|L|^2 uses expected information, glmmTMB's the
        # observed Hessian; glmmTMB's -2 log L is lower at the same parameters
        assert t["minus2loglik_at_lme4_parameters"] < r["exact"]["fval_at_lme4"] - 1e-3
    tmb_beta = np.array([t["fixef"][n] for n in r["fixef"]["names"]])
    shift = (tmb_beta - np.array(r["exact"]["optimum"]["beta"])) / np.array(r["exact"]["se"])
    # canonical: the same optimum up to the flatness of the deviance (1e-9 ~ 3e-5 SE);
    # probit/cloglog: a different approximation, about 1% of an SE apart
    assert np.abs(shift).max() < (2e-4 if canonical else 0.05)


@pytest.mark.parametrize("cid", [c.id for c in cases() if c.nAGQ > 0])
def test_exact_optimum_is_next_to_lme4s(cid):
    """The exact objective's minimum: gradient ~ 0, within 2e-4 SE of lme4's estimate."""
    r = case(cid).expected
    ex = r["exact"]
    o = ex["optimum"]
    assert o["fval"] <= ex["fval_at_lme4"] + 1e-10
    assert r["fval"] - o["fval"] < 1e-8 * r["fval"]
    assert np.abs(o["gradient"]).max() < 1e-5
    assert np.abs(o["gradient"]).max() <= np.abs(ex["gradient_at_lme4"]).max()
    np.testing.assert_allclose(o["theta"], r["theta"], rtol=2e-5)
    shift = (np.array(o["beta"]) - np.array(r["fixef"]["estimate"])) / np.array(ex["se"])
    assert np.abs(shift).max() < 2e-4


# -------------------------------------------------------------------- comparisons


@pytest.mark.parametrize("cmp", comparisons(), ids=lambda x: x["id"])
def test_likelihood_ratio_tables(cmp):
    first, second = cmp["table"]
    fits = [case(m).expected for m in cmp["models"]]
    assert first["chisq"] is None
    assert [first["npar"], second["npar"]] == [f["npar"] for f in fits]
    assert [first["loglik"], second["loglik"]] == [f["loglik"] for f in fits]
    assert second["chisq"] == pytest.approx(2 * (fits[1]["loglik"] - fits[0]["loglik"]), rel=1e-12)
    assert second["df"] == fits[1]["npar"] - fits[0]["npar"]
    assert second["p"] == pytest.approx(stats.chi2.sf(second["chisq"], second["df"]), rel=1e-9)
    assert first["deviance"] == pytest.approx(-2 * first["loglik"], rel=1e-14)


@pytest.mark.parametrize("cid", [c.id for c in cases() if c.expected["ci_profile"]])
def test_profile_intervals(cid):
    r = case(cid).expected
    for k, name in enumerate(r["fixef"]["names"]):
        lo, hi = r["ci_profile"][name]
        assert lo < r["fixef"]["estimate"][k] < hi
        np.testing.assert_allclose(r["ci_profile_exp"][name], np.exp([lo, hi]), rtol=1e-14)
    # .sig01 etc. cover the estimated SD
    sd = r["varcorr"][0]["sd"]["(Intercept)"]
    lo, hi = r["ci_profile"][".sig01"]
    assert lo <= sd <= hi


# -------------------------------------------------------------------- benchmark data


@pytest.mark.slow
def test_simulated_benchmark_data_regenerate_bit_for_bit():
    import json

    sim = json.loads(BENCH_REFERENCE.read_text(encoding="utf-8"))["simulated"]["1e5"]
    df = simulate_binary_slope(sim["rows"], sim["groups"], sim["seed"])
    assert df["y"].sum() == sim["sum_y"]
    # the committed JSON has these at 15 digits; the md5 below is the bit-for-bit check
    np.testing.assert_allclose(df["x1"][:3], sim["first_x1"], rtol=1e-14)
    md5 = hashlib.md5(fingerprint_lines(df).encode()).hexdigest()
    assert md5 == sim["md5_lines"]
