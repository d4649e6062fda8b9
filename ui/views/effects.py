"""Model page: the effect plot, predicted outcome against a predictor by a moderator.

``lib.lmm.predict.effect_data`` computes the lines and bands (population level, as
ggeffects' ``ggpredict``), ``lib.charts.effects`` draws them. The predictor is one of
the model's numeric fixed-effect columns (the plot is drawn when the model has two
fixed columns or more); the moderator defaults to a column the
predictor interacts with, so that an interaction model opens on the plot that shows it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.charts.effects import effect_chart
from lib.errors import ExplorerError
from lib.lmm import LmmFit
from lib.lmm.predict import PredictionBasis, effect_data, prediction_basis
from lib.model.spec import ModelSpec
from lib.present.markdown import md
from ui import cache, render
from ui.sidebar import Selection, show_error

SECTION = "Effect plot"
NO_MODERATOR = "(none)"
PREDICTOR_KEY = "effect_predictor"
MODERATOR_KEY = "effect_moderator"


def numeric_predictors(basis: PredictionBasis) -> list[str]:
    return [name for name, levels in basis.levels.items() if levels is None]


def partner(spec: ModelSpec, predictor: str) -> str | None:
    """The first column that ``predictor`` interacts with in the fixed part, or None."""
    for term in spec.fixed_terms:
        if predictor in term.columns and len(term.columns) > 1:
            return next(c for c in term.columns if c != predictor)
    return None


def applies(sel: Selection, fit: LmmFit) -> bool:
    """Whether the page draws the plot: two fixed columns or more, one of them numeric
    (with one fixed column there is no moderator: its line is the scatter's black line)."""
    if sel.big is not None or len(fit.spec.fixed_columns) < 2:
        return False
    try:
        basis = _basis(sel.source, repr(fit.spec), fit.spec, sel.frame)
    except ExplorerError:
        return False
    return bool(numeric_predictors(basis))


def draw(sel: Selection, fit: LmmFit) -> None:
    if not applies(sel, fit):
        return
    basis = _basis(sel.source, repr(fit.spec), fit.spec, sel.frame)
    numeric = numeric_predictors(basis)
    st.subheader(SECTION)
    interacting = [name for name in numeric if partner(fit.spec, name) is not None]
    with st.container(horizontal=True, gap="medium"):
        predictor = st.selectbox(
            "Predictor (x axis)",
            numeric,
            index=numeric.index(interacting[0]) if interacting else 0,
            key=f"{PREDICTOR_KEY}_{_digest(fit.spec)}",
        )
        others = [NO_MODERATOR, *(c for c in basis.levels if c != predictor)]
        default = partner(fit.spec, predictor)
        moderator = st.selectbox(
            "Lines for",
            others,
            index=others.index(default) if default in others else 0,
            key=f"{MODERATOR_KEY}_{_digest(fit.spec)}_{predictor}",
        )
    moderator = None if moderator == NO_MODERATOR else moderator
    try:
        spec = _chart(sel.source, repr(fit.spec), predictor, moderator, fit, basis)
    except ExplorerError as exc:
        show_error(exc)
        return
    render.chart(spec, f"Predicted {fit.spec.outcome} against {predictor}")
    render.meaning(_reading(fit.spec, basis, predictor, moderator))


def _digest(spec: ModelSpec) -> str:
    """A short widget-key suffix per model: the choices belong to one model's columns."""
    return str(abs(hash(repr(spec))) % 10**8)


def _reading(spec: ModelSpec, basis: PredictionBasis, predictor: str, moderator: str | None) -> str:
    held = [c for c in basis.levels if c not in (predictor, moderator)]
    what = (
        "one line"
        if moderator is None
        else (
            f"one line per level of {md(moderator)}"
            if basis.levels[moderator] is not None
            else f"lines at the mean of {md(moderator)} and 1 SD below and above it"
        )
    )
    held_text = (
        f"; {', '.join(md(c) for c in held)} held at their mean or first level" if held else ""
    )
    parallel = (
        " Lines that are not parallel show an interaction: the effect of "
        f"{md(predictor)} depends on {md(moderator)}."
        if moderator is not None
        else ""
    )
    return (
        f"The predicted {md(spec.outcome)} for a typical group (random effects at 0) "
        f"against {md(predictor)}, {what}, with 95% confidence bands{held_text}.{parallel}"
    )


@st.cache_data(max_entries=32, ttl=cache.TTL, show_spinner=False)
def _basis(source: str, spec_key: str, _spec: ModelSpec, _frame: pd.DataFrame) -> PredictionBasis:
    return prediction_basis(_frame, _spec)


@st.cache_data(max_entries=64, ttl=cache.TTL, show_spinner=False)
def _chart(
    source: str,
    spec_key: str,
    predictor: str,
    moderator: str | None,
    _fit: LmmFit,
    _basis: PredictionBasis,
) -> dict:
    data = effect_data(_fit, _basis, predictor, moderator)
    outcome = _fit.spec.outcome
    title = (
        f"Predicted {outcome} by {predictor}"
        if moderator is None
        else f"Effect of {predictor} by {moderator}"
    )
    chart = effect_chart(data, predictor, outcome, moderator, title=title)
    return cache.chart_spec_of(chart)
