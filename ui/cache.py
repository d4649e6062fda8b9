"""``st.cache_data`` wrappers around pure ``lib`` calls.

Every wrapper is keyed by hashable values only: a ``source_id`` that names the
data by content ("bundled:schools", "upload:<sha256 of the bytes>", or
"upload-sample:<sha256>" for the sample of a large upload, ``ui.big``;
"shared:<sha256 of the Parquet bytes>" for a table shared through a link), a
frozen ``ModelSpec`` or ``Roles``, column names and numbers. The frame itself
is passed as ``_frame`` (Streamlit does not hash underscore arguments), so a
large upload is not re-hashed on every rerun. Because the id is a digest of
the bytes, two sessions can only share a cache entry if they uploaded the
same bytes, in which case the result is the same; nothing of one session's
upload is reachable from another without its content. A shared table is reached
only through its link's token (``shared_meta``), checked at least once a second so
that a withdrawn link stops working at the next rerun.

Fits, model comparisons and simulations run in the fit pool's worker processes
(``ui.serve``): the public ``fit``, ``anova`` and ``simulate`` wait for them with a
Cancel button, the cached ``_fit``, ``_anova`` and ``_simulate`` keep their results.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

import pandas as pd
import pyarrow as pa
import streamlit as st
from streamlit.dataframe_util import convert_anything_to_arrow_bytes

from lib.charts import histogram as chart_histogram
from lib.charts import ranef as chart_ranef
from lib.charts import scatter as chart_scatter
from lib.charts import vega
from lib.errors import DataError, ExplorerError
from lib.explore import groups as lib_groups
from lib.lmm import Anova, LmmFit
from lib.model import levels as lib_levels
from lib.model import nesting as lib_nesting
from lib.model.spec import GroupLevel, ModelSpec
from lib.ols import regressions as lib_ols
from lib.serve.shared_table import SharedMeta
from lib.table import catalogue
from lib.table import read as table_read
from lib.table import roles as table_roles
from lib.table import validate as table_validate
from lib.table.columns import complete_rows
from lib.table.outcome_kind import outcome_columns
from lib.table.roles import Roles
from lib.table.validate import ValidationReport
from ui import big, memo, row_limit, serve, turn

TTL = 3600  # seconds: uploads and fits leave the shared cache after an hour unused
SHARED_PREFIX = "shared:"  # a data-set option "shared:TOKEN": the table of that link
JOB_FIT = "lib.serve.jobs:fit"
JOB_ANOVA = "lib.serve.jobs:anova"
JOB_SIMULATE = "lib.serve.jobs:simulate"


def shared_token(option: object) -> str | None:
    """The token of a "shared:TOKEN" option, else None (the token is not checked here)."""
    if isinstance(option, str) and option.startswith(SHARED_PREFIX):
        return option[len(SHARED_PREFIX) :]
    return None


META_SECONDS = 1.0  # how long one look-up of a link's metadata serves every page run
_recent_meta: dict[str, tuple[float, SharedMeta]] = {}  # token -> (when, meta); this process


def shared_meta(option: str) -> SharedMeta:
    """What the store knows of a shared option's table: one indexed query, no table read.

    A page run asks three times (selector, source id, frame) and a class asks together:
    one query a second per link serves them all (0.6 ms and three file accesses a run
    otherwise). A withdrawal in this process takes effect at once (``forget_link``),
    one from another server process within ``META_SECONDS``.

    Raises ``ShareUnavailable`` (or ``ShareWithdrawn`` / ``ShareExpired``) with a
    message ready to show.
    """
    token = shared_token(option) or ""
    now = time.monotonic()
    recent = _recent_meta.get(token)
    fresh = recent is not None and now - recent[0] < META_SECONDS
    if fresh and time.time() < recent[1].expires_at:
        return recent[1]
    meta = serve.share_store().meta(token)
    if len(_recent_meta) > 256:
        _recent_meta.clear()
    _recent_meta[token] = (now, meta)
    return meta


def forget_link(token: str) -> None:
    """Drop a withdrawn link's metadata, so that no page run in this process uses it."""
    _recent_meta.pop(token, None)


def source_id(option: str, upload: object | None) -> str:
    """The content-based id of a data-set option (see module docstring)."""
    if option in catalogue.BUNDLED:
        return f"bundled:{option}"
    if shared_token(option) is not None:
        try:
            return f"shared:{shared_meta(option).digest}"
        except ExplorerError:
            return "shared:unavailable"  # frame_for raises the link's message
    digest = getattr(upload, "digest", "")
    if big.is_big(upload):  # the frame is a sample of the upload: another cache entry
        return f"upload-sample:{digest}"
    return f"upload:{digest}"


@st.cache_data(max_entries=8, show_spinner=False)
def load_bundled(key: str) -> pd.DataFrame:
    return catalogue.load_bundled(key)


@st.cache_data(max_entries=8, ttl=TTL, show_spinner="Reading the file…")
def load_upload(digest: str, name: str, _content: bytes) -> pd.DataFrame:
    with turn.out_of_turn():  # parsing 200 MB takes seconds: other pages run meanwhile
        return table_read.load_table(_content, name, max_rows=row_limit.APP_MAX_ROWS)


@st.cache_data(max_entries=8, ttl=TTL, show_spinner="Opening the shared data…")
def load_shared(digest: str, _token: str) -> pd.DataFrame:
    """A shared table, cached by its content (sessions with the same link share it)."""
    return serve.share_store().open(_token).frame


# The data sets themselves, one object per content id shared by every run and session
# (never changed in place: pandas 3 copies on write). ``st.cache_data`` alone unpickled a
# copy of the whole table on every rerun of every session: 0.4 ms for the tutorial's
# table, ~40 ms for two million rows, on every toggle of every student of a shared link.
# As many as the loaders keep (8 each); the loaders hold pickled copies besides.
FRAMES = memo.KeyedStore(max_entries=8, ttl=TTL)


def frame_for(option: str, upload: object | None) -> pd.DataFrame:
    """The frame of a data-set option (bundled key, shared link, or this session's upload).

    Raises
    ------
    DataError
        The file cannot be read, or the upload is gone.
    ShareUnavailable
        The shared link does not open (withdrawn, expired, unknown or malformed).
    """
    if option in catalogue.BUNDLED:
        return FRAMES.get(("bundled", option), lambda: load_bundled(option))
    token = shared_token(option)
    if token is not None:
        digest = shared_meta(option).digest
        return FRAMES.get(("shared", digest), lambda: load_shared(digest, token))
    if upload is None:
        raise DataError(
            "This session has no uploaded file (uploads are not shared through links). "
            "Upload it again on the Data page or choose a bundled data set."
        )
    if big.is_big(upload):
        return big.load(upload).data.sample
    return FRAMES.get(
        ("upload", upload.digest), lambda: load_upload(upload.digest, upload.name, upload.content)
    )


def default_roles(source: str, option: str, frame: pd.DataFrame) -> Roles:
    """The registry's roles for a bundled set, the sharer's for a shared link, guessed
    ones for an upload; made once per (source, option) in this process (``ui.memo``: a
    ``st.cache_data`` hit hashed its arguments and unpickled the roles on every rerun)."""
    return memo.get(("default_roles", source, option), lambda: _default_roles(option, frame))


def _default_roles(option: str, frame: pd.DataFrame) -> Roles:
    entry = catalogue.BUNDLED.get(option)
    if entry is not None and all(c in frame.columns for c in entry.roles.columns):
        return entry.roles
    if shared_token(option) is not None:
        roles = shared_meta(option).roles
        if roles is not None and all(c in frame.columns for c in roles.columns):
            return roles
    return table_roles.guess_roles(frame)


def column_kinds(source: str, frame: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(numeric columns, columns that can be the outcome) of the data ``source``, read once
    per source in this process: both read every column, and the sidebar needs them on
    every rerun of every session."""
    return memo.get(
        ("column_kinds", source),
        lambda: (table_roles.numeric_columns(frame), outcome_columns(frame)),
    )


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def validate(source: str, roles: Roles, _frame: pd.DataFrame) -> ValidationReport:
    return table_validate.validate(_frame, roles)


# The cached functions below are keyed by ``repr`` of the spec (a frozen dataclass, whose
# repr names every field) rather than the spec itself: Streamlit hashes a dataclass field
# by field on every call, 0.39 ms for a random-slope spec against 0.15 ms for the call
# with its repr, on every rerun of every session (the Compare page asks for four fits
# and their comparison).


def fit(source: str, spec: ModelSpec, _frame: pd.DataFrame) -> LmmFit:
    """The fit of ``spec`` to the data ``source``, from the cache or the fit pool.

    A finished fit is also kept as one object (``FITS``) that every rerun and session
    reads: ``st.cache_data`` alone unpickled a copy, with its per-row arrays, on every
    rerun. A running, failed or cancelled fit never gets there (``settle`` raises).
    """
    key = repr(spec)
    return serve.wait_for(
        lambda: FITS.get((source, key), lambda: serve.settle(_fit(source, key, spec, _frame))),
        ("fit", source, spec),
    )


def finished_fit(source: str, spec: ModelSpec) -> LmmFit | None:
    """The fit of ``spec`` if this process has it finished, else None: a page then
    draws no spinner (a placeholder element and a timer thread on every rerun). None
    also when this session cancelled it: ``fit`` then offers "Fit again"."""
    if serve.was_cancelled(("fit", source, spec)):
        return None
    return FITS.peek((source, repr(spec)))


# At most 32 (the cache keeps 128 pickled): a fit holds per-row arrays, kept here a second time.
FITS = memo.KeyedStore(max_entries=32, ttl=TTL)


@st.cache_data(max_entries=128, ttl=TTL, show_spinner=False)
def _fit(
    source: str, spec_key: str, _spec: ModelSpec, _frame: pd.DataFrame
) -> LmmFit | serve.Failed:
    burn = serve.slow_fit_seconds()
    return serve.run_job(JOB_FIT, _frame, _spec, burn, key=("fit", source, _spec))


def _clear_fits() -> None:
    _fit.clear()
    FITS.clear()


fit.clear = _clear_fits  # type: ignore[attr-defined]


def anova(source: str, specs: tuple[ModelSpec, ...], _frame: pd.DataFrame) -> Anova:
    """``lib.lmm.anova`` of ``specs`` (refitted with ML), from the cache or the pool."""
    return serve.wait_for(
        lambda: serve.settle(_anova(source, repr(specs), specs, _frame)),
        ("anova", source, specs),
        "Comparing the models",
    )


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def _anova(
    source: str, specs_key: str, _specs: tuple[ModelSpec, ...], _frame: pd.DataFrame
) -> Anova | serve.Failed:
    burn = serve.slow_fit_seconds()
    return serve.run_job(JOB_ANOVA, _frame, _specs, burn, key=("anova", source, _specs))


def simulate(settings: Hashable) -> object:
    """``lib.classroom.simulate.simulate(settings)`` in the pool; sessions asking for the
    same settings (the same seed) share one run."""
    return serve.wait_for(
        lambda: serve.settle(_simulate(repr(settings), settings)),
        ("simulate", settings),
        "Simulating",
    )


@st.cache_data(max_entries=16, ttl=TTL, show_spinner=False)
def _simulate(settings_key: str, _settings: Hashable) -> object:
    return serve.run_job(JOB_SIMULATE, _settings, key=("simulate", _settings))


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def ols(
    source: str,
    outcome: str,
    predictors: tuple[str, ...],
    categorical: tuple[str, ...],
    _frame: pd.DataFrame,
) -> lib_ols.OlsFit:
    return lib_ols.fit_ols(_frame, outcome, list(predictors), list(categorical))


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def per_group(
    source: str, outcome: str, predictors: tuple[str, ...], group: str, _frame: pd.DataFrame
) -> lib_ols.PerGroupOls:
    return lib_ols.fit_per_group(_frame, outcome, list(predictors), group)


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def group_summary(
    source: str, outcome: str, group: str, _frame: pd.DataFrame
) -> lib_groups.GroupSummary:
    return lib_groups.group_summary(_frame, outcome, group)


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def mean_differences(
    source: str, outcome: str, predictor: str | None, group: str, _frame: pd.DataFrame
) -> lib_groups.MeanDifferences:
    return lib_groups.mean_differences(_frame, outcome, predictor, group)


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def histogram(
    source: str,
    column: str,
    group: str | None,
    binwidth: float | None,
    _frame: pd.DataFrame,
) -> lib_groups.Histogram:
    return lib_groups.histogram(_frame, column, group, binwidth)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def sample(
    source: str, columns: tuple[str, ...], group: str | None, max_rows: int, _frame: pd.DataFrame
) -> tuple[pd.DataFrame, bool]:
    """At most ``max_rows`` rows of ``columns`` (stratified by group) for a scatter plot."""
    subset, _ = complete_rows(_frame.loc[:, list(dict.fromkeys(columns))], columns)
    return lib_groups.sample_rows(subset, max_rows=max_rows, group=group)


CHART_BUILDERS = {
    "scatter": chart_scatter.scatter_chart,
    "histogram": chart_histogram.histogram_chart,
    "ranef": chart_ranef.ranef_chart,
}


def chart_spec_of(chart: object) -> dict:
    """What a page sends for an altair chart: its Vega-Lite dict with the data as Arrow
    datasets, straight from the chart's frames (``lib.charts.vega``): altair's own
    ``to_dict`` would first turn each frame into records and copy them, only for them
    to be turned back into Arrow here. ``st.vega_lite_chart`` passes Arrow bytes through
    (``streamlit.elements.vega_charts._marshall_chart_data``) instead of converting a
    spec's datasets on every call of every rerun."""
    spec, frames = vega.spec_with_frames(chart)
    if frames:
        spec["datasets"] = {
            name: convert_anything_to_arrow_bytes(frame) for name, frame in frames.items()
        }
    return spec


def json_datasets(spec: dict) -> dict:
    """A copy of ``spec`` with Arrow datasets (``chart_spec_of``) back as lists of
    records: what vl-convert and other Vega-Lite renderers read (report downloads)."""
    datasets = spec.get("datasets") or {}
    return (
        {
            **spec,
            "datasets": {
                name: pa.ipc.open_stream(values).read_all().to_pylist()
                if isinstance(values, bytes)
                else values
                for name, values in datasets.items()
            },
        }
        if datasets
        else dict(spec)
    )


@st.cache_data(max_entries=256, ttl=TTL, show_spinner=False)
def chart_spec(kind: str, *args: object, **kwargs: object) -> dict:
    """``lib.charts`` builder ``kind`` applied to the arguments, as a Vega-Lite dict.

    Building an altair chart and validating it against the Vega-Lite schema cost
    15-50 ms a chart: 85 of the 150 ms a cached Model-page rerun took (measured
    with ``benchmarks/bench_app.py``). Every argument, frames included, is part of
    the cache key (Streamlit hashes frames under 50,000 rows completely; chart
    frames have at most ``lib.charts.style.MAX_MARKS`` rows), so a spec is reused only
    for identical inputs. The data travel in the dict's ``datasets`` as Arrow bytes
    (``chart_spec_of``). Where the inputs are determined by a few small values,
    ``keyed_chart_spec`` skips hashing the frames.
    """
    return _build_chart(kind, args, kwargs)


def keyed_chart_spec(key: Hashable, kind: str, _inputs: Callable[[], tuple[tuple, dict]]) -> dict:
    """``chart_spec(kind, *args, **kwargs)`` where ``(args, kwargs) = _inputs()``, made
    once per ``key`` in this process (``ui.memo``) and shared, never copied.

    ``key`` must determine the inputs completely (e.g. data source id, model spec,
    roles and the factor shown): then hashing the chart's frames on every rerun (the
    largest part of a warm Model page's cache look-ups) and preparing them (sampling
    the points, building the lines) happen once, on a miss. The spec is shared by every
    session: callers must not change it (``st.vega_lite_chart`` copies it first).
    """

    def make() -> dict:
        args, kwargs = _inputs()
        return _build_chart(kind, args, kwargs)

    return memo.get(("chart", kind, key), make)


def _build_chart(kind: str, args: tuple, kwargs: dict) -> dict:
    # Schema validation is skipped here (another 8-15 ms a chart): tests/test_charts.py
    # validates every builder's output against the Vega-Lite schema.
    return chart_spec_of(CHART_BUILDERS[kind](*args, **kwargs))


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def sample_factor(
    source: str,
    columns: tuple[str, ...],
    factor: tuple[str, ...],
    max_rows: int,
    _frame: pd.DataFrame,
) -> tuple[pd.DataFrame, bool]:
    """``sample`` for a grouping factor of several columns (``class:school``): the rows
    get a column of that name holding the interaction's labels, the strata."""
    if len(factor) == 1:
        return sample(source, (*columns, factor[0]), factor[0], max_rows, _frame)
    subset = lib_levels.with_factor(_frame, factor, columns).dropna()
    return lib_groups.sample_rows(subset, max_rows=max_rows, group=":".join(factor))


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def group_coefficients(
    source: str, spec: ModelSpec, name: str, _fit: LmmFit, _frame: pd.DataFrame
) -> pd.DataFrame:
    """``lib.model.levels.group_coefficients`` of the fit of ``spec`` on ``source``."""
    return lib_levels.group_coefficients(_fit, _frame, name)


def coding_pitfalls(
    source: str,
    group: str,
    levels: tuple[GroupLevel, ...],
    candidates: tuple[str, ...],
    frame: pd.DataFrame,
) -> tuple[lib_nesting.Pitfall, ...]:
    """Made once per (source, grouping choice) in this process: the Model page asks on
    every rerun."""
    return memo.get(
        ("coding_pitfalls", source, group, levels, candidates),
        lambda: lib_nesting.coding_pitfalls(frame, group, levels, candidates),
    )


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def relation_table(source: str, columns: tuple[str, ...], _frame: pd.DataFrame) -> pd.DataFrame:
    return lib_nesting.relation_table(_frame, columns)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def factor_sizes(source: str, columns: tuple[str, ...], _frame: pd.DataFrame) -> pd.DataFrame:
    return lib_nesting.factor_sizes(_frame, columns)


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def group_summary_by(
    source: str, outcome: str, factor: tuple[str, ...], _frame: pd.DataFrame
) -> lib_groups.GroupSummary:
    """``group_summary`` by a factor of one or several columns (``class:school``)."""
    if len(factor) == 1:
        return group_summary(source, outcome, factor[0], _frame)
    name = ":".join(factor)
    return lib_groups.group_summary(
        lib_levels.with_factor(_frame, factor, [outcome]), outcome, name
    )


@st.cache_data(max_entries=64, ttl=TTL, show_spinner=False)
def histogram_by(
    source: str,
    column: str,
    factor: tuple[str, ...],
    binwidth: float | None,
    _frame: pd.DataFrame,
) -> lib_groups.Histogram:
    """``histogram`` counted per level of a factor of one or several columns."""
    if len(factor) == 1:
        return histogram(source, column, factor[0], binwidth, _frame)
    frame = lib_levels.with_factor(_frame, factor, [column])
    return lib_groups.histogram(frame, column, ":".join(factor), binwidth)
