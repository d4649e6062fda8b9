"""``python -m lib fit``: the JSON document, and exit code 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.lmm_reference import ROOT, fitted_case

SLEEP = "tests/reference/data/sleepstudy.csv"
REQUIRED_KEYS = {
    "formula", "method", "criterion", "loglik", "aic", "bic", "nobs", "ngroups", "fixef",
    "fixef_se", "fixef_t", "fixef_df", "fixef_p", "fixef_corr", "varcorr", "ranef",
    "ranef_condvar", "scaled_resid_quantiles", "singular", "icc", "r2", "timing",
}  # fmt: skip


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lib", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_fit_prints_the_documented_json():
    proc = run_cli(
        "fit",
        SLEEP,
        "--outcome",
        "Reaction",
        "--group",
        "Subject",
        "--fixed",
        "Days",
        "--random",
        "intercept,Days",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert REQUIRED_KEYS <= set(doc)
    case, fit = fitted_case("sleep_full_reml")
    assert doc["formula"] == case["result"]["formula"]
    assert doc["method"] == "REML"
    assert doc["criterion"] == pytest.approx(case["result"]["criterion"], rel=1e-6)
    assert set(doc["fixef"]) == {"(Intercept)", "Days"}
    assert set(doc["varcorr"]) == {"terms", "residual_variance"}
    (term,) = doc["varcorr"]["terms"]
    assert set(term) == {"group", "names", "variances", "sd", "corr"}
    assert term["group"] == "Subject"
    assert term["names"] == ["(Intercept)", "Days"]
    assert term["variances"]["Days"] == pytest.approx(fit.varcorr.terms[0].variances[1], rel=1e-9)
    assert "(Intercept):Days" in term["corr"]
    assert doc["ngroups"] == {"Subject": 18}
    assert set(doc["ranef"]) == {"Subject"}
    assert set(doc["ranef"]["Subject"]["308"]) == {"(Intercept)", "Days"}
    assert set(doc["ranef_condvar"]["Subject"]["308"]) == {"(Intercept)", "Days"}
    assert len(doc["scaled_resid_quantiles"]) == 5
    assert doc["timing"]["fit_seconds"] > 0
    assert set(doc["icc"]) == {"adjusted", "unadjusted"}


def test_uncorrelated_and_ml_flags():
    proc = run_cli(
        "fit",
        SLEEP,
        "--outcome",
        "Reaction",
        "--group",
        "Subject",
        "--fixed",
        "Days",
        "--random",
        "intercept,Days",
        "--uncorrelated",
        "--ml",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["method"] == "ML"
    assert doc["formula"] == "Reaction ~ 1 + Days + (1 | Subject) + (0 + Days | Subject)"
    assert doc["varcorr"]["terms"][0]["corr"] == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fit", "missing.csv", "--outcome", "y", "--group", "g"), "does not exist"),
        (
            ("fit", SLEEP, "--outcome", "Reaction", "--group", "Subject", "--random", "Dayz"),
            "'Dayz' is not in the data",
        ),
        (
            ("fit", SLEEP, "--outcome", "Reaction", "--group", "Subject", "--random", ""),
            "neither an intercept nor a slope",
        ),
        (("fit", SLEEP, "--group", "Subject"), "--outcome"),
    ],
)
def test_bad_input_exits_2_without_traceback(args, message):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_gzipped_csv_is_read_as_csv(tmp_path):
    """The reference data itself ships as .csv.gz; a truncated gzip is a clear error."""
    import gzip

    data = tmp_path / "sleep.csv.gz"
    data.write_bytes(gzip.compress((ROOT / SLEEP).read_bytes()))
    proc = run_cli("fit", str(data), "--outcome", "Reaction", "--group", "Subject")
    assert proc.returncode == 0, proc.stderr
    plain = run_cli("fit", SLEEP, "--outcome", "Reaction", "--group", "Subject")
    assert json.loads(proc.stdout)["criterion"] == json.loads(plain.stdout)["criterion"]
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(data.read_bytes()[:40])
    proc = run_cli("fit", str(broken), "--outcome", "Reaction", "--group", "Subject")
    assert proc.returncode == 2 and "gzip" in proc.stderr and "Traceback" not in proc.stderr


def test_many_groups_print_one_line_with_the_same_content(tmp_path):
    """Above 10,000 levels the document is one line (the C encoder); same keys and values."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(4)
    groups = 10_001
    g = np.repeat(np.arange(groups), 3)
    frame = pd.DataFrame({"g": g, "y": rng.normal(size=groups)[g] + rng.normal(size=g.size)})
    path = tmp_path / "many.csv"
    frame.to_csv(path, index=False)
    proc = run_cli("fit", str(path), "--outcome", "y", "--group", "g")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 1  # one line and its newline
    doc = json.loads(proc.stdout)
    assert REQUIRED_KEYS <= set(doc)
    assert doc["ngroups"] == {"g": groups}
    assert len(doc["ranef"]["g"]) == groups
    assert set(doc["ranef"]["g"]["17"]) == {"(Intercept)"}
    assert doc["ranef_condvar"]["g"]["17"]["(Intercept)"] > 0
    small = run_cli("fit", SLEEP, "--outcome", "Reaction", "--group", "Subject")
    assert small.stdout.count("\n") > 20  # indented for people


def test_formula_gives_the_same_fit_as_the_flags(tmp_path):
    flags = run_cli(
        "fit", SLEEP, "--outcome", "Reaction", "--group", "Subject", "--fixed", "Days",
        "--random", "intercept,Days",
    )  # fmt: skip
    formula = run_cli("fit", SLEEP, "--formula", "Reaction ~ Days + (Days | Subject)")
    assert formula.returncode == 0, formula.stderr
    a, b = json.loads(flags.stdout), json.loads(formula.stdout)
    assert a["formula"] == b["formula"] and a["spec"] == b["spec"]
    assert b["criterion"] == pytest.approx(a["criterion"], rel=1e-12)


def test_formula_with_interactions_and_ml():
    proc = run_cli(
        "fit", "tests/reference/data/formula_exam.csv", "--ml",
        "--formula", "normexam ~ standLRT * schgend + (standLRT | school)",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["method"] == "ML"
    assert list(doc["fixef"]) == [
        "(Intercept)", "standLRT", "schgendgirls", "schgendmixed",
        "standLRT:schgendgirls", "standLRT:schgendmixed",
    ]  # fmt: skip
    assert doc["spec"]["fixed"][-1] == ["standLRT", "schgend"]


def test_formula_without_intercept_fits_and_gives_no_icc():
    # 0 + Days does not span the constant: ICC and R^2 would count the mean reaction time
    # as group variance (tests/test_no_intercept_reference.py), so they are null.
    proc = run_cli("fit", SLEEP, "--formula", "Reaction ~ 0 + Days + (1 | Subject)")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert list(doc["fixef"]) == ["Days"]
    assert doc["icc"] is None and doc["r2"] is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--formula", "y ~ x + (1 | g)", "--outcome", "y"), "one way: --formula, --spec"),
        (("--formula", "y ~ x + (1 | g)", "--spec", "m.json"), "--formula and --spec"),
        (("--formula", "Reaction ~ Days +"), "Formula error at character"),
        (("--formula", "Reaction ~ logit(Days) + (1 | Subject)"), "function calls"),
    ],
)
def test_formula_errors_exit_2_with_one_line(args, message):
    proc = run_cli("fit", SLEEP, *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""


def test_too_many_rows_for_pandas_names_the_other_engine(monkeypatch, capsys):
    from lib import cli

    monkeypatch.setattr("lib.table.read.MAX_ROWS", 100)
    code = cli.main(["fit", SLEEP, "--engine", "pandas", "--formula", "Reaction ~ (1 | Subject)"])
    err = capsys.readouterr().err
    assert code == 2
    assert "use --engine duckdb" in err
    assert "python -m lib fit" not in err


def test_only_the_model_s_columns_are_read(tmp_path):
    """A survey export with 5,004 columns: the model uses three (no column limit)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(2)
    frame = pd.DataFrame(rng.normal(size=(200, 5_001)), columns=[f"q{k}" for k in range(5_001)])
    frame["g"] = np.repeat([f"s{k}" for k in range(20)], 10)
    frame["x"] = rng.normal(size=200)
    frame["y"] = frame["x"] + rng.normal(size=20)[np.repeat(np.arange(20), 10)]
    path = tmp_path / "survey.csv"
    frame.to_csv(path, index=False)
    proc = run_cli("fit", str(path), "--formula", "y ~ x + (1 | g)")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["nobs"] == 200


def test_trailing_separator_on_every_line_is_read(tmp_path):
    lines = ["g,x,y,"] + [f"s{k % 5},{k},{k * 0.5 + (k % 5)}," for k in range(40)]
    path = tmp_path / "trailing.csv"
    path.write_text("\n".join(lines) + "\n")
    proc = run_cli("fit", str(path), "--formula", "y ~ x + (1 | g)")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["nobs"] == 40
