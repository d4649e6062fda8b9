"""``python -m lib fit ... --confint ... --predictions``: the keys and their numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lib import cli

REF = json.loads(Path("tests/reference/intervals_reference.json").read_text())
PASTES = "data/pastes.csv"
FORMULA = "strength ~ 1 + (1 | batch/cask)"
ROW_KEYS = ["effect", "group", "term", "estimate", "conf.low", "conf.high"]


def run(capsys, *args: str) -> tuple[int, dict | None, str]:  # noqa: ANN001
    code = cli.main(["fit", *args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 else None), out.err


def test_profile_confint_rows_match_lme4(capsys) -> None:  # noqa: ANN001
    code, doc, _ = run(capsys, PASTES, "--formula", FORMULA, "--confint", "profile")
    assert code == 0
    rows = doc["confint"]
    assert [list(r) for r in rows] == [ROW_KEYS] * 4
    assert [(r["effect"], r["group"], r["term"]) for r in rows] == [
        ("fixed", None, "(Intercept)"),
        ("ran_pars", "cask:batch", "sd__(Intercept)"),
        ("ran_pars", "batch", "sd__(Intercept)"),
        ("ran_pars", "Residual", "sd__Observation"),
    ]
    ref = {(r["name"]): r for r in REF["pastes"]["profile"]}
    order = ["(Intercept)", "sd_(Intercept)|cask:batch", "sd_(Intercept)|batch", "sigma"]
    for row, name in zip(rows, order, strict=True):
        width = ref[name]["upper"] - ref[name]["lower"]
        assert abs(row["conf.low"] - ref[name]["lower"]) <= 5e-3 * width
        assert abs(row["conf.high"] - ref[name]["upper"]) <= 5e-3 * width
    assert doc["confint_settings"] == {"method": "profile", "level": 0.95, "nsim": None}
    assert doc["timing"]["confint_seconds"] > 0


def test_wald_gives_null_for_variance_parameters(capsys) -> None:  # noqa: ANN001
    code, doc, _ = run(capsys, PASTES, "--formula", FORMULA, "--confint", "wald", "--level", "0.9")
    assert code == 0
    fixed = doc["confint"][0]
    se = doc["fixef_se"]["(Intercept)"]
    assert fixed["conf.high"] - fixed["estimate"] == pytest.approx(1.6448536 * se, rel=1e-6)
    assert all(r["conf.low"] is None for r in doc["confint"][1:])


def test_boot_is_seeded(capsys) -> None:  # noqa: ANN001
    args = (PASTES, "--formula", FORMULA, "--confint", "boot", "--nboot", "20", "--seed", "4")
    docs = [run(capsys, *args)[1] for _ in range(2)]
    assert docs[0]["confint"] == docs[1]["confint"]
    assert docs[0]["confint_settings"]["nsim"] == 20


def test_predictions_for_every_row_in_file_order(capsys, tmp_path) -> None:  # noqa: ANN001
    lines = Path(PASTES).read_text().splitlines()
    # a row with a missing outcome: left out of the fit, its predictions are null
    lines.insert(3, '"NA","A","a","A:a"')
    path = tmp_path / "pastes_missing.csv"
    path.write_text("\n".join(lines) + "\n")
    code, doc, _ = run(capsys, str(path), "--formula", FORMULA, "--predictions")
    assert code == 0
    cond, marg = doc["predictions"]["conditional"], doc["predictions"]["marginal"]
    assert len(cond) == len(marg) == 61
    ref_cond = REF["pastes"]["predict_conditional"]
    ref_marg = REF["pastes"]["predict_marginal"]
    # the missing outcome does not stop a prediction: the predictors are all there
    np.testing.assert_allclose(np.delete(cond, 2), ref_cond, rtol=1e-6)
    np.testing.assert_allclose(np.delete(marg, 2), ref_marg, rtol=1e-6)
    assert cond[2] == pytest.approx(ref_cond[0])


def test_missing_predictor_gives_null(capsys, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "schools.csv"
    lines = Path("data/schools.csv").read_text().splitlines()
    school = lines[1].split(",")[0]
    lines.append(f"{school},,50.0")
    path.write_text("\n".join(lines) + "\n")
    formula = "test_score ~ study_time + (study_time | school)"
    code, doc, _ = run(capsys, str(path), "--formula", formula, "--predictions")
    assert code == 0
    assert doc["predictions"]["conditional"][-1] is None
    assert doc["predictions"]["marginal"][-1] is None
    assert doc["n_dropped"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--confint", "profile", "--engine", "duckdb"), "--engine pandas"),
        (("--confint", "wald", "--level", "1.5"), "between 0 and 1"),
        (("--confint", "boot", "--nboot", "0"), "bootstrap refits"),
    ],
)
def test_bad_options_exit_2(capsys, args, message) -> None:  # noqa: ANN001
    code, _, err = run(capsys, PASTES, "--formula", FORMULA, *args)
    assert code == 2
    assert message in err
