"""Explore: histograms overall and by group, group means and SDs, the grouped scatter."""

from ui.sidebar import require_data, start_page
from ui.views import explore as explore_view

selection = start_page("Explore", ":material/bar_chart:")
require_data(selection)
explore_view.draw(selection)
