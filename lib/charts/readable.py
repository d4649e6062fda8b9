"""Keeping charts readable with many groups and narrow panels (pure helpers).

* **Ticks on bin edges.** A histogram's x axis is labelled at its bins' edges, as many as
  fit the panel without touching (``edge_ticks``): Vega-Lite's own ticks fall at round
  numbers between the edges and, in a 190 px facet, ran into each other ("2030 40").
* **A few groups in colour, the rest grey.** With more groups than a legend can name
  (30 schools), six colours and seven shapes cycle and every line looks like its
  neighbours. ``highlight_groups`` picks the groups worth naming (the highest and
  lowest line and the steepest and flattest slope, or the largest groups when there
  are no lines); the chart draws them in colour with a legend and the others in light
  grey underneath, as context (the "small multiples or highlight" advice of Tufte and
  of Wilke's *Fundamentals of Data Visualization*, ch. 20).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

HIGHLIGHTED = 5  # groups drawn in colour when there are too many to name
CONTEXT_GREY = "#c4c4c4"
LABEL_CHAR_PX = 10.0  # an 18 px axis label: digits are about half an em wide
LABEL_GAP_PX = 14.0


def tick_label(value: float) -> str:
    """A tick value as the axis writes it (Vega-Lite format ``,.6~g``)."""
    text = f"{value:,.6g}"
    if "e" not in text and "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def edge_ticks(edges: Sequence[float], width_px: float) -> list[float]:
    """Bin edges to label on an axis ``width_px`` wide: every k-th edge, with k the
    smallest step at which the labels do not touch."""
    values = sorted({float(e) for e in edges if math.isfinite(e)})
    if len(values) <= 2:
        return values
    widest = max(len(tick_label(v)) for v in values) * LABEL_CHAR_PX + LABEL_GAP_PX
    room = max(1, int(width_px // widest))
    step = max(1, math.ceil((len(values) - 1) / max(room - 1, 1)))
    return values[::step]


def highlight_groups(
    lines: pd.DataFrame | None, points: pd.DataFrame, count: int = HIGHLIGHTED
) -> list[str]:
    """The groups to draw in colour: with lines (``group``, ``x``, ``y``, two ends per
    line), the highest and lowest line at its middle, the steepest and flattest (when
    the slopes differ) and the line nearest the median; without lines, the groups with
    the most points. At most ``count``, in that order."""
    chosen: list[str] = []
    if lines is not None and len(lines):
        ends = lines.sort_values("x").groupby("group", sort=False)
        first, last = ends.first(), ends.last()
        middle = (first["y"] + last["y"]) / 2
        run = (last["x"] - first["x"]).replace(0, np.nan)
        slope = ((last["y"] - first["y"]) / run).fillna(0.0)
        chosen += [str(middle.idxmax()), str(middle.idxmin())]
        if slope.max() - slope.min() > 1e-9 * max(1.0, float(slope.abs().max())):
            chosen += [str(slope.idxmax()), str(slope.idxmin())]
        chosen.append(str((middle - middle.median()).abs().idxmin()))
    else:
        sizes = points["group"].astype(str).value_counts(sort=True)
        chosen += [str(g) for g in sizes.index[:count]]
    return list(dict.fromkeys(chosen))[:count]


def highlight_note(n_groups: int, shown: int, lines: bool) -> str:
    """The subtitle that says which groups are coloured and which grey."""
    which = "top, bottom, steepest, flattest, middle line" if lines else f"{shown} largest groups"
    return f"colour: {which}; grey: {n_groups - shown:,} other groups"


def pick_groups(levels: Sequence[str], sizes: Sequence[int], max_groups: int) -> list[str]:
    """The ``max_groups`` largest groups (ties by level order), in level order."""
    if len(levels) <= max_groups:
        return [str(v) for v in levels]
    order = sorted(range(len(levels)), key=lambda i: (-int(sizes[i]), i))[:max_groups]
    return [str(levels[i]) for i in sorted(order)]
