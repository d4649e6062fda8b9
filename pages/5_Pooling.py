"""Pooling: complete, no and partial pooling of the current model."""

from ui import pooling_view
from ui.sidebar import require_data, start_page

selection = start_page("Pooling", ":material/join_inner:")
require_data(selection)
pooling_view.draw(selection)
