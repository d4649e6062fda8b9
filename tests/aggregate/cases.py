"""Cases every engine must fit as the pandas engine does, and how to compare fits.

The reference data sets with their specs (tests/reference/lmm_reference.json), plus
a nested and a crossed design made here (written to CSV so every engine reads the
same file) and a file whose column names are hostile to SQL.

Tolerances, and why (measured; see tests/aggregate/test_duckdb.py):
- The per-level sums are bit-identical to numpy's; X'X, X'y and y'y differ in the
  last bit because the engines add per-group partial sums where numpy uses BLAS.
- The criterion agrees to 1e-10 relative (measured: < 1e-12), fixed effects to 1e-8.
- Every other number (theta and what follows from it: SEs, variance components,
  modes, quantiles, R^2, Satterthwaite df) to 1e-8 relative (measured: theta
  <= 3.5e-12, df <= 1.5e-9). The search ends with Newton steps on the exact
  gradient (lib.lmm.gradient), which find its zero to ~1e-12 although the
  criterion itself cannot tell thetas ~1e-7 apart (its rounding is ~1e-12
  relative: r^2 = y'y - |c_u|^2 - |c_b|^2 cancels).
  Not covered here: a model with several terms and a variance at 0 has no exact
  gradient (Lambda is singular) and falls back to differences, ~1e-7.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from lib.model.spec import ModelSpec, RandomTerm
from tests.lmm_reference import ROOT, reference, spec_from_json

CRIT_RTOL = 1e-10
BETA_RTOL = 1e-8
THETA_RTOL = 1e-8  # see the module docstring
DF_RTOL = 1e-8
HOSTILE = 'sc"hool`; DROP TABLE x; --'


def reference_cases() -> list[tuple[str, Path, ModelSpec]]:
    return [(c["name"], ROOT / c["data"], spec_from_json(c["spec"])) for c in reference()["cases"]]


@cache
def made_files(folder: str) -> dict[str, tuple[Path, ModelSpec]]:
    """Nested, crossed and hostile-name data as CSV files in ``folder``."""
    rng = np.random.default_rng(7)
    out = {}
    # Nested: 8 schools x 3-5 classes, (1 | school) + (1 | class:school); class labels
    # repeat across schools (as in lme4's (1 | school/class)), numeric class codes.
    rows = []
    for s in range(8):
        u = rng.normal(0, 2)
        for c in range(1, int(rng.integers(3, 6)) + 1):
            v = rng.normal(0, 1)
            for _ in range(int(rng.integers(4, 12))):
                x = rng.normal(5, 2)
                rows.append((f"s{s:02d}", c, x, 10 + 0.5 * x + u + v + rng.normal(0, 1.5)))
    nested = pd.DataFrame(rows, columns=["school", "class", "x", "y"])
    nested.loc[3, "y"] = np.nan  # one incomplete row
    path = Path(folder) / "nested.csv"
    nested.to_csv(path, index=False)
    out["nested"] = (
        path,
        ModelSpec(
            outcome="y",
            fixed=("x",),
            random=(RandomTerm(("school",)), RandomTerm(("class", "school"))),
        ),
    )
    # Crossed: 25 subjects x 12 items, some cells missing; random slope for subjects.
    rows = []
    us, ui = rng.normal(0, [2, 0.4], (25, 2)), rng.normal(0, 1, 12)
    for s in range(25):
        for i in range(12):
            if rng.random() < 0.15:
                continue
            x = rng.normal()
            trt = "AB"[int(rng.random() < 0.5)]
            y = 3 + x + (trt == "B") + us[s, 0] + us[s, 1] * x + ui[i] + rng.normal()
            rows.append((f"subj{s}", f"item{i:02d}", x, trt, y))
    crossed = pd.DataFrame(rows, columns=["subject", "item", "x", "trt", "y"])
    path = Path(folder) / "crossed.csv"
    crossed.to_csv(path, index=False)
    out["crossed"] = (
        path,
        ModelSpec(
            outcome="y",
            fixed=("x", "trt"),
            random=(RandomTerm(("subject",), slopes=("x",)), RandomTerm(("item",))),
            reml=False,
        ),
    )
    # Hostile column names: quotes, backticks, a semicolon and a comment.
    hostile = pd.read_csv(ROOT / "data" / "schools.csv").rename(
        columns={"school": HOSTILE, "study_time": 'x"; --', "test_score": "y`y"}
    )
    path = Path(folder) / "hostile.csv"
    hostile.to_csv(path, index=False)
    out["hostile"] = (
        path,
        ModelSpec.one_factor(
            outcome="y`y", group=HOSTILE, fixed=('x"; --',), random_slopes=('x"; --',)
        ),
    )
    return out


def _close(a, b, rtol: float, what: str) -> None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert a.shape == b.shape, what
    # Relative to the array's largest entry, so a mode or correlation near 0 is not
    # judged against itself.
    scale = float(np.max(np.abs(a))) if a.size else 0.0
    np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol * scale, err_msg=what)


def assert_same_fit(expected, got) -> None:
    """``got`` (another engine) against ``expected`` (pandas), number by number."""
    assert got.formula == expected.formula
    assert got.nobs == expected.nobs and got.n_dropped == expected.n_dropped
    assert got.fixef_names == expected.fixef_names
    assert got.singular == expected.singular
    _close(expected.criterion, got.criterion, CRIT_RTOL, "criterion")
    _close(expected.beta, got.beta, BETA_RTOL, "beta")
    for what in ("theta", "sigma", "beta_se", "beta_t", "scaled_resid_quantiles"):
        _close(getattr(expected, what), getattr(got, what), THETA_RTOL, what)
    _close(expected.beta_df, got.beta_df, DF_RTOL, "beta_df")
    for te, tg in zip(expected.varcorr.terms, got.varcorr.terms, strict=True):
        assert (te.group, te.names) == (tg.group, tg.names)
        _close(te.covariance, tg.covariance, THETA_RTOL, f"covariance {te.group}")
    for fe, fg in zip(expected.ranef, got.ranef, strict=True):
        assert (fe.group, fe.levels, fe.names) == (fg.group, fg.levels, fg.names)
        np.testing.assert_array_equal(fe.sizes, fg.sizes)
        _close(fe.modes, fg.modes, THETA_RTOL, f"modes {fe.group}")
        _close(fe.condvar, fg.condvar, THETA_RTOL, f"condvar {fe.group}")
    for part in ("icc", "r2"):
        e, g = getattr(expected, part), getattr(got, part)
        assert (e is None) == (g is None), part
        if e is not None:
            for field in e.__dataclass_fields__:
                ev, gv = getattr(e, field), getattr(g, field)
                if ev is None or gv is None or not np.isfinite(ev):
                    assert (ev is None and gv is None) or (ev == gv or np.isnan(ev)), field
                else:
                    _close(ev, gv, THETA_RTOL, f"{part}.{field}")


def random_effects_inputs(design, seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Some beta and conditional modes for a second pass (any values will do: the
    engines must give the rows-in-memory numbers for them)."""
    rng = np.random.default_rng(seed)
    beta = rng.normal(size=design.X.shape[1])
    return beta, [rng.normal(size=(t.q, t.nlevels)) for t in design.terms]
