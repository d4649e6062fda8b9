"""Snippets for generalized models: glmer's R call and the Python call of ``lib.glmer``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from lib.model.formula import parse_formula
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.present.family import glmer_formula
from lib.present.snippets import glmer_line, lme4_call, python_script
from tests.glmm_reference import case
from tests.test_snippets import HOSTILE, ROOT, _string_constants

CBPP = parse_formula("incidence ~ period + (1 | herd)")
TRIALS = ResponseFamily("binomial", trials="size")


def test_r_call_writes_cbind_for_trials():
    assert glmer_line(CBPP, TRIALS) == (
        "glmer(cbind(incidence, size - incidence) ~ 1 + period + (1 | herd), data = d, "
        "family = binomial)"
    )
    script = lme4_call(CBPP, "cbpp.csv", response=TRIALS)
    assert script.splitlines() == [
        "library(lme4)",
        'd <- read.csv("cbpp.csv")',
        "fit <- " + glmer_line(CBPP, TRIALS),
        "summary(fit)",
    ]
    # The formula is glmer's (the reference's, with lme4's explicit intercept).
    assert glmer_formula(CBPP, TRIALS).replace("~ 1 + ", "~ ") == case("cbpp_laplace").formula


def test_r_call_offset_link_and_quadrature():
    spec = parse_formula("y ~ x + (1 | g)")
    line = glmer_line(spec, ResponseFamily("poisson", offset="log_exposure"))
    assert line == (
        "glmer(y ~ 1 + x + offset(log_exposure) + (1 | g), data = d, family = poisson)"
    )
    probit = glmer_line(spec, ResponseFamily("binomial", "probit"), nagq=9)
    assert probit.endswith('family = binomial(link = "probit"), nAGQ = 9)')


def test_r_call_makes_a_named_success_level_explicit():
    spec = parse_formula("use ~ age + (1 | district)")
    script = lme4_call(spec, response=ResponseFamily("binomial", success='Y"es'))
    assert 'd[["use"]] <- as.integer(as.character(d[["use"]]) == "Y\\"es")' in script


def test_linear_scripts_are_unchanged_by_default():
    spec = parse_formula("y ~ x + (1 | g)")
    assert lme4_call(spec).startswith("library(lmerTest)")
    assert "m = lmer(formula, data, reml=True)" in python_script(spec)


def test_python_script_with_hostile_names_parses_into_literals():
    spec = ModelSpec.one_factor(HOSTILE, "g")
    response = ResponseFamily("binomial", trials=HOSTILE + "n", offset=HOSTILE + "o")
    tree = ast.parse(python_script(spec, data_file="d.csv", response=response))
    strings = _string_constants(tree)
    assert HOSTILE + "n" in strings and HOSTILE + "o" in strings
    calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and hasattr(n.func, "id")]
    assert "system" not in calls


def test_python_script_runs_and_prints_glmers_summary(tmp_path):
    data = tmp_path / "cbpp.csv"
    frame = case("cbpp_laplace").frame
    frame["period"] = "p" + frame["period"].astype(str)  # a text factor in a CSV
    frame.to_csv(data, index=False)
    script = python_script(CBPP, data_file=str(data), response=TRIALS)
    assert "family='binomial'," in script and "trials='size'," in script
    assert max(len(line) for line in script.splitlines() if str(data) not in line) <= 80
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=env,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Family: binomial  ( logit )" in out.stdout
    assert "  184.1  " in out.stdout  # glmer's deviance, 184.05
    assert "odds ratio" in out.stdout
