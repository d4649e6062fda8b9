"""``python -m lib fit --family ...``: generalized models on the command line vs glmer.

Each run is a subprocess on the GLMM reference data (tests/reference/glmm_reference.json,
lme4 1.1-31 under tight control), written the way a user would give it: an offset
column holding the log, a 0/1 outcome column, a Parquet file whose factor is text.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.glmm_reference import case
from tests.test_cli import run_cli

OWLS_FORMULA = "SiblingNegotiation ~ FoodTreatment + SexParent + ArrivalTime + (1 | Nest)"
#: The keys every document has, linear or generalized (``lib.cli_glmm`` docstring).
SHARED_KEYS = {
    "formula", "spec", "family", "link", "method", "criterion", "loglik", "aic", "bic",
    "nobs", "ngroups", "n_dropped", "theta", "sigma", "fixef", "fixef_se", "fixef_df",
    "fixef_p", "fixef_corr", "varcorr", "ranef", "ranef_condvar", "scaled_resid_quantiles",
    "singular", "converged", "icc", "r2", "timing",
}  # fmt: skip


def check_against_glmer(doc: dict, expected: dict) -> None:
    """The issue's tolerances: logLik 1e-6 relative and not below lme4's, fixed effects
    within 2e-3 of their SE, SEs and SDs 2e-3 relative."""
    assert doc["loglik"] == pytest.approx(expected["loglik"], rel=1e-6)
    assert doc["loglik"] >= expected["loglik"] - 1e-6 * abs(expected["loglik"])
    assert doc["criterion"] == pytest.approx(-2 * expected["loglik"], rel=1e-6)
    assert doc["aic"] == pytest.approx(expected["aic"], rel=1e-6)
    assert doc["bic"] == pytest.approx(expected["bic"], rel=1e-6)
    assert doc["df_resid"] == expected["df_resid"]
    assert doc["nobs"] == expected["nobs"]
    assert doc["ngroups"] == expected["ngroups"]
    fe = expected["fixef"]
    assert list(doc["fixef"]) == fe["names"]
    for k, name in enumerate(fe["names"]):
        assert abs(doc["fixef"][name] - fe["estimate"][k]) < 2e-3 * fe["se"][k]
        assert doc["fixef_se"][name] == pytest.approx(fe["se"][k], rel=2e-3)
        assert doc["fixef_z"][name] == pytest.approx(fe["z"][k], rel=2e-3)
        assert doc["fixef_p"][name] == pytest.approx(fe["p"][k], rel=2e-2, abs=1e-12)
    for term, vc in zip(doc["varcorr"]["terms"], expected["varcorr"], strict=True):
        assert term["group"] == vc["group"]
        for name, sd in vc["sd"].items():
            assert term["sd"][name] == pytest.approx(sd, rel=2e-3)
        for pair, r in vc["corr"].items():
            assert term["corr"][pair] == pytest.approx(r, abs=2e-3)
    assert doc["scaled_resid_quantiles"] == pytest.approx(
        expected["summary"]["scaled_resid_quantiles"], rel=1e-3, abs=1e-4
    )
    assert doc["singular"] == expected["singular"]


@pytest.fixture(scope="module")
def owls_csv(tmp_path_factory) -> str:
    """The Owls data with the log of brood size as a column (glmer's offset(log(BroodSize)))."""
    frame = case("owls_offset").frame
    frame["logBroodSize"] = np.log(frame["BroodSize"].astype(float))
    path = tmp_path_factory.mktemp("owls") / "owls.csv"
    frame.to_csv(path, index=False)
    return str(path)


def test_poisson_with_an_offset_column_matches_glmer(owls_csv):
    proc = run_cli(
        "fit", owls_csv, "--formula", OWLS_FORMULA, "--family", "poisson",
        "--offset", "logBroodSize",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert SHARED_KEYS <= set(doc)
    assert doc["family"] == "poisson" and doc["link"] == "log" and doc["offset"] == "logBroodSize"
    assert doc["method"] == "Laplace" and doc["nagq"] == 1
    assert doc["sigma"] is None and doc["varcorr"]["residual_variance"] is None
    assert doc["formula"] == (
        "SiblingNegotiation ~ 1 + FoodTreatment + SexParent + ArrivalTime + "
        "offset(logBroodSize) + (1 | Nest)"
    )
    expected = case("owls_offset").expected
    check_against_glmer(doc, expected)
    assert doc["ratio"] == "rate ratio"
    assert doc["fixef_exp"]["ArrivalTime"] == pytest.approx(
        np.exp(expected["fixef"]["estimate"][3]), rel=1e-4
    )
    # Conditional modes keyed by level, as lme4's ranef().
    ranef = expected["ranef"]["Nest"]
    for level, values in zip(ranef["levels"], ranef["values"], strict=True):
        assert doc["ranef"]["Nest"][level]["(Intercept)"] == pytest.approx(values[0], abs=2e-4)


def test_wald_intervals_predictions_and_variances_for_poisson(owls_csv):
    proc = run_cli(
        "fit", owls_csv, "--formula", OWLS_FORMULA, "--family", "poisson",
        "--offset", "logBroodSize", "--confint", "wald", "--predictions",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    expected = case("owls_offset").expected
    se = dict(zip(expected["fixef"]["names"], expected["fixef"]["se"], strict=True))
    fixed = [r for r in doc["confint"] if r["effect"] == "fixed"]
    assert [r["term"] for r in fixed] == expected["fixef"]["names"]
    for row in fixed:
        low, high = expected["ci_wald"][row["term"]]
        # Our SEs are the exact Hessian's (glmmTMB's), lme4's a finite-difference one.
        assert row["conf.low"] == pytest.approx(low, abs=5e-3 * se[row["term"]])
        assert row["conf.high"] == pytest.approx(high, abs=5e-3 * se[row["term"]])
    assert doc["confint_settings"]["method"] == "wald"
    ratios = {r["term"]: r for r in doc["confint_exp"]}
    assert ratios["ArrivalTime"]["conf.low"] == pytest.approx(
        np.exp(expected["ci_wald"]["ArrivalTime"][0]), rel=1e-4
    )
    pred = expected["predictions"]
    rows = pred["rows"]
    for key, ref in (
        ("conditional", "link_conditional"),
        ("marginal", "link_marginal"),
        ("conditional_response", "response_conditional"),
        ("marginal_response", "response_marginal"),
    ):
        got = np.array(doc["predictions"][key])[rows]
        np.testing.assert_allclose(got, pred[ref], rtol=5e-4)
    assert len(doc["predictions"]["conditional"]) == expected["nobs"]
    assert doc["icc"]["adjusted"] == pytest.approx(expected["icc"]["adjusted"], rel=2e-3)
    assert doc["r2"]["conditional"] == pytest.approx(expected["r2"]["conditional"], rel=2e-3)
    assert doc["dispersion"]["ratio"] == pytest.approx(
        expected["pearson"]["dispersion_ratio"], rel=2e-3
    )
    assert doc["dispersion"]["overdispersed"] is True
    assert doc["converged"] is True


def test_text_outcome_with_a_success_level(tmp_path):
    path = tmp_path / "contraception.parquet"
    case("contraception_ri").frame.to_parquet(path)  # use is text N/Y
    proc = run_cli(
        "fit", str(path), "--formula", "use ~ age + urban + livch + (1 | district)",
        "--family", "binomial", "--success", "Y",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["outcome_levels"] == {"failure": "N", "success": "Y"}
    expected = case("contraception_ri").expected
    check_against_glmer(doc, expected)
    assert doc["icc"]["adjusted"] == pytest.approx(expected["icc"]["adjusted"], rel=2e-3)
    assert doc["r2"]["marginal"] == pytest.approx(expected["r2"]["marginal"], rel=2e-3)
    assert "dispersion" not in doc  # 0/1 rows: overdispersion cannot be judged


def test_trials_column_and_a_text_factor_from_parquet(tmp_path):
    frame = case("cbpp_laplace").frame
    path = tmp_path / "cbpp.parquet"
    frame.astype({"period": str, "herd": str}).to_parquet(path)
    spec = tmp_path / "model.json"
    spec.write_text(
        json.dumps(
            {"formula": "incidence ~ period + (1 | herd)", "family": "binomial", "trials": "size"}
        )
    )
    proc = run_cli("fit", str(path), "--spec", str(spec), "--confint", "profile")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["formula"] == "cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)"
    assert doc["trials"] == "size" and doc["ratio"] == "odds ratio"
    expected = case("cbpp_laplace").expected
    check_against_glmer(doc, expected)
    # Profile intervals as confint(method = "profile"); .sig01 is tidy()'s sd__(Intercept).
    names = {"sd__(Intercept)": ".sig01"}
    for row in doc["confint"]:
        low, high = expected["ci_profile"][names.get(row["term"], row["term"])]
        assert row["conf.low"] == pytest.approx(low, abs=1e-3)
        assert row["conf.high"] == pytest.approx(high, abs=1e-3)
    assert doc["dispersion"]["ratio"] == pytest.approx(
        expected["pearson"]["dispersion_ratio"], rel=2e-3
    )


def test_a_zero_one_outcome_with_a_random_slope(tmp_path):
    frame = case("contraception_slope").frame
    # urban as R's dummy urbanY (0/1), named as R's; the text column itself on the left of
    # '|' is tests/test_factor_slopes_cli.py.
    frame["used"] = (frame["use"] == "Y").astype(int)
    frame["urbanY"] = (frame["urban"] == "Y").astype(int)
    path = tmp_path / "contraception.parquet"
    frame.drop(columns=["use", "urban"]).to_parquet(path)  # livch stays categorical
    proc = run_cli(
        "fit", str(path), "--formula", "used ~ age + urbanY + livch + (urbanY | district)",
        "--family", "binomial",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["family"] == "binomial" and doc["link"] == "logit" and doc["trials"] is None
    check_against_glmer(doc, case("contraception_slope").expected)
    assert len(doc["fixef_corr"]) == 6


def test_duckdb_engine_refuses_then_fits_a_stated_sample(owls_csv):
    args = ("fit", owls_csv, "--formula", OWLS_FORMULA, "--family", "poisson")
    refused = run_cli(*args, "--engine", "duckdb")
    assert refused.returncode == 2
    assert "needs the rows in memory" in refused.stderr
    assert "--sample N --seed S" in refused.stderr
    assert "Traceback" not in refused.stderr
    first = run_cli(*args, "--engine", "duckdb", "--sample", "300", "--seed", "7")
    again = run_cli(*args, "--engine", "duckdb", "--sample", "300", "--seed", "7")
    assert first.returncode == 0, first.stderr
    doc = json.loads(first.stdout)
    assert doc["sample"] == {
        "rows": 300, "of_rows": 599, "seed": 7, "method": "DuckDB reservoir sample",
    }  # fmt: skip
    assert doc["nobs"] == 300
    # The same seed draws the same rows: the same fit.
    assert json.loads(again.stdout)["loglik"] == doc["loglik"]
    in_memory = run_cli(*args, "--sample", "300", "--seed", "7")  # the pandas engine
    assert in_memory.returncode == 0, in_memory.stderr
    sample = json.loads(in_memory.stdout)["sample"]
    assert sample["rows"] == 300 and sample["method"] == "numpy default_rng(seed).choice"


def test_linear_documents_name_their_family():
    proc = run_cli(
        "fit", "tests/reference/data/sleepstudy.csv",
        "--formula", "Reaction ~ Days + (1 | Subject)",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["family"] == "gaussian" and doc["link"] == "identity"
    assert "fixef_t" in doc and "fixef_z" not in doc


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--trials", "size"), "A trials column needs a generalized family"),
        (("--family", "poisson", "--trials", "size"), "Only a binomial model takes a trials"),
        (("--family", "poisson", "--link", "logit"), "takes the link 'log'"),
        (("--family", "binomial", "--nagq", "30"), "--nagq must be between 0 and 25"),
        (("--sample", "10"), "--sample is for generalized models"),
        (("--family", "binomial", "--confint", "boot"), "not available for generalized"),
    ],
)
def test_bad_family_options_get_one_line(extra, message):
    proc = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--formula",
        "incidence ~ period + (1 | herd)", *extra,
    )  # fmt: skip
    assert proc.returncode == 2
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_lme4s_cbind_and_offset_in_the_formula(owls_csv):
    proc = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--formula",
        "cbind(incidence, size - incidence) ~ 1 + (1 | herd)", "--family", "binomial",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["trials"] == "size"
    check_against_glmer(doc, case("cbpp_null").expected)
    offset = run_cli(
        "fit", owls_csv, "--formula", OWLS_FORMULA.replace(" + (1", " + offset(logBroodSize) + (1"),
        "--family", "poisson",
    )  # fmt: skip
    assert offset.returncode == 0, offset.stderr
    assert json.loads(offset.stdout)["offset"] == "logBroodSize"
    assert json.loads(offset.stdout)["loglik"] == pytest.approx(
        case("owls_offset").expected["loglik"], rel=1e-6
    )
    clash = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--formula",
        "cbind(incidence, size - incidence) ~ 1 + (1 | herd)", "--family", "binomial",
        "--trials", "n",
    )  # fmt: skip
    assert clash.returncode == 2
    assert "the formula's trials 'size' disagree" in clash.stderr


def test_nagq_zero_is_glmers_first_stage():
    proc = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--formula",
        "cbind(incidence, size - incidence) ~ 1 + (1 | herd)", "--family", "binomial",
        "--nagq", "0",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["nagq"] == 0 and doc["method"] == "nAGQ = 0"
    assert doc["evaluations"][1] == 0


def test_spec_file_and_flag_must_agree(tmp_path):
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps({"formula": "incidence ~ period + (1 | herd)", "family": "poisson"}))
    proc = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--spec", str(spec), "--family", "binomial"
    )
    assert proc.returncode == 2
    assert "disagree" in proc.stderr


def test_adaptive_quadrature_needs_one_scalar_random_effect():
    proc = run_cli(
        "fit", "tests/reference/data/glmm_cbpp.csv", "--formula",
        "incidence ~ period + (period | herd)", "--family", "binomial", "--trials", "size",
        "--nagq", "5",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "needs a single random intercept" in proc.stderr


def test_a_binary_outcome_without_a_family_points_to_binomial(tmp_path):
    frame = case("contraception_ri").frame
    frame["used"] = frame["use"] == "Y"  # TRUE/FALSE in the CSV
    frame["used01"] = frame["used"].astype(int)
    path = tmp_path / "binary.csv"
    frame[["used", "used01", "age", "district"]].to_csv(path, index=False)
    text = run_cli("fit", str(path), "--formula", "used ~ age + (1 | district)")
    assert text.returncode == 2
    assert "has two values (False, True)" in text.stderr
    assert "--family binomial" in text.stderr
    zero_one = run_cli("fit", str(path), "--formula", "used01 ~ age + (1 | district)")
    assert zero_one.returncode == 0, zero_one.stderr
    assert zero_one.stderr.startswith("warning: The outcome 'used01' holds only 0 and 1")
    assert json.loads(zero_one.stdout)["family"] == "gaussian"
    logistic = run_cli(
        "fit", str(path), "--formula", "used ~ age + (1 | district)", "--family", "binomial",
    )  # fmt: skip
    assert logistic.returncode == 0, logistic.stderr
    assert json.loads(logistic.stdout)["outcome_levels"] == {"failure": "FALSE", "success": "TRUE"}


def test_one_factor_flags_with_a_family(tmp_path):
    path = tmp_path / "cbpp.parquet"
    case("cbpp_laplace").frame.astype({"period": str, "herd": str}).to_parquet(path)
    proc = run_cli(
        "fit", str(path), "--outcome", "incidence", "--group", "herd", "--fixed", "period",
        "--family", "binomial", "--trials", "size",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["formula"] == "cbind(incidence, size - incidence) ~ 1 + period + (1 | herd)"
    assert doc["timing"]["variance_seconds"] >= 0
    check_against_glmer(doc, case("cbpp_laplace").expected)
    # The document's spec is a MODEL.json that refits the same model.
    assert doc["spec"]["family"] == "binomial" and doc["spec"]["trials"] == "size"
    spec = tmp_path / "model.json"
    spec.write_text(json.dumps(doc["spec"]))
    again = run_cli("fit", str(path), "--spec", str(spec))
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["loglik"] == doc["loglik"]
