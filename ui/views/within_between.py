"""The Within-and-between page: one predictor's pooled, within-group and between-group
slopes, drawn together, with the three effects from lmer and OLS fits.

Numbers come from ``lib.classroom.within_between`` (checked against R), the chart from
``lib.charts.within_between``. The columns default to the sidebar's roles; a toggle
shows the bundled classic example instead (``data/exercise.csv``), where every
group's own slope is negative and the pooled slope positive.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.charts.within_between import within_between_chart
from lib.classroom import within_between as lib_wb
from lib.errors import ExplorerError
from lib.present.markdown import code, md
from lib.table.catalogue import BUNDLED
from lib.table.roles import numeric_columns
from ui import big, cache, presentation, render
from ui.sidebar import Selection, show_error

EXAMPLE = "exercise"
EXAMPLE_KEY = "wb_example"  # page-only widgets: not in the URL, not in the sidebar
OUTCOME_KEY, PREDICTOR_KEY, GROUP_KEY = "wb_outcome", "wb_predictor", "wb_group"
MAX_POINTS = 3000
MAX_LINES = 60  # within lines drawn (the largest and smallest groups beyond that)


@st.cache_data(max_entries=32, ttl=cache.TTL, show_spinner=False)
def within_between(
    source: str, outcome: str, predictor: str, group: str, reml: bool, _frame: pd.DataFrame
) -> lib_wb.WithinBetween:
    return lib_wb.within_between(_frame, outcome, predictor, group, reml=reml)


@st.cache_data(max_entries=32, ttl=cache.TTL, show_spinner=False)
def chart_spec(
    source: str,
    outcome: str,
    predictor: str,
    group: str,
    reml: bool,
    _points: pd.DataFrame,
    _result: lib_wb.WithinBetween,
    levels: tuple[str, ...] | None,
    note: str | None,
) -> dict:
    chart = within_between_chart(
        _points, _result, levels=levels, title="Pooled, within and between", note=note
    )
    return chart.to_dict(validate=False)


def _choose(label: str, key: str, options: list[str], default: str | None) -> str | None:
    """A selectbox whose stored value is replaced when it no longer fits the options."""
    if not options:
        return None
    if st.session_state.get(key) not in options:
        st.session_state[key] = default if default in options else options[0]
    return st.selectbox(label, options, key=key)


def _data(sel: Selection) -> tuple[str, str, pd.DataFrame, object]:
    """(source id, title, frame, roles) of the data the page shows."""
    if st.session_state.get(EXAMPLE_KEY):
        entry = BUNDLED[EXAMPLE]
        return cache.source_id(EXAMPLE, None), entry.title, cache.load_bundled(EXAMPLE), entry.roles
    return sel.source, sel.title, sel.frame, sel.roles


def draw(sel: Selection) -> None:
    sel = sel.uncentred()  # this page centres by itself; the sidebar's centring is the Model's
    presentation.heading("Within and between", sel, subtitle="Pooled, within and between slopes")
    st.toggle(
        "Show the classic example: exercise and cholesterol (simulated)",
        key=EXAMPLE_KEY,
        help="Ten age groups: inside each, more exercise goes with lower cholesterol; "
        "across everyone, with higher (data/exercise.csv).",
    )
    source, title, frame, roles = _data(sel)
    if not st.session_state.get(EXAMPLE_KEY):
        big.note(sel, "This page fits its models to {sample}; the Model page fits all rows.")
    numeric = numeric_columns(frame)
    # Two to a row: three selectboxes side by side cut "cholesterol" to "cholesterc" in
    # the 450 px main column of a 1024 px screen with the sidebar open.
    left, right = st.columns(2)
    with left:
        outcome = _choose("Outcome", OUTCOME_KEY, numeric, roles.outcome)
    with right:
        predictors = [c for c in numeric if c != outcome]
        predictor = _choose("Predictor", PREDICTOR_KEY, predictors, roles.predictor)
    with st.columns(2)[0]:
        groups = [str(c) for c in frame.columns if c not in (outcome, predictor)]
        group = _choose("Group", GROUP_KEY, groups, roles.group)
    if outcome is None or predictor is None or group is None:
        st.info(
            "This page needs two numeric columns and a grouping column: choose other data, "
            "or turn on the classic example above.",
            icon=":material/info:",
        )
        st.stop()
    reml = sel.spec.reml if sel.spec is not None else True
    try:
        with st.spinner("Fitting the models…", show_time=True):
            result = within_between(source, outcome, predictor, group, reml, frame)
    except ExplorerError as exc:
        show_error(exc)
        st.stop()
    st.caption(f"Data: {md(title)}.")
    _chart(source, result, frame, reml)
    _effects(result)
    _models(result)


def _chart(source: str, result: lib_wb.WithinBetween, frame: pd.DataFrame, reml: bool) -> None:
    y, x, g = result.outcome, result.predictor, result.group
    points, sampled = cache.sample(source, (y, x, g), g, MAX_POINTS, frame)
    points = pd.DataFrame({"x": points[x].to_numpy(float), "y": points[y].to_numpy(float)})
    levels = None
    notes = ["◆ group means"]
    if len(result.levels) > MAX_LINES:
        order = sorted(range(len(result.levels)), key=lambda k: result.sizes[k])
        keep = order[: MAX_LINES // 2] + order[-MAX_LINES // 2 :]
        levels = tuple(result.levels[k] for k in sorted(keep))
        notes.append(f"{MAX_LINES} of {len(result.levels):,} groups' lines")
    if sampled:
        notes.append("a random sample of the rows")
    spec = chart_spec(source, y, x, g, reml, points, result, levels, "; ".join(notes))
    render.chart(
        spec,
        "Scatter plot with the pooled line, the within-group lines and the "
        "line through the group means",
    )
    render.meaning(lib_wb.sentences(result)["Pooled"])


def _effects(result: lib_wb.WithinBetween) -> None:
    st.subheader("Three effects of one predictor")
    table = lib_wb.effects_table(result)
    render.table(
        table[["lmer", "lmer SE", "OLS", "OLS SE"]],
        "within_between_effects",
        decimals=3,
        download=table,
    )
    st.caption(
        "lmer: the random-intercept models below (REML unless the sidebar says ML); "
        "OLS: the same fixed parts with lm(). The within slope is the same in both."
    )
    said = lib_wb.sentences(result)
    for name in lib_wb.EFFECTS:
        st.markdown(f"- {said[name]}")


def _models(result: lib_wb.WithinBetween) -> None:
    st.subheader("The two models")
    made = "\n".join(f"- {code(c.name)}: {md(c.describe())}" for c in result.created)
    dropped = f"; {result.n_dropped:,} left out" if result.n_dropped else ""
    st.markdown(
        f"Made over the rows complete in the three columns ({result.nobs:,} rows{dropped}):\n{made}"
    )
    st.code(
        f"# model 1: within and between\n{result.between_formula}\n"
        f"# model 2: the predictor and its group mean: the contextual effect\n"
        f"{result.contextual_formula}",
        language="r",
        wrap_lines=True,
    )
