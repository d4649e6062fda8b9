"""Predictions, as lme4's ``predict.merMod``, and effect-plot data, as ggeffects' ``ggpredict``.

``predict``: X beta (``re.form = NA``, "marginal") plus, for "conditional"
(``re.form = NULL``), each grouping factor's conditional modes times the row's
random-effect covariates. A level not seen in fitting contributes nothing
(lme4's ``allow.new.levels = TRUE``: the population prediction for that
factor); a categorical predictor's level not seen in fitting has no column in
X and is refused. New rows get X from ``lib.model.fixed``'s layout with the
fit's factor levels, so interactions are R's ``model.matrix`` columns.

``effect_data``: predicted outcome (population level) against one predictor
over a grid, one line per level of a moderator (a categorical one's levels; a
numeric one's mean and mean +- 1 SD), the other numeric predictors at their
means and categorical ones at their reference level, with a normal-theory
band sqrt(diag(X V X')) from vcov(beta), as ``ggeffects::ggpredict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special

from lib.errors import DataError, SpecError
from lib.lmm.result import LmmFit
from lib.model.fixed import column_values, fixed_layout
from lib.model.random_effects import slope_levels, term_pieces
from lib.model.spec import ModelSpec
from lib.model.transforms import source, with_derived
from lib.table.columns import complete_rows, factor_codes, is_numeric_column

GRID_POINTS = 40


@dataclass(frozen=True, eq=False)
class PredictionBasis:
    """What predictions need of the fitting data beyond the fit.

    Attributes
    ----------
    spec : ModelSpec
    levels : dict
        Per fixed-part column: its levels in R's order (categorical) or None (numeric).
    means, sds : dict
        Per numeric fixed-part column, over the rows used in fitting.
    ranges : dict
        Per numeric fixed-part column: (min, max).
    slope_levels : dict
        Per column on the left of a random term's "|": its levels in R's order
        (categorical: ``urban`` in ``(urban | district)``) or None (numeric).
    scales : dict
        Per ``scale(x)`` column of the model: the fitting data's (mean, sd), which new
        rows are scaled by (as R's ``makepredictcall`` keeps them for ``predict``).
    """

    spec: ModelSpec
    levels: dict
    means: dict
    sds: dict
    ranges: dict
    slope_levels: dict = field(default_factory=dict)
    scales: dict = field(default_factory=dict)


def prediction_basis(frame: pd.DataFrame, spec: ModelSpec) -> PredictionBasis:
    """The fit's factor levels and numeric summaries, from the data it was fitted to."""
    scales = scale_parameters(frame, spec)
    clean, _ = complete_rows(with_derived(frame, spec.columns), spec.columns)
    levels, means, sds, ranges = {}, {}, {}, {}
    for name in spec.fixed_columns:
        series = clean[name]
        if is_numeric_column(series):
            values = series.to_numpy(dtype=float)
            levels[name] = None
            means[name] = float(values.mean())
            sds[name] = float(values.std(ddof=1)) if values.size > 1 else 0.0
            ranges[name] = (float(values.min()), float(values.max()))
        else:
            levels[name] = factor_codes(series)[1]
    slopes = {k: v for t in spec.random for k, v in slope_levels(clean, t).items()}
    return PredictionBasis(
        spec=spec,
        levels=levels,
        means=means,
        sds=sds,
        ranges=ranges,
        slope_levels=slopes,
        scales=scales,
    )


def scale_parameters(frame: pd.DataFrame, spec: ModelSpec) -> dict:
    """(mean, sd) of each ``scale(x)`` column of ``spec`` over the rows of ``frame`` where
    x is present, as ``lib.model.transforms.derive`` scaled it for the fit."""
    scales = {}
    for name in spec.columns:
        found = source(name)
        if found is not None and found[0] == "scale" and found[1] in frame.columns:
            x = pd.to_numeric(frame[found[1]], errors="coerce").to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            scales[name] = (float(x.mean()), float(np.std(x, ddof=1)))
    return scales


def fixed_rows(basis: PredictionBasis, fit: LmmFit, rows: pd.DataFrame) -> np.ndarray:
    """X of ``rows`` (complete in the fixed part) with the fit's columns.

    Raises
    ------
    DataError
        A categorical value not seen in fitting, or a non-numeric numeric predictor.
    """
    spec = basis.spec
    numeric, codes = _row_values(basis.levels, rows, "predictor")
    layout = fixed_layout(spec.fixed_terms, spec.intercept, basis.levels)
    X = column_values(layout, numeric, codes, len(rows))
    position = {column.name: j for j, column in enumerate(layout)}
    return X[:, [position[name] for name in fit.fixef_names]]


def _row_values(
    levels: dict, rows: pd.DataFrame, role: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Numeric columns as floats and categorical ones as codes in the fit's level order.

    Raises
    ------
    DataError
        A categorical value not seen in fitting, or a non-numeric numeric column.
    """
    numeric, codes = {}, {}
    for name, known in levels.items():
        series = rows[name]
        if known is None:
            values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
            if np.isnan(values).any():
                raise DataError(f"The {role} {name!r} must be numeric in the new rows.")
            numeric[name] = values
            continue
        row_codes, row_labels = factor_codes(series)
        index = {label: k for k, label in enumerate(known)}
        unseen = [label for label in row_labels if label not in index]
        if unseen:
            raise DataError(
                f"The categorical {role} {name!r} has the value {unseen[0]!r} in the new "
                f"rows, which was not in the data the model was fitted to (its values: "
                f"{', '.join(known[:10])}{'...' if len(known) > 10 else ''})."
            )
        remap = np.array([index[label] for label in row_labels], dtype=np.int64)
        codes[name] = remap[row_codes]
    return numeric, codes


def random_columns(basis: PredictionBasis, rows: pd.DataFrame, group: str) -> dict:
    """The random-effect covariates of ``rows`` for one grouping factor, by effect name
    (lme4's ``cnms``: ``(Intercept)``, ``x``, ``urbanY``), from the fit's slope levels."""
    terms = [t for t in basis.spec.random if t.name == group]
    used = {s: basis.slope_levels[s] for t in terms for s in t.columns}
    numeric, codes = _row_values(used, rows, "random slope")
    out = {}
    for term in terms:
        for piece in term_pieces(term, basis.slope_levels):
            Z = column_values(piece.layout, numeric, codes, len(rows))
            out.update({name: Z[:, k] for k, name in enumerate(piece.names)})
    return out


def _with_computed(basis: PredictionBasis, rows: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``rows`` with the model's computed columns: ``scale(x)`` by the fitting data's mean
    and SD (``PredictionBasis.scales``), the others row by row (``with_derived``)."""
    scaled = [n for n in names if n in basis.scales and n not in rows.columns]
    if scaled:
        rows = rows.copy(deep=False)
        for name in scaled:
            mean, sd = basis.scales[name]
            x = pd.to_numeric(rows[source(name)[1]], errors="coerce")  # type: ignore[index]
            rows[name] = (x.to_numpy(dtype=float) - mean) / sd
    return with_derived(rows, names)


def _source_present(rows: pd.DataFrame, name: str) -> bool:
    """Whether a computed column (``I(age^2)``) can be computed from ``rows``."""
    found = source(name)
    return found is not None and found[1] in rows.columns


def _group_labels(rows: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """Each row's level label of a grouping factor (interactions joined with ":")."""
    parts = []
    for c in columns:
        row_codes, labels = factor_codes(rows[c])
        parts.append(np.asarray(labels, dtype=object)[row_codes])
    out = parts[0]
    for part in parts[1:]:
        out = out + ":" + part
    return out


def predict(
    fit: LmmFit, basis: PredictionBasis, rows: pd.DataFrame, conditional: bool = True
) -> np.ndarray:
    """Predictions for ``rows`` (NaN where a used value is missing).

    Parameters
    ----------
    fit : LmmFit
    basis : PredictionBasis
        From the data the fit was made on.
    rows : DataFrame
        The fitting data or new rows with the predictors (and grouping columns for
        ``conditional``); the outcome is not needed.
    conditional : bool
        True: lme4's ``re.form = NULL`` (unseen levels get no random effect);
        False: ``re.form = NA``, X beta.
    """
    spec = basis.spec
    needed = list(spec.fixed_columns)
    if conditional:
        needed += [c for c in (*spec.slope_columns, *spec.group_columns) if c not in needed]
    rows = _with_computed(basis, rows, [c for c in needed if _source_present(rows, c)])
    missing = [c for c in needed if c not in rows.columns]
    if missing:
        raise DataError(f"The new rows lack the column(s) {missing} that the model uses.")
    out = np.full(len(rows), np.nan)
    usable, _ = complete_rows(rows.reset_index(drop=True), needed)
    if len(usable) == 0:
        return out
    keep = usable.index.to_numpy()
    value = fixed_rows(basis, fit, usable) @ fit.beta
    if conditional:
        for factor in fit.ranef:
            columns = next(t.group for t in spec.random if t.name == factor.group)
            labels = _group_labels(usable, columns)
            index = {label: k for k, label in enumerate(factor.levels)}
            level = np.array([index.get(label, -1) for label in labels])
            seen = level >= 0
            z = random_columns(basis, usable, factor.group)
            for e, name in enumerate(factor.names):
                value[seen] += z[name][seen] * factor.modes[level[seen], e]
    out[keep] = value
    return out


def effect_data(
    fit: LmmFit,
    basis: PredictionBasis,
    predictor: str,
    moderator: str | None = None,
    level: float = 0.95,
    points: int = GRID_POINTS,
) -> pd.DataFrame:
    """Population-level predictions against ``predictor``, one line per moderator value.

    Returns a DataFrame with columns ``x`` (the predictor's value; a level label
    for a categorical one), ``group`` (the moderator's level or value, "" without
    one), ``predicted``, ``std.error``, ``conf.low``, ``conf.high``.
    """
    for name in (predictor, moderator):
        if name is not None and name not in basis.levels:
            raise SpecError(
                f"{name!r} is not a fixed-effect predictor of this model "
                f"(they are {list(basis.levels)})."
            )
    if moderator == predictor:
        raise SpecError("Choose a moderator other than the predictor.")
    xs = _values(basis, predictor, points)
    groups = [None] if moderator is None else _moderator_values(basis, moderator)
    z = float(-special.ndtri((1.0 - level) / 2.0))
    frames = []
    for g in groups:
        grid = pd.DataFrame({name: [_typical(basis, name)] * len(xs) for name in basis.levels})
        grid[predictor] = xs
        if moderator is not None:
            grid[moderator] = [g] * len(xs)
        X = fixed_rows(basis, fit, grid)
        predicted = X @ fit.beta
        se = np.sqrt(np.einsum("ij,jk,ik->i", X, fit.vcov_beta, X))
        frames.append(
            pd.DataFrame(
                {
                    "x": xs,
                    "group": "" if g is None else _label(g),
                    "predicted": predicted,
                    "std.error": se,
                    "conf.low": predicted - z * se,
                    "conf.high": predicted + z * se,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _typical(basis: PredictionBasis, name: str):  # noqa: ANN202
    """A numeric predictor's mean, a categorical one's reference (first) level."""
    levels = basis.levels[name]
    return basis.means[name] if levels is None else levels[0]


def _values(basis: PredictionBasis, name: str, points: int) -> list:
    levels = basis.levels[name]
    if levels is not None:
        return list(levels)
    lo, hi = basis.ranges[name]
    return list(np.linspace(lo, hi, points))


def _moderator_values(basis: PredictionBasis, name: str) -> list:
    levels = basis.levels[name]
    if levels is not None:
        return list(levels)
    mean, sd = basis.means[name], basis.sds[name]
    return [mean - sd, mean, mean + sd]


def _label(value) -> str:  # noqa: ANN001
    return value if isinstance(value, str) else f"{value:.4g}"
