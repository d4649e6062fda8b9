"""Cheaper rendering: tables as Arrow tables of strings, formatted once per (data, model);
chart datasets converted to Arrow once. The numbers must stay the ones lib computed."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import altair as alt
import pandas as pd
import pyarrow as pa
import pytest
from conftest import frame_with, labelled

from lib.charts import scatter as chart_scatter
from lib.charts import vega
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled
from ui import cache, memo, render
from ui.views import report as report_view

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: the shared helper
from chart_equivalence import altairs, ours  # noqa: E402

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


def _scatter() -> object:
    frame = load_bundled("schools")
    return chart_scatter.scatter_chart(frame, "study_time", "test_score", "school")


def test_a_page_chart_is_altairs_chart_with_its_rows_as_arrow() -> None:
    spec = cache.chart_spec_of(_scatter())
    assert all(isinstance(v, bytes) for v in spec["datasets"].values())
    rows = {n: pa.ipc.open_stream(v).read_all().to_pylist() for n, v in spec["datasets"].items()}
    assert altairs(cache.json_datasets(spec)) == altairs(_scatter().to_dict(validate=False))
    assert sum(len(r) for r in rows.values()) >= len(load_bundled("schools"))


def test_every_chart_of_the_model_pages_is_altairs_chart(open_page, monkeypatch) -> None:
    """Each chart the Model page (linear, cold and warm; generalized) and the Lesson build
    is altair's own ``to_dict`` of it once the named datasets are read as rows."""
    checked = []
    original = vega.spec_with_frames

    def checking(chart):  # noqa: ANN001, ANN202
        expected = altairs(chart.copy(deep=True).to_dict(validate=False))
        spec, frames = original(chart)
        assert ours(spec, frames) == expected
        checked.append(spec.get("title"))
        return spec, frames

    monkeypatch.setattr(vega, "spec_with_frames", checking)
    memo.SHARED.clear()
    cache.FITS.clear()
    at = open_page(PAGE, {"random_slope": "true"})
    at.sidebar.toggle(key="random_slope").set_value(False).run()
    assert not at.exception
    open_page(PAGE, {"data": "contraception"})
    assert len(checked) >= 10


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


def test_json_datasets_read_the_arrow_datasets_back() -> None:
    frame = pd.DataFrame({"x": [1.5, -2.0], "g": ["a", "=cmd"]})
    spec = cache.chart_spec_of(alt.Chart(frame).mark_point().encode(x=alt.X("x:Q")))
    assert isinstance(spec["datasets"]["data-0"], bytes)
    assert cache.json_datasets(spec)["datasets"] == {"data-0": frame.to_dict("records")}
    assert cache.json_datasets({"mark": "point"}) == {"mark": "point"}


def test_the_page_chart_downloads_render_from_the_cached_spec() -> None:
    """The Model page caches its chart with Arrow datasets; the PNG/SVG downloads and
    the report must still get every point (vl-convert reads only JSON records)."""
    frame = load_bundled("schools")
    spec = cache.chart_spec_of(_scatter())
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
