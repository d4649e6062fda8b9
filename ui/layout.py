"""The one layout rule for tables and metrics: every number whole at 1024x768.

The narrowest screen the app is made for is a 1024x768 projector with the sidebar open:
the main column is then 449 px wide (x = 475…924; /work/shared/FACTS.md). In
presentation mode (``present=1``) the sidebar starts collapsed and the column is
824 px. Streamlit cuts what does not fit: a metric's value ends in "…", and an
``st.dataframe`` wider than its column scrolls sideways inside its grid, which a
projector audience never sees. So, for every table and row of metrics:

* **Tables wrap their columns into blocks**, as R's ``print.data.frame`` wraps a wide
  data frame to ``getOption("width")``: the columns are packed, in order, into blocks
  that each fit the column, and each block repeats the row labels. Nothing scrolls
  sideways and no cell is cut; a table that fits stays one table.
* **Metrics are sized to their text and wrap** onto the next row (a horizontal container
  of ``width="content"`` metrics), so a value is never squeezed into a third of the column.

Widths are estimated from the font's advance widths (Source Sans, measured in chromium
with ``CanvasRenderingContext2D.measureText``), and the grid's padding and minimum width
(measured: an ``st.dataframe`` column is 1.25 × the 14 px text width + 20 px, at least
63 px, with the app's ``baseFontSize = 20``). Pure functions: no Streamlit here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Advance widths of Source Sans (weight 400) in em, by character; others count as 1 em
# (wide enough for CJK, which is 1 em, and for any Latin letter).
_EM_WIDTHS = {
    0.2: " ",
    0.25: "|ij',.:;·’l",
    0.27: "I",
    0.3: "!f()[]{}-",
    0.35: "tr/\\",
    0.37: "²",
    0.43: '*s?z"',
    0.47: "xcvyYJ–χ",
    0.5: "LFkeé0123456789#$+<=>^~_ag",
    0.52: "XV",
    0.55: "ESTZ`oAhunbdpq",
    0.58: "PRCK",
    0.59: "B",
    0.62: "&DG",
    0.66: "UNH",
    0.67: "OQ",
    0.72: "w",
    0.73: "M",
    0.79: "W",
    0.8: "—",
    0.83: "%m",
    0.85: "@",
    0.95: "…",
}
EM = {ch: width for width, chars in _EM_WIDTHS.items() for ch in chars}


def text_em(text: str) -> float:
    """The width of ``text`` in em (font size 1)."""
    return sum(EM.get(ch, 1.0) for ch in text)


@dataclass(frozen=True)
class TableFont:
    """How a kind of table draws a column: font size, horizontal padding, minimum width."""

    cell_px: float
    header_px: float
    padding_px: float
    header_padding_px: float
    min_px: float

    def column_px(self, header: str, cells: Sequence[str]) -> float:
        """The width the column takes: its widest text plus the padding."""
        widest = max((text_em(c) for c in cells), default=0.0)
        return max(
            widest * self.cell_px + self.padding_px,
            text_em(header) * self.header_px + self.header_padding_px,
            self.min_px,
        )


# st.dataframe (glide-data-grid on a canvas): 17.5 px text, 20 px padding, 63 px at least.
GRID = TableFont(cell_px=17.5, header_px=17.5, padding_px=22, header_padding_px=22, min_px=63)
# st.table in presentation mode (ui.presentation's CSS): 25 px cells with 7.5 px padding
# on each side, 24 px headers with 10 px.
STATIC = TableFont(cell_px=25, header_px=24, padding_px=17, header_padding_px=22, min_px=0)

MAIN_PX = 449  # the main column at 1024x768 with the sidebar open
PRESENT_PX = 824  # the same screen in presentation mode (sidebar collapsed)
GRID_BORDER_PX = 4  # the grid's border and the scroller's rounding
METRIC_VALUE_PX = 50  # theme.metricValueFontSize = 2.5rem at baseFontSize 20


def column_blocks(
    columns: Mapping[str, Sequence[str]],
    font: TableFont,
    available_px: float,
    label: str | None = None,
) -> list[list[str]]:
    """The columns in blocks that each fit ``available_px``, in their order.

    ``columns`` maps a header to the column's cell texts; ``label`` names the row-label
    column, which starts every block. A column too wide to share a block is alone
    with the labels. Blocks are balanced: seven columns that need two blocks are
    shown four and three, not six and one.
    """
    widths = {name: font.column_px(name, cells) for name, cells in columns.items()}
    base = widths[label] if label is not None else 0.0
    names = [name for name in columns if name != label]
    greedy = _greedy(names, widths, available_px - base)
    if len(greedy) <= 1:
        blocks = [names]
    else:
        blocks = _balanced(names, widths, available_px - base, len(greedy)) or greedy
    return [([label] if label is not None else []) + block for block in blocks]


def _greedy(names: list[str], widths: Mapping[str, float], room: float) -> list[list[str]]:
    blocks: list[list[str]] = []
    used = room + 1.0
    for name in names:
        if used + widths[name] > room and (not blocks or blocks[-1]):
            blocks.append([])
            used = 0.0
        blocks[-1].append(name)
        used += widths[name]
    return blocks


def _balanced(
    names: list[str], widths: Mapping[str, float], room: float, count: int
) -> list[list[str]] | None:
    """``count`` contiguous blocks of nearly equal numbers of columns, if they all fit."""
    size, extra = divmod(len(names), count)
    blocks, start = [], 0
    for k in range(count):
        stop = start + size + (1 if k < extra else 0)
        blocks.append(names[start:stop])
        start = stop
    fits = all(sum(widths[n] for n in block) <= room or len(block) == 1 for block in blocks)
    return blocks if fits else None


def table_fits(columns: Mapping[str, Sequence[str]], font: TableFont, available_px: float) -> bool:
    """Whether the whole table fits ``available_px`` side by side."""
    return sum(font.column_px(n, c) for n, c in columns.items()) <= available_px


def metric_px(value: str) -> float:
    """The width of a metric's value text."""
    return text_em(value) * METRIC_VALUE_PX
