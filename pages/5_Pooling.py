"""Pooling: complete, no and partial pooling of the current model."""

from ui.sidebar import require_data, start_page
from ui.views import pooling as pooling_view

selection = start_page("Pooling", ":material/join_inner:")
require_data(selection)
pooling_view.draw(selection)
