"""Explore: histograms overall and by group, group means and SDs, the grouped scatter."""

from ui import explore_view
from ui.sidebar import require_data, start_page

selection = start_page("Explore", ":material/bar_chart:")
require_data(selection)
explore_view.draw(selection)
