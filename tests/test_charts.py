"""lib.charts: chart specs checked as Vega-Lite dicts (no browser needed)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lib import charts
from lib.groups import histogram

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]


def _points(n_groups: int = 3, per_group: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    g = np.repeat([f"G{k}" for k in range(n_groups)], per_group)
    x = rng.uniform(0, 10, size=len(g))
    return pd.DataFrame({"school": g, "study.time": x, "score": 2 * x + rng.normal(size=len(g))})


def _layers(spec: dict) -> list[dict]:
    return spec.get("layer", [spec])


def _data_values(spec: dict, layer: dict) -> list[dict]:
    return spec["datasets"][layer["data"]["name"]]


def test_palette_is_okabe_ito():
    assert list(charts.OKABE_ITO) == [*OKABE_ITO, "#000000"]
    assert charts.OVERALL_COLOUR == "#000000"


def test_scatter_colour_and_shape_by_group_with_fixed_domain():
    spec = charts.scatter_chart(
        _points(), "study.time", "score", "school", levels=["G0", "G1", "G2"]
    ).to_dict()
    enc = _layers(spec)[0]["encoding"]
    assert enc["color"]["scale"]["domain"] == ["G0", "G1", "G2"]
    assert enc["color"]["scale"]["range"] == OKABE_ITO[:3]
    assert enc["shape"]["scale"]["range"] == ["circle", "square", "triangle-up"]
    assert enc["x"]["title"] == "study.time"  # the user's name only appears as a title
    assert enc["x"]["field"] == "x"


def test_scatter_lines_overall_is_black_long_dashed_and_thick():
    lines = charts.abline_frame([1, 2, 3], [1, 1, 1], ["G0", "G1", "G2"], (0, 10), overall=(2, 1))
    spec = charts.scatter_chart(
        _points(), "study.time", "score", "school", lines=lines, levels=["G0", "G1", "G2"]
    ).to_dict()
    line = _layers(spec)[1]
    enc = line["encoding"]
    assert enc["color"]["scale"]["domain"][-1] == charts.OVERALL_LABEL
    assert enc["color"]["scale"]["range"][-1] == "#000000"
    assert enc["strokeDash"]["scale"]["range"][-1] == list(charts.OVERALL_DASH)
    assert enc["strokeDash"]["scale"]["range"][0] == [1, 0]  # a solid line for the first group
    assert enc["size"]["condition"]["value"] == 5
    rows = _data_values(spec, line)
    assert len(rows) == 8  # two end points per line
    overall = [r for r in rows if r["group"] == charts.OVERALL_LABEL]
    assert [(r["x"], r["y"]) for r in overall] == [(0.0, 2.0), (10.0, 12.0)]


def test_scatter_without_group_uses_single_colour():
    spec = charts.scatter_chart(_points(), "study.time", "score", None).to_dict()
    assert _layers(spec)[0]["encoding"]["color"] == {"value": charts.SINGLE_COLOUR}


def test_many_groups_cycle_colours_without_listing_levels():
    frame = _points(n_groups=20, per_group=2)
    levels = sorted(frame["school"].unique())
    lines = charts.abline_frame([1.0] * 20, [1.0] * 20, levels, (0, 10), overall=(0, 2))
    spec = charts.scatter_chart(frame, "study.time", "score", "school", lines=lines).to_dict()
    layers = _layers(spec)
    enc = layers[0]["encoding"]
    assert enc["color"]["scale"] == {"range": OKABE_ITO}  # cycles; no 20-level domain
    assert enc["color"]["legend"] is None
    overall = layers[2]
    assert overall["mark"]["color"] == "#000000"
    assert overall["mark"]["strokeDash"] == list(charts.OVERALL_DASH)
    assert {r["group"] for r in _data_values(spec, overall)} == {charts.OVERALL_LABEL}
    assert charts.OVERALL_LABEL not in {r["group"] for r in _data_values(spec, layers[1])}


def test_note_becomes_subtitle_and_fonts_are_large():
    spec = charts.scatter_chart(
        _points(), "study.time", "score", "school", title="T", note="random sample of 5,000 rows"
    ).to_dict()
    assert spec["title"]["subtitle"] == "random sample of 5,000 rows"
    assert spec["config"]["axis"]["labelFontSize"] >= 14
    assert spec["config"]["axis"]["titleFontSize"] >= 16
    assert spec["config"]["title"]["fontSize"] >= 20


def test_too_many_marks_are_refused():
    big = pd.DataFrame({"x": np.arange(6000.0), "y": np.arange(6000.0), "g": "a"})
    with pytest.raises(ValueError, match="bin or sample"):
        charts.scatter_chart(big, "x", "y", "g")


def test_user_text_is_data_not_markup():
    frame = _points().assign(school="<b>x</b>](javascript:alert(1))")
    spec = charts.scatter_chart(frame, "study.time", "score", "school").to_dict()
    text = json.dumps(spec)
    # The label is carried as a data value and legend entry, never as a field path.
    assert '"field": "group"' in text
    assert _layers(spec)[0]["encoding"]["color"]["field"] == "group"


def test_histogram_overall_and_facets_from_lib_groups():
    frame = _points(per_group=40)
    hist = histogram(frame, "score", group="school", binwidth=5)
    overall = charts.histogram_bins(hist)
    assert overall["count"].sum() == len(frame)
    assert (overall["end"] - overall["start"]).round(12).eq(5).all()
    spec = charts.histogram_chart(overall, "score", title="Histogram", note="bin width 5").to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["bin"] == "binned"
    assert spec["encoding"]["x2"]["field"] == "end"
    facets = charts.histogram_bins(hist, ["G2", "G0"])
    assert facets["group"].unique().tolist() == ["G2", "G0"]
    assert facets.groupby("group")["count"].sum().to_dict() == {"G0": 40, "G2": 40}
    fspec = charts.histogram_chart(facets, "score", by_group=True, group_title="school").to_dict()
    assert fspec["facet"]["field"] == "group"
    assert fspec["facet"]["sort"] == ["G2", "G0"]
    assert fspec["columns"] == 3
    assert fspec["spec"]["encoding"]["color"]["scale"]["range"] == OKABE_ITO[:2]


def test_ranef_chart_has_intervals_and_zero_line():
    intervals = pd.DataFrame(
        {
            "group": ["a", "b"],
            "term": ["(Intercept)"] * 2,
            "estimate": [1.0, -1.0],
            "se": [0.5, 0.5],
            "lower": [0.02, -1.98],
            "upper": [1.98, -0.02],
            "n": [5, 5],
        }
    )
    spec = charts.ranef_chart(intervals, group_title="school").to_dict()
    layers = spec["spec"]["layer"]
    assert layers[0]["mark"]["type"] == "rule"
    assert layers[0]["encoding"]["x2"]["field"] == "upper"
    assert layers[1]["mark"]["type"] == "point"
    assert layers[2]["encoding"]["x"] == {"datum": 0}
    assert spec["facet"]["column"]["field"] == "term"


def test_abline_and_coefficient_lines():
    coef = pd.DataFrame(
        {"(Intercept)": [1.0, 2.0], "x": [0.5, -0.5]}, index=pd.Index(["a", "b"], name="g")
    )
    lines = charts.coefficient_lines(coef, "x", (0.0, 2.0), overall=(1.5, 0.0))
    assert lines.to_dict("list") == {
        "group": ["a", "a", "b", "b", charts.OVERALL_LABEL, charts.OVERALL_LABEL],
        "x": [0.0, 2.0, 0.0, 2.0, 0.0, 2.0],
        "y": [1.0, 2.0, 2.0, 1.0, 1.5, 1.5],
    }
    flat = charts.coefficient_lines(coef[["(Intercept)"]], "x", (0.0, 2.0), groups=["b"])
    assert flat["y"].tolist() == [2.0, 2.0]


def test_pick_groups_keeps_largest_in_level_order():
    assert charts.pick_groups(["a", "b", "c", "d"], [5, 50, 1, 50], 2) == ["b", "d"]
    assert charts.pick_groups(["a", "b"], [1, 2], 5) == ["a", "b"]


def test_binwidth_choices_follow_1_2_5_ladder():
    choices, default = charts.binwidth_choices(25.0, 65.0)
    assert default == 5.0  # the tutorial's binwidth for test scores
    assert default in choices
    assert choices == sorted(choices)
    assert all(f"{c:e}"[0] in "125" for c in choices)
    assert charts.binwidth_choices(3.0, 3.0)[1] == 1.0
    assert charts.nice_width(0.13) == 0.2
    assert charts.nice_width(7) == 10


def test_colour_shape_pairs_stay_distinct_past_seven_groups():
    scales = charts.group_scales([f"g{i}" for i in range(12)])
    pairs = list(zip(scales["color"].range, scales["shape"].range, strict=True))
    assert len(set(pairs)) == 12
    dashes = [tuple(d) for d in scales["dash"].range]
    assert len(set(zip(scales["color"].range, dashes, strict=True))) == 12
