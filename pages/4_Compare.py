"""Compare: the tutorial's strategies side by side, and the four mixed models compared."""

from ui.sidebar import require_data, start_page
from ui.views import compare as compare_view

selection = start_page("Compare", ":material/compare_arrows:")
require_data(selection)
compare_view.draw(selection)
