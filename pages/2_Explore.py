"""Explore: histograms overall and by group, group means and SDs, the grouped scatter."""

from ui.sidebar import run_page
from ui.views import explore as explore_view

run_page("Explore", ":material/bar_chart:", explore_view.draw)
