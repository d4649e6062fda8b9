"""Ladder: the tutorial's models from the null model up, in one table."""

from ui.sidebar import run_page
from ui.views import ladder as ladder_view

run_page("Ladder", ":material/stairs:", ladder_view.draw)
