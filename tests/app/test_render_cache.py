"""Cheaper rendering: tables as Arrow tables of strings, formatted once per (data, model);
chart datasets converted to Arrow once. The numbers must stay the ones lib computed."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pyarrow as pa
import pytest
from conftest import frame_with, labelled

from lib.charts import scatter as chart_scatter
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled
from ui import cache, memo, render
from ui.views import report as report_view

PAGE = "pages/3_Model.py"
RI = ModelSpec.one_factor("test_score", "school", fixed=("study_time",))


def test_shown_table_formats_every_cell_as_a_string() -> None:
    frame = pd.DataFrame(
        {"Estimate": [1.23456, -2.0], "Pr(>|t|)": [1e-20, 0.04567], "n": [3, 1200]},
        index=pd.Index(["(Intercept)", "x"], name="Estimate"),  # index named like a column
    )
    shown = render.shown_table(frame, {"Estimate": 2})
    assert isinstance(shown, pa.Table)
    assert shown.column_names == ["Estimate ", "Estimate", "Pr(>|t|)", "n"]
    assert all(t == pa.string() for t in shown.schema.types)
    assert shown.to_pydict() == {
        "Estimate ": ["(Intercept)", "x"],
        "Estimate": ["1.23", "-2.00"],
        "Pr(>|t|)": ["< 2e-16", "0.0457"],
        "n": ["3", "1,200"],
    }
    assert render.shown_table(frame, 3, show_index=False).column_names == list(frame.columns)


def test_shown_table_keeps_blank_and_infinite_cells_readable() -> None:
    frame = pd.DataFrame({"v": [math.nan, math.inf, 1e-7, None]})
    assert render.shown_table(frame, show_index=False).column("v").to_pylist() == [
        "",
        "Inf",
        "1.000e-07",
        "",
    ]


def test_arrow_datasets_carry_the_same_rows() -> None:
    records = [{"x": 1.5, "g": "a"}, {"x": -2.0, "g": "=cmd"}]
    spec = cache.arrow_datasets({"datasets": {"d1": records, "d2": []}, "mark": "point"})
    assert spec["mark"] == "point"
    table = pa.ipc.open_stream(spec["datasets"]["d1"]).read_all()
    assert table.to_pylist() == records
    assert pa.ipc.open_stream(spec["datasets"]["d2"]).read_all().num_rows == 0
    assert cache.arrow_datasets(dict(spec)) == spec  # bytes pass through unchanged


def test_cached_tables_follow_the_model(open_page) -> None:
    """The formatted tables are cached by (data, model): switching REML to ML and back
    must show each fit's own numbers, never the other's."""
    at = open_page(PAGE)
    frame = load_bundled("schools")
    reml, ml = fit_lmm(frame, RI), fit_lmm(frame, dataclasses.replace(RI, reml=False))
    assert reml.beta_se[0] != pytest.approx(ml.beta_se[0], rel=1e-4)
    for fit, method in ((reml, "REML"), (ml, "ML"), (reml, "REML")):
        at.sidebar.radio(key="method").set_value(method).run()
        assert not at.exception
        fixef = labelled(frame_with(at, "Std. Error"))
        assert fixef.loc["(Intercept)", "Std. Error"] == f"{fit.beta_se[0]:,.4f}"
        varcorr = frame_with(at, "Std.Dev.")
        assert varcorr["Variance"].iloc[-1] == f"{fit.varcorr.residual_variance:,.4f}"


def test_json_datasets_undo_arrow_datasets() -> None:
    records = [{"x": 1.5, "g": "a"}, {"x": -2.0, "g": "b"}]
    spec = {"datasets": {"d1": records}, "mark": "point"}
    packed = cache.arrow_datasets(dict(spec))
    assert isinstance(packed["datasets"]["d1"], bytes)
    assert cache.json_datasets(packed) == spec
    assert cache.json_datasets({"mark": "point"}) == {"mark": "point"}


def test_the_page_chart_downloads_render_from_the_cached_spec() -> None:
    """The Model page caches its chart with Arrow datasets; the PNG/SVG downloads and
    the report must still get every point (vl-convert reads only JSON records)."""
    frame = load_bundled("schools")
    spec = cache.arrow_datasets(
        chart_scatter.scatter_chart(frame, "study_time", "test_score", "school").to_dict(
            validate=False
        )
    )
    svg = report_view._svg(spec).decode("utf-8")
    assert svg.count("<path") >= len(frame)  # one mark per student
    assert report_view._png(spec).startswith(b"\x89PNG")


def test_keyed_store_keeps_recent_values_within_their_time() -> None:
    store = memo.KeyedStore(max_entries=2, ttl=3600)
    made = []

    def make(value: str):  # noqa: ANN202
        return lambda: made.append(value) or value

    assert store.get("a", make("a1")) == "a1"
    assert store.get("a", make("a2")) == "a1"  # a hit: not made again
    store.get("b", make("b1"))
    store.get("a", make("a3"))  # "a" is now the most recent, "b" the oldest
    store.get("c", make("c1"))  # a third key evicts "b"
    assert store.get("b", make("b2")) == "b2"
    assert made == ["a1", "b1", "c1", "b2"]
    stale = memo.KeyedStore(max_entries=2, ttl=0.0)
    stale.get("a", make("x1"))
    assert stale.get("a", make("x2")) == "x2"  # expired at once


def test_a_keyed_table_builds_its_frame_once(open_page) -> None:
    """With a key, ``render.table`` takes a function and calls it on a miss only: the
    Model page's reruns build none of its tables again, and show the same numbers."""
    from lib.present import summary

    calls = []
    real = summary.fixef_table

    def counting(fit):  # noqa: ANN001, ANN202
        calls.append(fit.spec)
        return real(fit)

    render.PREPARED.clear()
    summary.fixef_table = counting
    try:
        at = open_page(PAGE)
        first = frame_with(at, "Std. Error")
        at.run()
        at.run()
    finally:
        summary.fixef_table = real
    assert not at.exception
    assert len(calls) == 1
    assert frame_with(at, "Std. Error").equals(first)


def test_keyed_store_makes_a_value_once_for_sessions_that_miss_together() -> None:
    """Thirty sessions flipping one toggle miss the same chart together: one builds it,
    the others wait and share it."""
    import threading
    import time

    store = memo.KeyedStore(max_entries=8, ttl=3600)
    made = []

    def make() -> str:
        made.append(1)
        time.sleep(0.05)
        return "spec"

    got = []
    threads = [threading.Thread(target=lambda: got.append(store.get("k", make))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert got == ["spec"] * 8
    assert len(made) == 1
