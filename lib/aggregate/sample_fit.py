"""Fitted values and residuals of a fit to every row, at the rows of a sample.

A fit computed in a SQL engine (``lib.aggregate.sqlfit.fit_engine``) holds no
per-row values. The residual plots need some: this evaluates the fit's
conditional prediction, X beta + Z b (lme4's ``fitted()``), at the complete rows
of a sample held in pandas, with the fit's own coefficients and conditional modes
(nothing is refitted), so the plots show the full-data model at those rows.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pandas as pd

from lib.lmm import LmmFit
from lib.model.levels import factor_columns
from lib.model.spec import INTERCEPT
from lib.table.columns import complete_rows, factor_codes, interaction_codes, is_numeric_column


def fitted_at(fit: LmmFit, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(fitted, residuals) of ``fit`` at the complete rows of ``frame``, in their order.

    A level of a grouping factor that the fit does not know (impossible when
    ``frame`` is a sample of the fitted rows) gets a random effect of 0, as
    lme4's ``predict(..., allow.new.levels = TRUE)``.
    """
    spec = fit.spec
    clean, _ = complete_rows(frame, list(spec.columns))
    n = len(clean)
    beta = dict(zip(fit.fixef_names, np.asarray(fit.beta, float), strict=True))
    fitted = np.full(n, beta.get(INTERCEPT, 0.0))
    for term in spec.fixed_terms:
        fitted += _term_prediction(clean, term.columns, beta)
    for factor in fit.ranef:
        codes, levels = interaction_codes(clean, list(factor_columns(spec, factor.group)))
        known = {level: k for k, level in enumerate(factor.levels)}
        rows = np.array([known.get(level, -1) for level in levels], dtype=np.int64)[codes]
        modes = np.vstack([np.asarray(factor.modes, float), np.zeros(len(factor.names))])
        for k, effect in enumerate(factor.names):
            z = 1.0 if effect == INTERCEPT else clean[effect].to_numpy(dtype=float)
            fitted += modes[rows, k] * z  # row -1 picks the appended zeros
    residuals = clean[spec.outcome].to_numpy(dtype=float) - fitted
    return fitted, residuals


def _term_prediction(clean: pd.DataFrame, columns: tuple[str, ...], beta: dict) -> np.ndarray:
    """One fixed term's part of X beta at the rows of ``clean``.

    Columns of X are named as ``lib.model.fixed`` names them (numeric column names
    and column + level joined by ":"); every combination of the sample's levels is
    looked up by that name, and a name the fit lacks (a reference level, a dropped
    column, a level the sample has and the fit had not) contributes 0.
    """
    parts: list[list[tuple[str, np.ndarray]]] = []
    for column in columns:
        series = clean[column]
        if is_numeric_column(series):
            parts.append([(column, series.to_numpy(dtype=float))])
            continue
        codes, levels = factor_codes(series)
        parts.append([(f"{column}{lev}", codes == k) for k, lev in enumerate(levels)])
    total = np.zeros(len(clean))
    for combo in itertools.product(*parts):
        coef = beta.get(":".join(name for name, _ in combo), 0.0)
        if coef:
            values = np.ones(len(clean))
            for _, v in combo:
                values = values * v
            total += coef * values
    return total


def with_sample_rows(fit: LmmFit, frame: pd.DataFrame) -> LmmFit:
    """``fit`` with ``fitted`` and ``residuals`` at the complete rows of ``frame``
    (every other number, the residual quantiles included, stays the full fit's)."""
    fitted, residuals = fitted_at(fit, frame)
    return replace(fit, fitted=fitted, residuals=residuals)
