"""Pooling: complete, no and partial pooling of the current model."""

from ui.sidebar import run_page
from ui.views import pooling as pooling_view

run_page("Pooling", ":material/join_inner:", pooling_view.draw)
