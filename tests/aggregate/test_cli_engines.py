"""``python -m lib fit ... --engine``: same JSON numbers, documented defaults, clear errors."""

from __future__ import annotations

import json

import pytest

from lib.aggregate import cli as engine_cli
from lib.cli import build_parser, main

SLEEP = "tests/reference/data/sleepstudy.csv"
FLAGS = [
    "--outcome",
    "Reaction",
    "--group",
    "Subject",
    "--fixed",
    "Days",
    "--random",
    "intercept,Days",
]


def _run(capsys, argv):
    code = main(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_duckdb_engine_prints_the_pandas_numbers(capsys):
    code, pandas_out, _ = _run(capsys, ["fit", SLEEP, *FLAGS, "--engine", "pandas"])
    assert code == 0
    code, duck_out, _ = _run(capsys, ["fit", SLEEP, *FLAGS, "--engine", "duckdb"])
    assert code == 0
    a, b = json.loads(pandas_out), json.loads(duck_out)
    assert b["criterion"] == pytest.approx(a["criterion"], rel=1e-10)
    assert b["fixef"] == pytest.approx(a["fixef"], rel=1e-8)
    assert b["nobs"] == a["nobs"] and b["ngroups"] == a["ngroups"]
    assert list(b["ranef"]["Subject"]) == list(a["ranef"]["Subject"])


def test_spec_file_with_duckdb(tmp_path, made, capsys):
    path, spec = made["nested"]
    model = tmp_path / "model.json"
    model.write_text(json.dumps(spec.to_dict()))
    code, out, err = _run(capsys, ["fit", str(path), "--spec", str(model), "--engine", "duckdb"])
    assert code == 0, err
    assert set(json.loads(out)["ngroups"]) == {"school", "class:school"}


def _args(*argv):
    return build_parser().parse_args(["fit", *argv])


def test_default_engine(tmp_path, monkeypatch):
    assert engine_cli.choose_engine(_args(SLEEP)) == "pandas"
    assert engine_cli.choose_engine(_args(str(tmp_path / "*.parquet"))) == "duckdb"
    assert engine_cli.choose_engine(_args(SLEEP, "--spark-conf", "a=b")) == "spark"
    monkeypatch.setattr(engine_cli, "DUCKDB_ABOVE_BYTES", 1000)
    assert engine_cli.choose_engine(_args(SLEEP)) == "duckdb"


@pytest.mark.parametrize(
    "extra,words",
    [
        (["--spark-conf", "novalue"], "--spark-conf takes KEY=VALUE"),
        (["--engine", "duckdb", "--spark-master", "local[1]"], "need --engine spark"),
    ],
)
def test_bad_engine_options_exit_2(capsys, extra, words):
    code, _, err = _run(capsys, ["fit", SLEEP, *FLAGS, *extra])
    assert code == 2 and words in err and "Traceback" not in err


def test_missing_glob_exits_2(capsys, tmp_path):
    code, _, err = _run(capsys, ["fit", str(tmp_path / "*.parquet"), *FLAGS])
    assert code == 2 and "No file matches" in err
