"""Charts that stay readable at 449 px and with many groups (lib.charts.readable and the
builders that use it): ticks on bin edges that do not touch, no axis under an empty facet,
charts no wider than the column, the shrinkage plane's labels apart."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lib.charts import diagnostics as diagnostic_charts
from lib.charts import histogram as chart_histogram
from lib.charts import pooling as pooling_charts
from lib.charts import readable
from lib.charts import simulate as simulate_charts
from lib.charts import style as chart_style
from lib.classroom.pooling import pooling
from lib.classroom.simulate import SimSettings, simulate
from lib.explore.groups import histogram
from lib.lmm import fit_lmm
from lib.model.spec import ModelSpec
from lib.table.catalogue import load_bundled

COLUMN_PX = 449  # the main column at 1024x768 with the sidebar open


def test_edge_ticks_are_bin_edges_that_fit_the_panel():
    edges = np.arange(20.0, 95.0, 5.0)  # 15 edges of a 5-wide histogram of scores
    ticks = readable.edge_ticks(edges, chart_style.FACET_WIDTH)
    assert set(ticks) <= set(edges) and ticks[0] == 20.0
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0])  # every k-th edge
    label_px = max(len(readable.tick_label(v)) for v in ticks) * readable.LABEL_CHAR_PX
    assert len(ticks) * (label_px + readable.LABEL_GAP_PX) <= chart_style.FACET_WIDTH
    assert readable.edge_ticks(edges, 2000) == list(edges)  # room for all
    assert readable.tick_label(0.5) == "0.5" and readable.tick_label(2000.0) == "2,000"


def test_histogram_axes_sit_on_the_edges_and_facets_draw_their_own():
    schools = load_bundled("schools")
    hist = histogram(schools, "test_score", group="school", binwidth=5)
    facets = chart_histogram.histogram_bins(hist, ["Hillcrest", "Oakwood", "St Mary’s"])
    spec = chart_histogram.histogram_chart(facets, "test_score", by_group=True).to_dict()
    values = spec["spec"]["encoding"]["x"]["axis"]["values"]
    assert set(values) <= set(np.asarray(hist.edges, float))
    # Three panels in two columns: each panel has its own x axis, so the empty fourth
    # cell has none (a shared footer axis drew one under it).
    assert spec["resolve"]["axis"]["x"] == "independent"
    assert 2 * chart_style.FACET_WIDTH + 60 <= COLUMN_PX


def test_small_multiples_fit_the_column():
    data = load_bundled("schools")
    fit = fit_lmm(data, ModelSpec.one_factor("test_score", "school", fixed=("study_time",)))
    result = pooling(data, fit)
    lines = pooling_charts.strategy_lines(result, "study_time", (0, 18), list(result.levels))
    points = data.rename(columns={"school": "group", "study_time": "x", "test_score": "y"})
    spec = pooling_charts.pooling_lines_chart(points, lines, "study_time", "test_score").to_dict()
    assert spec["resolve"]["axis"]["x"] == "independent"
    width, _ = pooling_charts.FACET_SIZE
    assert spec["columns"] * width + 80 <= COLUMN_PX
    panels = diagnostic_charts.FACET_COLUMNS * diagnostic_charts.FACET_WIDTH
    assert panels + 80 <= COLUMN_PX
    sim = simulate(SimSettings(n_groups=5, group_size=5, n_sims=20, seed=1))
    spec = simulate_charts.sampling_chart(sim).to_dict()
    assert spec["spec"]["width"] + 80 <= COLUMN_PX
    assert spec["facet"]["row"]["header"]["labelOrient"] == "top"  # names above, not beside


def test_shrinkage_plane_keeps_its_size_and_its_labels_apart():
    data = load_bundled("schools")
    spec_ = ModelSpec.one_factor(
        "test_score", "school", fixed=("study_time",), random_slopes=("study_time",)
    )
    result = pooling(data, fit_lmm(data, spec_))
    spec = pooling_charts.shrinkage_plane_chart(result, "study_time").to_dict()
    assert spec["autosize"] == {"type": "pad"}  # the legends do not squeeze the plot
    width, height = pooling_charts.PLANE_SIZE
    assert spec["width"] == width and spec["height"] == height and width + 90 <= COLUMN_PX
    # Two circles 12 px apart on screen: their labels go to different places.
    close = pd.DataFrame(
        {"group": ["St Mary's", "Oakwood"], "none": [22.0, 22.5], "noney": [2.8, 2.75]}
    )
    xdom, ydom = [0.0, 50.0], [0.0, 4.0]
    placed = pooling_charts._label_places(close, xdom, ydom, (330, 330))
    px, py = 330 / 50, 330 / 4
    boxes = []
    for _, row in placed.iterrows():
        w = len(row["group"]) * pooling_charts.LABEL_CHAR_PX
        left = row["lx"] * px if row["align"] == "left" else row["lx"] * px - w
        top = (ydom[1] - row["ly"]) * py - pooling_charts.LABEL_PX / 2
        boxes.append((left, top, left + w, top + pooling_charts.LABEL_PX))
    a, b = boxes
    assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1]


def test_rows_chart_gives_each_group_room():
    data = load_bundled("schools")
    spec_ = ModelSpec.one_factor(
        "test_score", "school", random_intercept=False, random_slopes=("study_time",)
    )
    result = pooling(data, fit_lmm(data, spec_))
    spec = pooling_charts.shrinkage_rows_chart(result, "study_time").to_dict()
    assert spec["autosize"]["type"] == "fit-x"  # the height is the plot's
    assert spec["height"] >= 240  # three rows used to get ~100 px
