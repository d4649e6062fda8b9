"""lib.charts (style, histogram, scatter, ranef): specs checked as Vega-Lite dicts."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from lib.charts import histogram as chart_histogram
from lib.charts import ranef as chart_ranef
from lib.charts import readable as chart_readable
from lib.charts import scatter as chart_scatter
from lib.charts import style as chart_style
from lib.explore.groups import histogram

OKABE_ITO = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7"]
# Group colours: Okabe-Ito without yellow (faint on white through a projector).
GROUP = ["#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7"]


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
    assert list(chart_style.OKABE_ITO) == [*OKABE_ITO, "#000000"]
    assert chart_style.OVERALL_COLOUR == "#000000"
    assert list(chart_style.GROUP_COLOURS) == GROUP


def test_group_scales_keep_colour_shape_pairs_distinct_without_yellow():
    levels = [f"G{k}" for k in range(42)]
    scales = chart_style.group_scales(levels)
    colours = scales["color"].range
    shapes = scales["shape"].range
    assert "#F0E442" not in colours
    assert len(set(zip(colours, shapes, strict=True))) == 42


def test_scatter_colour_and_shape_by_group_with_fixed_domain():
    spec = chart_scatter.scatter_chart(
        _points(), "study.time", "score", "school", levels=["G0", "G1", "G2"]
    ).to_dict()
    enc = _layers(spec)[0]["encoding"]
    assert enc["color"]["scale"]["domain"] == ["G0", "G1", "G2"]
    assert enc["color"]["scale"]["range"] == GROUP[:3]
    assert enc["shape"]["scale"]["range"] == ["circle", "square", "triangle-up"]
    assert enc["x"]["title"] == "study.time"  # the user's name only appears as a title
    assert enc["x"]["field"] == "x"


def test_scatter_lines_overall_is_black_long_dashed_and_thick():
    lines = chart_scatter.abline_frame(
        [1, 2, 3], [1, 1, 1], ["G0", "G1", "G2"], (0, 10), overall=(2, 1)
    )
    spec = chart_scatter.scatter_chart(
        _points(), "study.time", "score", "school", lines=lines, levels=["G0", "G1", "G2"]
    ).to_dict()
    groups, overall = _layers(spec)[1], _layers(spec)[2]
    enc = groups["encoding"]
    assert enc["color"]["scale"]["domain"] == ["G0", "G1", "G2"]
    assert enc["strokeDash"]["scale"]["range"][0] == [1, 0]  # a solid line for the first group
    assert len(_data_values(spec, groups)) == 6  # two end points per line
    assert overall["mark"]["color"] == "#000000"
    assert overall["mark"]["strokeWidth"] == 5
    dash = overall["encoding"]["strokeDash"]
    assert dash["scale"] == {
        "domain": [chart_style.OVERALL_LABEL],
        "range": [list(chart_style.OVERALL_DASH)],
    }
    rows = _data_values(spec, overall)
    assert [(r["x"], r["y"]) for r in rows] == [(0.0, 2.0), (10.0, 12.0)]
    assert spec["resolve"]["scale"]["strokeDash"] == "independent"


def test_overall_line_legend_entry_is_a_black_long_dash():
    lines = chart_scatter.abline_frame([], [], [], (0, 10), overall=(2, 1))
    spec = chart_scatter.scatter_chart(
        _points(), "study.time", "score", "school", lines=lines, overall_label=chart_style.OLS_LABEL
    ).to_dict()
    overall = _layers(spec)[1]
    legend = overall["encoding"]["strokeDash"]["legend"]
    assert legend["symbolType"] == "stroke"
    assert legend["symbolStrokeColor"] == "#000000"
    assert legend["symbolDash"] == list(chart_style.OVERALL_DASH)
    assert legend["symbolSize"] >= 900  # at least 30 px long: the dashes are visible
    # The legend names the line as the caller asks: "OLS line" for an ordinary regression.
    assert {r["line"] for r in _data_values(spec, overall)} == {chart_style.OLS_LABEL}
    assert overall["encoding"]["strokeDash"]["scale"]["domain"] == [chart_style.OLS_LABEL]


def test_compact_scatter_has_no_legend_to_cut_and_wraps_its_title():
    """A half-width chart (about 210 px at 1024 px) cut its legends ("Oakwo", "All (fixed
    effects") and its title ("Separate regre…"): it draws none, the page says what the
    colours are, and the title wraps to the width."""
    lines = chart_scatter.abline_frame(
        [1, 2, 3], [1, 1, 1], ["G0", "G1", "G2"], (0, 10), overall=(2, 1)
    )
    spec = chart_scatter.scatter_chart(
        _points(),
        "study.time",
        "score",
        "school",
        lines=lines,
        compact=True,
        title="Separate regressions",
    ).to_dict()
    layers = _layers(spec)
    assert layers[0]["encoding"]["color"]["legend"] is None
    assert layers[1]["encoding"]["color"]["legend"] is None
    assert layers[2]["encoding"]["strokeDash"]["legend"] is None
    assert spec["title"]["text"] == ["Separate", "regressions"]


def test_scatter_without_group_uses_single_colour():
    spec = chart_scatter.scatter_chart(_points(), "study.time", "score", None).to_dict()
    assert _layers(spec)[0]["encoding"]["color"] == {"value": chart_style.SINGLE_COLOUR}


def test_many_groups_highlight_the_extreme_lines_and_grey_the_rest():
    """30 schools: the highest, lowest, steepest, flattest and middle lines in colour with
    a legend; the other 25 grey underneath, said in the subtitle."""
    frame = _points(n_groups=30, per_group=2)
    levels = sorted(frame["school"].unique())
    intercepts = np.linspace(0.0, 29.0, 30)
    slopes = np.r_[[1.0] * 10, 3.0, [1.0] * 18, -1.0]  # steepest levels[10], flattest [29]
    lines = chart_scatter.abline_frame(intercepts, slopes, levels, (0, 10), overall=(0, 2))
    spec = chart_scatter.scatter_chart(
        frame, "study.time", "score", "school", lines=lines
    ).to_dict()
    layers = _layers(spec)
    grey_points, grey_lines, points, coloured, overall = layers
    assert grey_points["mark"]["color"] == grey_lines["mark"]["color"] == chart_style.CONTEXT_GREY
    chosen = points["encoding"]["color"]["scale"]["domain"]
    # highest and lowest line at the middle of x, then steepest and flattest slope
    assert chosen[:4] == [levels[28], levels[0], levels[10], levels[29]]
    middles = intercepts + 5 * slopes  # each line at x = 5, the middle of 0..10
    assert chosen[4] == levels[int(np.argmin(np.abs(middles - np.median(middles))))]
    parallel = chart_scatter.abline_frame(intercepts, [1.0] * 30, levels, (0, 10))
    assert chart_readable.highlight_groups(parallel, frame) == [levels[29], levels[0], levels[15]]
    assert points["encoding"]["color"]["legend"]["orient"] == "bottom"
    assert {r["group"] for r in _data_values(spec, coloured)} == set(chosen)
    assert len({r["group"] for r in _data_values(spec, grey_lines)}) == 25
    assert not {r["group"] for r in _data_values(spec, grey_points)} & set(chosen)
    assert " ".join(spec["title"]["subtitle"]).endswith("grey: 25 other groups")
    assert overall["mark"]["color"] == "#000000"
    assert overall["encoding"]["strokeDash"]["scale"]["range"] == [list(chart_style.OVERALL_DASH)]
    assert {r["group"] for r in _data_values(spec, overall)} == {chart_style.OVERALL_LABEL}


def test_note_becomes_subtitle_and_fonts_are_large():
    spec = chart_scatter.scatter_chart(
        _points(), "study.time", "score", "school", title="T", note="random sample of 5,000 rows"
    ).to_dict()
    assert spec["title"]["subtitle"] == "random sample of 5,000 rows"
    config = spec["config"]
    # Projector sizes: nothing below 18 px (the app's body text is 20 px).
    assert config["axis"]["labelFontSize"] >= 18
    assert config["axis"]["titleFontSize"] >= 18
    assert config["legend"]["labelFontSize"] >= 18
    assert config["legend"]["titleFontSize"] >= 18
    assert config["title"]["fontSize"] >= 20
    assert config["title"]["subtitleFontSize"] >= 18
    # The app's own font (Streamlit 1.67 calls it "Source Sans"), not a wide fallback.
    assert config["font"].startswith('"Source Sans"')
    assert config["axis"]["labelFont"] == config["legend"]["labelFont"] == config["font"]
    assert config["title"]["font"] == config["font"]
    assert spec["width"] == "container"


def test_too_many_marks_are_refused():
    big = pd.DataFrame({"x": np.arange(6000.0), "y": np.arange(6000.0), "g": "a"})
    with pytest.raises(ValueError, match="bin or sample"):
        chart_scatter.scatter_chart(big, "x", "y", "g")


def test_user_text_is_data_not_markup():
    frame = _points().assign(school="<b>x</b>](javascript:alert(1))")
    spec = chart_scatter.scatter_chart(frame, "study.time", "score", "school").to_dict()
    text = json.dumps(spec)
    # The label is carried as a data value and legend entry, never as a field path.
    assert '"field": "group"' in text
    assert _layers(spec)[0]["encoding"]["color"]["field"] == "group"


def test_histogram_overall_and_facets_from_lib_groups():
    frame = _points(per_group=40)
    hist = histogram(frame, "score", group="school", binwidth=5)
    overall = chart_histogram.histogram_bins(hist)
    assert overall["count"].sum() == len(frame)
    assert (overall["end"] - overall["start"]).round(12).eq(5).all()
    spec = chart_histogram.histogram_chart(
        overall, "score", title="Histogram", note="bin width 5"
    ).to_dict()
    assert spec["mark"]["type"] == "bar"
    assert spec["encoding"]["x"]["bin"] == "binned"
    assert spec["encoding"]["x2"]["field"] == "end"
    facets = chart_histogram.histogram_bins(hist, ["G2", "G0"])
    assert facets["group"].unique().tolist() == ["G2", "G0"]
    assert facets.groupby("group")["count"].sum().to_dict() == {"G0": 40, "G2": 40}
    fspec = chart_histogram.histogram_chart(
        facets, "score", by_group=True, group_title="school"
    ).to_dict()
    assert fspec["facet"]["field"] == "group"
    assert fspec["facet"]["sort"] == ["G2", "G0"]
    assert fspec["columns"] == 2  # two 190 px cells fit 1024 px with the sidebar open
    assert fspec["spec"]["encoding"]["color"]["scale"]["range"] == GROUP[:2]


def test_ranef_chart_has_intervals_and_zero_line():
    intervals = pd.DataFrame(
        {
            "group": ["a", "b", "a", "b"],
            "term": ["(Intercept)"] * 2 + ["x"] * 2,
            "estimate": [1.0, -1.0, 0.1, -0.1],
            "se": [0.5, 0.5, 0.05, 0.05],
            "lower": [0.02, -1.98, 0.0, -0.2],
            "upper": [1.98, -0.02, 0.2, 0.0],
            "n": [5, 5, 5, 5],
        }
    )
    spec = chart_ranef.ranef_chart(
        intervals, term="x", group_title="school", title="Slope"
    ).to_dict()
    layers = spec["layer"]
    assert layers[0]["mark"]["type"] == "rule"
    assert layers[0]["encoding"]["x2"]["field"] == "upper"
    assert layers[1]["mark"]["type"] == "point"
    assert layers[2]["encoding"]["x"] == {"datum": 0}
    # One term per chart, as wide as the page's column: no side-by-side panels to clip.
    assert spec["width"] == "container"
    assert {r["term"] for r in spec["datasets"][spec["data"]["name"]]} == {"x"}
    assert spec["title"]["text"] == "Slope"
    with pytest.raises(ValueError, match="choose one"):
        chart_ranef.ranef_chart(intervals)


def test_abline_and_coefficient_lines():
    coef = pd.DataFrame(
        {"(Intercept)": [1.0, 2.0], "x": [0.5, -0.5]}, index=pd.Index(["a", "b"], name="g")
    )
    lines = chart_scatter.coefficient_lines(coef, "x", (0.0, 2.0), overall=(1.5, 0.0))
    assert lines.to_dict("list") == {
        "group": ["a", "a", "b", "b", chart_style.OVERALL_LABEL, chart_style.OVERALL_LABEL],
        "x": [0.0, 2.0, 0.0, 2.0, 0.0, 2.0],
        "y": [1.0, 2.0, 2.0, 1.0, 1.5, 1.5],
    }
    flat = chart_scatter.coefficient_lines(coef[["(Intercept)"]], "x", (0.0, 2.0), groups=["b"])
    assert flat["y"].tolist() == [2.0, 2.0]


def test_pick_groups_keeps_largest_in_level_order():
    assert chart_readable.pick_groups(["a", "b", "c", "d"], [5, 50, 1, 50], 2) == ["b", "d"]
    assert chart_readable.pick_groups(["a", "b"], [1, 2], 5) == ["a", "b"]


def test_binwidth_choices_follow_1_2_5_ladder():
    choices, default = chart_histogram.binwidth_choices(25.0, 65.0)
    assert default == 5.0  # the tutorial's binwidth for test scores
    assert default in choices
    assert choices == sorted(choices)
    assert all(f"{c:e}"[0] in "125" for c in choices)
    assert chart_histogram.binwidth_choices(3.0, 3.0)[1] == 1.0
    assert chart_histogram.nice_width(0.13) == 0.2
    assert chart_histogram.nice_width(7) == 10


def test_colour_shape_pairs_stay_distinct_past_seven_groups():
    scales = chart_style.group_scales([f"g{i}" for i in range(12)])
    pairs = list(zip(scales["color"].range, scales["shape"].range, strict=True))
    assert len(set(pairs)) == 12
    dashes = [tuple(d) for d in scales["dash"].range]
    assert len(set(zip(scales["color"].range, dashes, strict=True))) == 12


def test_long_titles_wrap_and_short_ones_stay_strings():
    """Vega-Lite cuts a one-line title at the chart's width; a list of lines wraps."""
    long = chart_style.chart_title("Histogram of test_score across all groups", "bin width 5")
    assert long.text == ["Histogram of test_score across", "all groups"]
    assert long.subtitle == "bin width 5"
    assert chart_style.chart_title("Slope", None).text == "Slope"
    note = "bin width 5; the 12 largest of 1,234 groups; 17 rows with missing values left out"
    lines = chart_style.chart_title("t", note).subtitle
    assert all(len(line) <= chart_style.NOTE_CHARS for line in lines) and " ".join(lines) == note
