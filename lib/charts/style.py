"""The shared look of every chart: palette, projector-sized fonts, titles, scales.

Colour follows the Okabe-Ito palette and is never the only cue: groups also
differ by point shape and line dash, and the overall fixed-effects line is
black, thick and long-dashed (the tutorial's ``linetype = "longdash"``), with a
legend entry drawn the same way. Fonts (the app's own, at least 18 px) are sized
for a classroom projector; single charts fill their container's width, facets
come two to a row and long titles wrap, so that a 1024 px screen with the
sidebar open shows them whole. The browser never gets
raw big data: callers bin (``lib.explore.groups.histogram``) or sample
(``lib.explore.groups.sample_rows``)
first and pass a ``note`` that the chart shows as its subtitle (``check_marks``
refuses more than ``MAX_MARKS``).
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Sequence

import altair as alt

from lib.charts import readable

OKABE_ITO = (
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#000000",  # black
)
# Yellow (#F0E442) is left out of lines and points: it is faint on white through a
# projector. Black is kept for the overall (fixed-effects) line.
GROUP_COLOURS = tuple(c for c in OKABE_ITO[:7] if c != "#F0E442")
OVERALL_COLOUR = OKABE_ITO[7]
SINGLE_COLOUR = OKABE_ITO[4]
SHAPES = ("circle", "square", "triangle-up", "diamond", "cross", "triangle-down", "wedge")
DASHES = ((1, 0), (8, 4), (2, 3), (12, 3, 3, 3), (4, 4), (16, 4), (6, 2, 2, 2))
OVERALL_DASH = (14, 6)
OVERALL_LABEL = "All (fixed effects)"
OLS_LABEL = "OLS line"  # the overall line of an ordinary regression (Compare page)
MAX_MARKS = 5000
MAX_LEGEND_GROUPS = 12
CONTEXT_GREY = readable.CONTEXT_GREY
# Pixel sizes for a projector: Streamlit's body text is 20 px here (config.toml), and
# axis labels below 18 px cannot be read from the back of a classroom.
FONT = {"label": 18, "title": 20, "chart_title": 24}
# Streamlit 1.67 serves its own font as "Source Sans" (static/css); naming it makes the
# charts use the app's font instead of a wide fallback.
FONT_FAMILY = '"Source Sans", "Source Sans Pro", sans-serif'
FACET_WIDTH = 180  # one histogram cell: two with their axes fit the 449 px column
OVERALL_PLOT_PX = 360  # the plot of a container-wide chart in that column, axes left out
HEIGHT = 420


def _cycle(values: Sequence, n: int) -> list:
    return [values[i % len(values)] for i in range(n)]


TITLE_CHARS = 32  # a title line at 24 px bold in a 420 px chart (1024 px screen, sidebar open)
NOTE_CHARS = 48  # a subtitle line at 18 px
COMPACT_TITLE_CHARS = 11  # the same in a half-width chart (about 165 px of plot)


def _lines(text: str, width: int) -> str | list[str]:
    """``text`` as lines of at most ``width`` characters (Vega-Lite draws a list as
    lines): a long title is cut to the chart's width ("Histogram of test_score across
    all gro…" at 1024 px with the sidebar open) where it could wrap."""
    lines = textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)
    return lines if len(lines) > 1 else text


def chart_title(text: str, note: str | None, chars: int = TITLE_CHARS) -> alt.TitleParams:
    return alt.TitleParams(
        text=_lines(text, chars),
        subtitle=_lines(note or "", NOTE_CHARS * chars // TITLE_CHARS),
        anchor="start",
    )


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """The shared look of every chart: the app's font, projector-sized text.

    Each ``configure_*`` call deep-copies the whole chart (11 ms for a scatter
    with lines), so the config is built once, on an empty chart, and attached.
    """
    configured = chart.copy(deep=False)
    configured.config = _shared_config()
    return configured


@functools.cache
def _shared_config() -> alt.Config:
    # Axes and legends label and title the same way.
    text = {
        "labelFont": FONT_FAMILY,
        "titleFont": FONT_FAMILY,
        "labelFontSize": FONT["label"],
        "titleFontSize": FONT["title"],
        "titleFontWeight": 600,
    }
    return (
        alt.Chart()
        .configure(font=FONT_FAMILY)
        .configure_axis(**text, grid=False)
        .configure_legend(**text, symbolSize=220, labelLimit=320)
        .configure_header(
            labelFont=FONT_FAMILY,
            titleFont=FONT_FAMILY,
            labelFontSize=FONT["title"],
            titleFontSize=FONT["title"],
        )
        .configure_title(
            font=FONT_FAMILY,
            subtitleFont=FONT_FAMILY,
            fontSize=FONT["chart_title"],
            fontWeight=600,
            subtitleFontSize=FONT["label"],
            subtitleColor="#555555",
        )
        .configure_view(stroke=None)
    ).config


def group_scales(levels: Sequence[str]) -> dict[str, alt.Scale]:
    """Colour, shape and dash scales with a fixed domain (the groups' order)."""
    domain = [str(level) for level in levels]
    colours = _cycle(GROUP_COLOURS, len(domain))
    # Six colours against seven shapes and dashes: the (colour, shape) pairs cycle with
    # different periods, so they stay distinct for up to 6 x 7 = 42 groups.
    shapes = [SHAPES[i % len(SHAPES)] for i in range(len(domain))]
    dashes = [list(DASHES[i % len(DASHES)]) for i in range(len(domain))]
    return {
        "color": alt.Scale(domain=domain, range=colours),
        "shape": alt.Scale(domain=domain, range=shapes),
        "dash": alt.Scale(domain=domain, range=dashes),
    }


def check_marks(n: int, what: str) -> None:
    if n > MAX_MARKS + 2 * 200:
        raise ValueError(
            f"{n} {what} would be sent to the browser; bin or sample to at most {MAX_MARKS}."
        )
