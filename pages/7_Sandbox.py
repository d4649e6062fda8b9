"""Sandbox: simulate grouped data and compare OLS with the mixed model."""

from ui import sandbox_view
from ui.sidebar import start_page

start_page("Sandbox", ":material/casino:")
sandbox_view.draw()
