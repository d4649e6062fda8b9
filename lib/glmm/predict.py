"""Predictions of a GLMM, as lme4's ``predict.merMod``, and effect-plot data.

The same calls as ``lib.lmm.predict`` (``prediction_basis``, ``predict``,
``effect_data``), so the app and the CLI treat both engines alike; the linear
predictor is that module's (X beta, plus Z b for ``conditional``), with:

* the offset column added (lme4: ``re.form = NA`` gives ``offset + X beta``);
* ``scale``: ``"link"`` (eta, ``predict()``'s default ``type = "link"``) or
  ``"response"`` (mu = g^{-1}(eta), ``type = "response"``: a probability for the
  binomial, an expected count for the Poisson);
* an unseen level of a grouping factor gets no random effect (lme4's
  ``allow.new.levels = TRUE``: the population prediction).

``effect_data`` gives the population-level curve (random effects at 0) against one
predictor as ``ggeffects::ggpredict`` does for a GLMM: the normal band is formed on
the link scale from vcov(beta) and then transformed, so on the response scale it is
asymmetric and stays inside (0, 1) for a probability. With an offset the curve is
drawn at the offset's mean over the fitting rows (the typical exposure).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lib.errors import DataError, SpecError
from lib.glmm.family import Family
from lib.glmm.family import family as make_family
from lib.glmm.result import GlmmFit
from lib.lmm import predict as linear
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.model.transforms import with_derived
from lib.table.columns import complete_rows

SCALES = ("link", "response")


@dataclass(frozen=True, eq=False)
class GlmmPredictionBasis:
    """What GLMM predictions need of the fitting data beyond the fit.

    Attributes
    ----------
    linear : lib.lmm.predict.PredictionBasis
        Factor levels and numeric summaries of the fixed part.
    response_family : ResponseFamily
        The family, link and offset column.
    offset_mean : float
        Mean of the offset column over the fitting rows (0 without one).
    """

    linear: linear.PredictionBasis
    response_family: ResponseFamily
    offset_mean: float

    @property
    def spec(self) -> ModelSpec:
        return self.linear.spec

    @property
    def family(self) -> Family:
        rf = self.response_family
        return make_family(rf.family, rf.link_name)


@dataclass(frozen=True, eq=False)
class _LinearView:
    """The parts of a GlmmFit that ``lib.lmm.predict`` reads, under its names."""

    beta: np.ndarray
    fixef_names: tuple
    ranef: tuple
    vcov_beta: np.ndarray


def _view(fit: GlmmFit) -> _LinearView:
    return _LinearView(fit.beta, fit.fixef_names, fit.ranef, fit.vcov)


def prediction_basis(
    frame: pd.DataFrame, spec: ModelSpec, response_family: ResponseFamily
) -> GlmmPredictionBasis:
    """The fit's factor levels, numeric summaries and offset mean, from its data."""
    if not response_family.generalized:
        raise SpecError("A Gaussian outcome is a linear mixed model: use lib.lmm.predict.")
    columns = tuple(spec.columns) + tuple(response_family.columns)
    clean, _ = complete_rows(with_derived(frame, spec.columns), columns)
    offset = response_family.offset
    mean = 0.0 if offset is None else float(clean[offset].to_numpy(dtype=float).mean())
    # scale(x) as the fit scaled it: over every row where x is present (lib.model.transforms).
    scales = linear.scale_parameters(frame, spec)
    basis = replace(linear.prediction_basis(clean, spec), scales=scales)
    return GlmmPredictionBasis(basis, response_family, mean)


def _check_scale(scale: str) -> None:
    if scale not in SCALES:
        raise SpecError(f"scale must be 'link' or 'response', got {scale!r}.")


def predict(
    fit: GlmmFit,
    basis: GlmmPredictionBasis,
    rows: pd.DataFrame,
    conditional: bool = True,
    scale: str = "link",
) -> np.ndarray:
    """Predictions for ``rows`` (NaN where a used value is missing).

    Parameters
    ----------
    fit : GlmmFit
    basis : GlmmPredictionBasis
        From the data the fit was made on.
    rows : DataFrame
        The fitting data or new rows with the predictors, the offset column if the
        model has one, and the grouping columns for ``conditional``.
    conditional : bool
        True: lme4's ``re.form = NULL`` (unseen levels get no random effect);
        False: ``re.form = NA``, offset + X beta.
    scale : str
        ``"link"`` (eta) or ``"response"`` (g^{-1}(eta)).
    """
    _check_scale(scale)
    eta = linear.predict(_view(fit), basis.linear, rows, conditional)
    offset = basis.response_family.offset
    if offset is not None:
        if offset not in rows.columns:
            raise DataError(
                f"The new rows lack the offset column {offset!r} (the model adds it to "
                "every prediction, e.g. the log of the exposure)."
            )
        eta = eta + pd.to_numeric(rows[offset], errors="coerce").to_numpy(dtype=float)
    if scale == "link":
        return eta
    out = np.full(eta.shape, np.nan)
    ok = np.isfinite(eta)
    out[ok] = basis.family.linkinv(eta[ok])
    return out


def effect_data(
    fit: GlmmFit,
    basis: GlmmPredictionBasis,
    predictor: str,
    moderator: str | None = None,
    level: float = 0.95,
    points: int = linear.GRID_POINTS,
    scale: str = "response",
) -> pd.DataFrame:
    """Population-level predictions against ``predictor``, one line per moderator value.

    Columns as ``lib.lmm.predict.effect_data``: ``x``, ``group``, ``predicted``,
    ``std.error`` (always on the link scale), ``conf.low``, ``conf.high`` (on
    ``scale``: the link-scale band through g^{-1} for ``"response"``).
    """
    _check_scale(scale)
    out = linear.effect_data(_view(fit), basis.linear, predictor, moderator, level, points)
    for column in ("predicted", "conf.low", "conf.high"):
        eta = out[column].to_numpy(dtype=float) + basis.offset_mean
        out[column] = eta if scale == "link" else basis.family.linkinv(eta)
    return out
