"""Ladder: the tutorial's models from the null model up, in one table."""

from ui.sidebar import require_data, start_page
from ui.views import ladder as ladder_view

selection = start_page("Ladder", ":material/stairs:")
require_data(selection)
ladder_view.draw(selection)
