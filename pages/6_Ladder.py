"""Ladder: the tutorial's models from the null model up, in one table."""

from ui import ladder_view
from ui.sidebar import require_data, start_page

selection = start_page("Ladder", ":material/stairs:")
require_data(selection)
ladder_view.draw(selection)
