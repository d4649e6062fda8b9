"""Access to the GLMM reference values (tests/reference/glmm_reference.json).

The JSON and the CSV files under ``tests/reference/data/glmm_*.csv`` were written by
``tests/reference/glmm_reference.R`` (lme4 1.1-31 ``glmer`` under tight control, with
glmmTMB as a second opinion); ``tests/reference/glmm_README.md`` describes every field.
Tests run without R: this module gives each case as

* ``frame``: the CSV with factor columns as pandas ``Categorical`` in R's level order
  (the order lme4 used; the first level is the treatment-coding reference and, for a
  factor response, the failure);
* ``formula`` (lme4 text), ``family`` ("binomial" / "poisson"), ``link``, ``nAGQ``;
* ``response`` / ``offset`` descriptions, and :func:`response_arrays` turning them into
  the ``y``, prior ``weights`` and ``offset`` vectors lme4 works with;
* ``expected``: the ``result`` block of the JSON (lme4's numbers), ``glmmTMB`` and
  ``alternatives`` (the same model under glmer's default control).

It also regenerates the simulated benchmark data of ``benchmarks/bench_glmm_r.R``
(:func:`simulate_binary_slope`), bit for bit.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "reference" / "glmm_reference.json"
BENCH_REFERENCE = ROOT / "tests" / "reference" / "glmm_bench_r.json"


@cache
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@cache
def dataset(name: str) -> dict:
    return next(d for d in reference()["datasets"] if d["name"] == name)


@cache
def _frame(name: str) -> pd.DataFrame:
    info = dataset(name)
    levels = info["factor_levels"]
    df = pd.read_csv(ROOT / info["path"], dtype={c: str for c in levels}, keep_default_na=False)
    for column, lv in levels.items():
        df[column] = pd.Categorical(df[column], categories=lv)
    return df


def frame(name: str) -> pd.DataFrame:
    """The data set ``name`` (a copy: callers may modify it)."""
    return _frame(name).copy()


@dataclass(frozen=True)
class GlmmCase:
    """One reference fit.

    Attributes
    ----------
    id, dataset, formula, family, link : str
    nAGQ : int
        0 (lme4's first stage alone), 1 (Laplace) or the number of quadrature nodes.
    response : dict
        ``{"type": "binomial_trials", "successes", "trials"}``,
        ``{"type": "binary_factor", "column", "failure_level"}`` or
        ``{"type": "count", "column"}``.
    offset : dict or None
        ``{"expression": "log(BroodSize)", "column": "BroodSize", "transform": "log"}``.
    fixed_terms : tuple of str
        Columns of the fixed part in formula order (factors expand to R's dummies).
    random_terms : tuple of dict
        ``{"group": [...], "intercept", "slopes": [...], "correlated"}`` in formula order.
    expected, glmmTMB, alternatives : dict
        The JSON blocks ``result``, ``glmmTMB`` and ``alternatives``.
    """

    id: str
    dataset: str
    description: str
    formula: str
    family: str
    link: str
    nAGQ: int
    response: dict
    offset: dict | None
    fixed_terms: tuple[str, ...]
    random_terms: tuple[dict, ...]
    expected: dict
    glmmTMB: dict | None
    alternatives: dict

    @property
    def frame(self) -> pd.DataFrame:
        return frame(self.dataset)


def _case_from_json(c: dict) -> GlmmCase:
    return GlmmCase(
        id=c["id"],
        dataset=c["dataset"],
        description=c["description"],
        formula=c["formula"],
        family=c["family"],
        link=c["link"],
        nAGQ=int(c["nAGQ"]),
        response=c["response"],
        offset=c["offset"],
        fixed_terms=tuple(c["fixed_terms"]),
        random_terms=tuple(c["random_terms"]),
        expected=c["result"],
        glmmTMB=c["glmmTMB"],
        alternatives=c["alternatives"],
    )


@cache
def cases() -> tuple[GlmmCase, ...]:
    return tuple(_case_from_json(c) for c in reference()["cases"])


def case_ids() -> list[str]:
    return [c.id for c in cases()]


def case(case_id: str) -> GlmmCase:
    for c in cases():
        if c.id == case_id:
            return c
    raise KeyError(f"no GLMM reference case {case_id!r}; have {case_ids()}")


def comparisons() -> list[dict]:
    return reference()["comparisons"]


def response_arrays(c: GlmmCase) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``y``, prior ``weights`` and ``offset`` as lme4's response module holds them.

    Binomial with trials: y = successes / trials, weights = trials
    (``cbind(s, f)`` in glmer). A factor response: y = 0 for the first level, 1 for
    any other, weights 1. Counts: y as is, weights 1. The offset is 0 unless the
    case has one (``log(column)``).
    """
    df = c.frame
    r = c.response
    if r["type"] == "binomial_trials":
        trials = df[r["trials"]].to_numpy(float)
        y = df[r["successes"]].to_numpy(float) / trials
        weights = trials
    elif r["type"] == "binary_factor":
        y = (df[r["column"]].astype(str) != r["failure_level"]).to_numpy(float)
        weights = np.ones(len(df))
    elif r["type"] == "count":
        y = df[r["column"]].to_numpy(float)
        weights = np.ones(len(df))
    else:
        raise ValueError(f"unknown response type {r['type']!r}")
    offset = np.zeros(len(df))
    if c.offset is not None:
        if c.offset["transform"] != "log":
            raise ValueError(f"unknown offset transform {c.offset['transform']!r}")
        offset = np.log(df[c.offset["column"]].to_numpy(float))
    return y, weights, offset


def inverse_link(link: str, eta: np.ndarray) -> np.ndarray:
    """The mean from the linear predictor, for the links the cases use."""
    eta = np.asarray(eta, float)
    if link == "logit":
        return 1.0 / (1.0 + np.exp(-eta))
    if link == "probit":
        from scipy.special import ndtr

        return ndtr(eta)
    if link == "cloglog":
        return -np.expm1(-np.exp(eta))
    if link == "log":
        return np.exp(eta)
    raise ValueError(f"unknown link {link!r}")


def simulate_binary_slope(n: int, groups: int, seed: int = 20240611) -> pd.DataFrame:
    """The simulated benchmark data of ``benchmarks/bench_glmm_r.R``, bit for bit.

    Park-Miller uniforms ``s <- 48271 s mod (2^31 - 1)``; per group two Irwin-Hall
    normals (sum of 12 uniforms - 6) give correlated intercept/slope effects (SDs 1 and
    0.5, correlation 0.3); per row x1, x2 uniform with variance 1 and
    ``y = [u (1 + exp(-eta)) < 1]`` with eta = -0.5 + x1 - 0.7 x2 + b0 + b1 x1. Python
    integers and ``math`` (glibc) do the same IEEE operations as R, so the doubles
    match; ``tests/reference/glmm_bench_r.json`` records R's md5 of the rows.
    """
    if n % groups:
        raise ValueError(f"n ({n}) must be a multiple of groups ({groups})")
    state = seed

    def uniforms(count: int) -> list[float]:
        nonlocal state
        out = []
        for _ in range(count):
            state = (48271 * state) % 2147483647
            out.append(state / 2147483647)
        return out

    u = uniforms(24 * groups)
    z = []
    for k in range(2 * groups):
        total = 0.0
        for v in u[12 * k : 12 * k + 12]:  # R's colSums adds in this order
            total += v
        z.append(total - 6)
    rho = 0.3
    b0 = [1.0 * a for a in z[0::2]]
    b1 = [
        0.5 * (rho * a + math.sqrt(1 - rho**2) * b) for a, b in zip(z[0::2], z[1::2], strict=True)
    ]
    u = uniforms(3 * n)
    per = n // groups
    s3 = math.sqrt(3)
    y = np.empty(n)
    x1 = np.empty(n)
    x2 = np.empty(n)
    g = np.arange(n) // per
    for i in range(n):
        a = s3 * (2 * u[3 * i] - 1)
        b = s3 * (2 * u[3 * i + 1] - 1)
        k = g[i]
        eta = -0.5 + 1.0 * a - 0.7 * b + b0[k] + b1[k] * a
        y[i] = 1.0 if u[3 * i + 2] * (1 + math.exp(-eta)) < 1 else 0.0
        x1[i] = a
        x2[i] = b
    width = len(str(groups))
    labels = [f"g{k:0{width}d}" for k in range(groups)]
    return pd.DataFrame(
        {"y": y, "x1": x1, "x2": x2, "g": pd.Categorical.from_codes(g, categories=labels)}
    )


def fingerprint_lines(df: pd.DataFrame) -> str:
    """The text whose md5 ``bench_glmm_r.R`` records: 'y,x1,x2,g' lines, numbers as %.17g."""
    return "".join(
        f"{a:.17g},{b:.17g},{c:.17g},{d}\n"
        for a, b, c, d in zip(df["y"], df["x1"], df["x2"], df["g"].astype(str), strict=True)
    )
