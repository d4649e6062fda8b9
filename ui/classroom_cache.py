"""``st.cache_data`` wrappers for the classroom pages (pooling, ladder, sandbox).

Keyed like ``ui.cache``: a content-based source id, frozen specs and plain
numbers; the frame travels as an underscore argument (not hashed).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import streamlit as st

from lib.charts import pooling as pooling_charts
from lib.classroom import ladder as lib_ladder
from lib.classroom import pooling as lib_pooling
from lib.classroom.comparison import Comparison, compare_models, ml_spec
from lib.lmm import LmmFit
from lib.model.levels import LevelEffects
from lib.model.spec import GroupLevel, ModelSpec
from ui import cache, serve

TTL = cache.TTL
JOB_LADDER = "lib.serve.jobs:ladder"


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def pooling(source: str, spec: ModelSpec, _frame: pd.DataFrame) -> lib_pooling.Pooling:
    return lib_pooling.pooling(_frame, cache.fit(source, spec, _frame))


def ladder(
    source: str,
    outcome: str,
    predictor: str,
    group: str,
    reml: bool,
    levels: tuple[GroupLevel, ...],
    lower: tuple[LevelEffects, ...],
    _frame: pd.DataFrame,
) -> lib_ladder.Ladder:
    """The ladder with the sidebar's lower levels kept in every step (``presets``), fitted
    in the fit pool (time limit, Cancel, one run for sessions asking together)."""
    arguments = {
        "outcome": outcome,
        "predictor": predictor,
        "group": group,
        "reml": reml,
        "levels": levels,
        "lower": lower,
    }
    key = ("ladder", source, repr(arguments))
    return serve.wait_for(
        lambda: serve.settle(_ladder(source, key[2], arguments, _frame)), key, "Fitting the ladder"
    )


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def _ladder(
    source: str, arguments_key: str, _arguments: dict, _frame: pd.DataFrame
) -> lib_ladder.Ladder | serve.Failed:
    burn = serve.slow_fit_seconds()
    key = ("ladder", source, arguments_key)
    return serve.run_job(JOB_LADDER, _frame, _arguments, burn, key=key)


def compare(source: str, fits: Mapping[str, LmmFit], frame: pd.DataFrame) -> Comparison:
    """``compare_models`` of fits made by ``ui.cache.fit``, with their ML refits from the
    same cache (a model on several pages is fitted once per method)."""
    ml = {
        label: cache.fit(source, ml_spec(fit.spec), frame)
        for label, fit in fits.items()
        if fit.reml
    }
    return compare_models(fits, ml)


CHART_BUILDERS = {
    "pooling_lines": pooling_charts.pooling_lines_chart,
    "shrinkage_rows": pooling_charts.shrinkage_rows_chart,
    "shrinkage_plane": pooling_charts.shrinkage_plane_chart,
}


@st.cache_data(max_entries=128, ttl=TTL, show_spinner=False)
def chart_spec(kind: str, *args: object, **kwargs: object) -> dict:
    """A classroom chart as a Vega-Lite dict (see ``ui.cache.chart_spec`` for why)."""
    return CHART_BUILDERS[kind](*args, **kwargs).to_dict(validate=False)
