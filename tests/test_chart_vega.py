"""lib.charts.vega: a chart's Vega-Lite dict with its frames kept aside is altair's
``to_dict`` with the same rows, for layers, shared data, facets, concatenations,
categories and missing values."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd
from chart_equivalence import altairs, ours

from lib.charts.vega import spec_with_frames


def _same(make) -> dict[str, pd.DataFrame]:  # noqa: ANN001
    spec, frames = spec_with_frames(make())
    assert "datasets" not in spec
    assert ours(spec, frames) == altairs(make().to_dict(validate=False))
    return frames


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": [1.5, -2.0, math.nan, 4.0],
            "y": [1, 2, 3, 4],
            "g": pd.Categorical(["a", "b", "a", None]),
            "label": ["=cmd", "<b>", "ok", "é"],
        },
        index=[10, 11, 12, 13],
    )


def test_a_layer_with_its_own_frames():
    frame = _frame()

    def make() -> alt.LayerChart:
        points = alt.Chart(frame).mark_point().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
        rule = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule().encode(y=alt.Y("y:Q"))
        return alt.layer(points, rule).properties(title="t")

    frames = _same(make)
    assert len(frames) == 2
    assert list(frames["data-0"].columns) == ["x", "y", "g", "label"]  # no index column


def test_data_shared_by_the_layers_is_one_dataset():
    frame = _frame()

    def make() -> alt.LayerChart:
        base = alt.Chart().encode(x=alt.X("x:Q"))
        return alt.layer(
            base.mark_point().encode(y=alt.Y("y:Q")),
            base.mark_text().encode(y=alt.Y("y:Q"), text=alt.Text("label:N")),
            data=frame,
        )

    assert len(_same(make)) == 1


def test_a_facet_and_a_concatenation():
    frame = _frame()

    def facet() -> alt.FacetChart:
        inner = alt.Chart().mark_point().encode(x=alt.X("x:Q"), y=alt.Y("y:Q"))
        return alt.layer(inner, data=frame).facet(facet=alt.Facet("g:N"), columns=2)

    def concat() -> alt.HConcatChart:
        left = alt.Chart(frame).mark_bar().encode(x=alt.X("g:N"), y=alt.Y("y:Q"))
        right = alt.Chart(frame.head(2)).mark_point().encode(x=alt.X("x:Q"))
        return alt.hconcat(left, right)

    assert len(_same(facet)) == 1
    assert len(_same(concat)) == 2


def test_categories_and_missing_values_are_sent_as_altair_sends_them():
    frames = _same(lambda: alt.Chart(_frame()).mark_point().encode(x=alt.X("x:Q")))
    sent = frames["data-0"]
    assert sent["g"].tolist()[:3] == ["a", "b", "a"]
    assert sent["g"].isna().tolist() == [False, False, False, True]
    assert np.isnan(sent["x"].iloc[2])
