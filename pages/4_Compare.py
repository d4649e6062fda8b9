"""Compare: the tutorial's strategies side by side, and the four mixed models compared."""

from ui.sidebar import run_page
from ui.views import compare as compare_view

run_page("Compare", ":material/compare_arrows:", compare_view.draw)
