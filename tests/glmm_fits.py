"""The engine's fits of the GLMM reference cases (tests/glmm_reference.py), made once
per test session and shared by the feature tests (predictions, intervals, variance,
dispersion, comparisons)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from lib.glmm.fit import fit_glmm
from lib.glmm.result import GlmmFit
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec, RandomTerm
from tests.glmm_reference import GlmmCase, case


def spec_of(c: GlmmCase) -> ModelSpec:
    r = c.response
    outcome = r["successes"] if r["type"] == "binomial_trials" else r["column"]
    random = tuple(
        RandomTerm(
            group=tuple(t["group"]),
            intercept=t["intercept"],
            slopes=tuple(t["slopes"]),
            correlated=t["correlated"],
        )
        for t in c.random_terms
    )
    return ModelSpec(outcome=outcome, fixed=c.fixed_terms, random=random)


def response_family_of(c: GlmmCase) -> ResponseFamily:
    trials = c.response.get("trials")
    offset = None if c.offset is None else "log_" + c.offset["column"]
    return ResponseFamily(c.family, link=c.link, trials=trials, offset=offset)


def frame_of(c: GlmmCase) -> pd.DataFrame:
    """The case's data, with the offset column ``log_<column>`` when it has one."""
    df = c.frame
    if c.offset is not None:
        df["log_" + c.offset["column"]] = np.log(df[c.offset["column"]].to_numpy(float))
    return df


@cache
def fit_of(case_id: str) -> GlmmFit:
    c = case(case_id)
    return fit_glmm(frame_of(c), spec_of(c), response_family_of(c), nagq=c.nAGQ)
