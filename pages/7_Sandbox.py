"""Sandbox: simulate grouped data and compare OLS with the mixed model."""

from ui.sidebar import start_page
from ui.views import sandbox as sandbox_view

start_page("Sandbox", ":material/casino:")
sandbox_view.draw()
