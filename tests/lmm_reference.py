"""Shared access to the R reference values (tests/reference/lmm_reference.json)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pandas as pd

from lib.lmm import LmmFit, fit_lmm
from lib.model.spec import ModelSpec

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "lmm_reference.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def spec_from_json(s: dict) -> ModelSpec:
    return ModelSpec.one_factor(
        outcome=s["outcome"],
        group=s["group"],
        fixed=tuple(s["fixed"]),
        random_intercept=s["random_intercept"],
        random_slopes=tuple(s["random_slopes"]),
        correlated=s["correlated"],
        reml=s["reml"],
    )


@cache
def frame(path: str) -> pd.DataFrame:
    return pd.read_csv(ROOT / path)


@cache
def fitted_case(name: str) -> tuple[dict, LmmFit]:
    """Fit each reference case once per test session (MixedModels.jl's habit)."""
    case = next(c for c in reference()["cases"] if c["name"] == name)
    return case, fit_lmm(frame(case["data"]), spec_from_json(case["spec"]))
