"""lib.present.snippets: the lme4 call and a Python script that reproduces the fit."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lib.model.formula import parse_formula
from lib.model.spec import ModelSpec, RandomTerm
from lib.present.snippets import lme4_call, lmer_line, python_script, r_string

ROOT = Path(__file__).resolve().parents[1]
RIS = ModelSpec.one_factor(
    "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
)
HOSTILE = "x'); __import__('os').system('echo pwned'); ('\"\"\"\n#"


def _string_constants(tree: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_lmer_line_follows_the_toggles():
    assert lmer_line(RIS) == (
        "lmer(test_score ~ 1 + study_time + (1 + study_time | school), data = d, REML = TRUE)"
    )
    ml = RIS.with_term(correlated=False).with_changes(reml=False)
    assert lmer_line(ml) == (
        "lmer(test_score ~ 1 + study_time + (1 | school) + (0 + study_time | school), "
        "data = d, REML = FALSE)"
    )


def test_r_script_quotes_file_names_and_odd_columns():
    spec = ModelSpec.one_factor("Résultat final", "a\\b`c", fixed=("x\ny",))
    script = lme4_call(spec, 'my "data".csv')
    assert 'read.csv("my \\"data\\".csv")' in script
    # R processes escapes inside backticks: a backslash, a backtick and a line break
    # are escaped so that R reads back the same names.
    assert "`Résultat final` ~ 1 + `x\\ny` + (1 | `a\\\\b\\`c`)" in script
    assert r_string("é") == '"é"'


def test_python_script_for_bundled_data_runs_and_gives_the_fit():
    script = python_script(RIS, bundled="schools")
    ast.parse(script)
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert "test_score ~ 1 + study_time + (1 + study_time | school)" in out.stdout
    assert "REML criterion 916.78" in out.stdout  # the tutorial's 916.784


@pytest.mark.parametrize("where", ["outcome", "fixed", "group", "slope", "file"])
def test_hostile_names_stay_string_literals(where):
    name = HOSTILE
    outcome, fixed, group, slopes, data_file = "y", ("x",), ("g",), ("x",), "data.csv"
    if where == "outcome":
        outcome = name
    elif where == "fixed":
        fixed = (name,)
    elif where == "group":
        group = (name,)
    elif where == "slope":
        slopes = (name,)
    else:
        data_file = name
    spec = ModelSpec(outcome, fixed, (RandomTerm(group, slopes=slopes),))
    script = python_script(spec, data_file=data_file)
    tree = ast.parse(script)  # still valid Python
    constants = _string_constants(tree)
    if where == "file":
        assert name in constants  # the file name is one string literal
    # The formula is one string literal, which reads back to the spec itself.
    formula = next(c for c in constants if "~" in c)
    assert formula == spec.formula()
    assert parse_formula(formula) == spec
    # and nothing else: the same statements as with a harmless name
    plain = ast.parse(python_script(RIS, data_file="data.csv"))
    assert [type(s).__name__ for s in tree.body] == [type(s).__name__ for s in plain.body]
    calls = {
        n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    assert calls == {"Path", "load_table", "read_bytes", "lmer", "print"}


def test_python_script_fits_the_formula_with_lib_lmer():
    """An interaction model: the script's formula is the spec's, fitted by ``lib.lmer``."""
    spec = parse_formula("mAch ~ meanses * cses + sector * cses + (cses | school)")
    script = python_script(spec, data_file="hsb82.csv")
    assert "from lib import lmer" in script
    assert "formula = 'mAch ~ 1 + meanses + cses + sector + meanses:cses + cses:sector + " in script
    assert "m = lmer(formula, data, reml=True)" in script
    assert lme4_call(spec).splitlines()[2] == (
        "fit <- lmer(mAch ~ 1 + meanses + cses + sector + meanses:cses + cses:sector + "
        "(1 + cses | school), data = d, REML = TRUE)"
    )


def test_python_script_for_an_upload_runs_and_gives_lme4s_numbers(tmp_path):
    """The Exam interaction model from a CSV: the printed criterion is lme4's."""
    data = ROOT / "tests" / "reference" / "data" / "formula_exam.csv"
    (tmp_path / "exam.csv").write_bytes(data.read_bytes())
    spec = parse_formula("normexam ~ standLRT * schgend + (standLRT | school)")
    out = subprocess.run(
        [sys.executable, "-c", python_script(spec, data_file="exam.csv")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    reference = json.loads((ROOT / "tests" / "reference" / "formula_reference.json").read_text())
    case = next(c for c in reference["cases"] if c["id"] == "exam_interaction")
    printed = float(out.stdout.strip().splitlines()[-1].split()[-1])
    assert printed == pytest.approx(case["default"]["criterion"], rel=1e-8)
    assert "standLRT:schgendmixed" in out.stdout  # the summary's fixed-effects table


def test_python_script_in_duckdb_runs_on_the_file(tmp_path):
    """The Model page's script for a large upload fits in DuckDB, with the same numbers."""
    (tmp_path / "schools.csv").write_bytes((ROOT / "data" / "schools.csv").read_bytes())
    script = python_script(RIS, data_file="schools.csv", duckdb=True)
    assert "fit_engine" in script and "load_table" not in script
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert "REML criterion 916.78" in out.stdout
