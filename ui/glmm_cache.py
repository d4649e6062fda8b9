"""Cached generalized-model fits (issue 16): ``ui.cache.fit``'s pattern for ``glmer``.

The fit runs in the server's fit pool (``lib.serve.glmm_jobs:fit``) and waits with a
Cancel button (``ui.serve.wait_for``); the result is cached by the data's source id, the
spec's and the family's repr (frozen dataclasses, so the repr names every field).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.charts.rates import rate_rows_chart
from lib.classroom.comparison import Comparison
from lib.classroom.pooling_glmm import RatePooling, rate_pooling
from lib.explore import rates as lib_rates
from lib.explore.rates import GroupRates
from lib.glmm.result import GlmmFit
from lib.glmm.variance import LatentVariances
from lib.lmm.intervals import Intervals
from lib.model.response import ResponseFamily
from lib.model.spec import ModelSpec
from lib.table.outcome_kind import with_binary_outcome
from ui import cache, memo, serve
from ui.cache import TTL

JOB_FIT_GLMM = "lib.serve.glmm_jobs:fit"
JOB_VARIANCES = "lib.serve.glmm_jobs:variances"
JOB_COMPARE = "lib.serve.glmm_jobs:compare"
JOB_PROFILE = "lib.serve.glmm_jobs:profile"


def fit(
    source: str, spec: ModelSpec, family: ResponseFamily, _frame: pd.DataFrame, nagq: int = 1
) -> GlmmFit:
    """The glmer fit of ``spec`` with ``family`` to the data ``source`` (``nagq``: glmer's
    nAGQ, 1 = Laplace)."""
    spec_key, family_key = repr(spec), repr(family)
    return serve.wait_for(
        lambda: FITS.get(
            (source, spec_key, family_key, nagq),
            lambda: serve.settle(_fit(source, spec_key, family_key, nagq, spec, family, _frame)),
        ),
        ("glmm", source, spec, family, nagq),
    )


def finished_fit(
    source: str, spec: ModelSpec, family: ResponseFamily, nagq: int = 1
) -> GlmmFit | None:
    """The fit if this process has it finished (and this session did not cancel it),
    else None: ``ui.cache.finished_fit`` for glmer, so a warm rerun draws no spinner."""
    if serve.was_cancelled(("glmm", source, spec, family, nagq)):
        return None
    return FITS.peek((source, repr(spec), repr(family), nagq))


# Finished fits and their ICC/R² as one object each that every rerun and session reads
# (``ui.cache.fit``'s pattern): a ``st.cache_data`` hit hashed its arguments and unpickled
# a copy, per-row arrays included, on every rerun. Running or failed jobs never get here
# (``serve.settle`` raises).
FITS = memo.KeyedStore(max_entries=32, ttl=TTL)
VARIANCES = memo.KeyedStore(max_entries=64, ttl=TTL)


def clear() -> None:
    """Forget every cached generalized fit, comparison and ICC (tests that count jobs)."""
    for cached in (_fit, _fit_job, _compare):
        cached.clear()
    FITS.clear()
    VARIANCES.clear()


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def _fit(
    source: str,
    spec_key: str,
    family_key: str,
    nagq: int,
    _spec: ModelSpec,
    _family: ResponseFamily,
    _frame: pd.DataFrame,
) -> GlmmFit | serve.Failed:
    burn = serve.slow_fit_seconds()
    key = ("glmm", source, _spec, _family, nagq)
    return serve.run_job(JOB_FIT_GLMM, _frame, _spec, _family, nagq, burn, key=key)


def pooling(
    source: str,
    spec_key: str,
    family_key: str,
    group: str,
    spec: ModelSpec,
    family: ResponseFamily,
    fit: GlmmFit,
    frame: pd.DataFrame,
) -> RatePooling:
    """``lib.classroom.pooling_glmm.rate_pooling`` of a fit (from ``fit`` above), made once
    per fit in this process (``ui.memo``; keyed by the fit's nAGQ too)."""
    return memo.get(
        ("glmm_pooling", source, spec_key, family_key, fit.nagq, group),
        lambda: rate_pooling(frame, spec, family, fit, group),
    )


def variances(
    source: str, spec: ModelSpec, family: ResponseFamily, fit: GlmmFit, frame: pd.DataFrame
) -> LatentVariances:
    """ICC and Nakagawa R² of ``fit`` (``lib.glmm.variance``), in the fit pool. Keyed by
    the fit's nAGQ too: a quadrature fit's variances differ from the Laplace fit's."""
    job = (JOB_VARIANCES, "glmm_variances", "Computing the ICC and R²")
    return _on_fit(*job, source, spec, family, fit, frame, store=VARIANCES)


def _on_fit(
    job: str,
    kind: str,
    waiting: str,
    source: str,
    spec: ModelSpec,
    family: ResponseFamily,
    fit: GlmmFit,
    frame: pd.DataFrame,
    store: memo.KeyedStore | None = None,
) -> object:
    """The pool job ``job`` on a finished fit, waited for with ``waiting`` as the caption
    (``serve.wait_for``: Cancel, time limit); ``kind`` names it in the pool (single flight).
    With ``store``, the finished result is kept there as one shared object."""
    spec_key, family_key = repr(spec), repr(family)

    def settled() -> object:
        return serve.settle(
            _fit_job(job, kind, source, spec_key, family_key, fit.nagq, spec, family, fit, frame)
        )

    key = (source, spec_key, family_key, fit.nagq)
    make = settled if store is None else (lambda: store.get(key, settled))
    return serve.wait_for(make, (kind, source, spec, family, fit.nagq), waiting)


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def _fit_job(
    job: str,
    kind: str,
    source: str,
    spec_key: str,
    family_key: str,
    nagq: int,
    _spec: ModelSpec,
    _family: ResponseFamily,
    _fit: GlmmFit,
    _frame: pd.DataFrame,
) -> object:
    """A pool job on a finished fit (its ICC/R², its profile), cached by the fit's data,
    spec, family and nAGQ; ``kind`` names the job in the pool (single flight)."""
    key = (kind, source, _spec, _family, nagq)
    return serve.run_job(job, _frame, _spec, _family, _fit, key=key)


def group_rates(
    source: str,
    outcome: str,
    group: tuple[str, ...],
    family_key: str,
    family: ResponseFamily,
    frame: pd.DataFrame,
) -> GroupRates:
    """``lib.explore.rates.group_rates`` of the outcome as the model counts it, made once
    per (data, outcome, groups, family) in this process (``ui.memo``)."""
    return memo.get(
        ("group_rates", source, outcome, group, family_key),
        lambda: _group_rates(outcome, group, family, frame),
    )


def _group_rates(
    outcome: str, group: tuple[str, ...], _family: ResponseFamily, _frame: pd.DataFrame
) -> GroupRates:
    data = _frame
    if _family.family == "binomial" and _family.trials is None:
        data = with_binary_outcome(_frame, outcome, _family.success)
    return lib_rates.group_rates(
        data, outcome, group, _family.family, _family.trials, _family.offset
    )


def rate_chart(key: str, kwargs: dict) -> dict:
    """``lib.charts.rates.rate_rows_chart`` as a Vega-Lite dict, built once per ``key``
    (a string that determines the arguments) in this process (``ui.memo``: never copied,
    as st.vega_lite_chart copies a spec before changing it)."""
    return memo.get(
        ("rate_chart", key),
        lambda: cache.chart_spec_of(rate_rows_chart(**kwargs)),
    )


def compare(
    source: str,
    specs: tuple[tuple[str, ModelSpec], ...],
    family: ResponseFamily,
    frame: pd.DataFrame,
    nagq: int = 1,
) -> Comparison:
    """Named GLMM specs fitted and compared (``lib.classroom.comparison.compare_glmm_specs``)
    in the fit pool: the Ladder for a binomial or Poisson outcome (``nagq`` > 1: glmer's
    nAGQ for the specs that allow it)."""
    return serve.wait_for(
        lambda: serve.settle(
            _compare(source, repr(specs), repr(family), nagq, specs, family, frame)
        ),
        ("glmm_compare", source, specs, family, nagq),
        "Fitting and comparing the models",
    )


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def _compare(
    source: str,
    specs_key: str,
    family_key: str,
    nagq: int,
    _specs: tuple[tuple[str, ModelSpec], ...],
    _family: ResponseFamily,
    _frame: pd.DataFrame,
) -> Comparison | serve.Failed:
    key = ("glmm_compare", source, _specs, _family, nagq)
    return serve.run_job(JOB_COMPARE, _frame, _specs, _family, nagq, key=key)


def profile(
    source: str, spec: ModelSpec, family: ResponseFamily, fit: GlmmFit, frame: pd.DataFrame
) -> Intervals:
    """Profile-likelihood intervals of ``fit`` (``lib.glmm.intervals``) in the fit pool."""
    return _on_fit(
        JOB_PROFILE, "glmm_profile", "Profiling the likelihood", source, spec, family, fit, frame
    )
