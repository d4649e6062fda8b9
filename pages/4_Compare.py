"""Compare: the tutorial's strategies side by side, and the four mixed models compared."""

from ui import compare_view
from ui.sidebar import require_data, start_page

selection = start_page("Compare", ":material/compare_arrows:")
require_data(selection)
compare_view.draw(selection)
