"""A formula's computed column (``log(x)``, ``I(x^2)``) with ``--engine duckdb``: the
message says that computed columns need the pandas engine, not "not in the data"."""

from __future__ import annotations

import json

import pytest

from lib.cli import main

SLEEP = "tests/reference/data/sleepstudy.csv"


@pytest.mark.parametrize(
    "formula, computed",
    [
        ("Reaction ~ sqrt(Days) + (1 | Subject)", "sqrt(Days)"),
        ("Reaction ~ Days + I(Days^2) + (1 | Subject)", "I(Days^2)"),
        ("log(Reaction) ~ Days + (1 | Subject)", "log(Reaction)"),
    ],
)
def test_duckdb_says_computed_columns_need_the_pandas_engine(capsys, formula, computed):
    code = main(["fit", SLEEP, "--engine", "duckdb", "--formula", formula])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert (
        f"{computed} is a column the formula computes, and the DuckDB engine fits from the "
        "data's own columns only. Computed columns need the pandas engine (the CLI's "
        "--engine pandas"
    ) in err
    assert "is not in the data" not in err


def test_an_expression_we_do_not_compute_is_a_formula_error_first(capsys):
    code = main(["fit", SLEEP, "--engine", "duckdb", "--formula", "Reaction ~ log(Days + 1)"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Formula error" in err and "the DuckDB engine" not in err


def test_the_pandas_engine_fits_the_same_formula(capsys):
    code = main(["fit", SLEEP, "--formula", "Reaction ~ Days + I(Days^2) + (1 | Subject)"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert "I(Days^2)" in out["fixef"]
